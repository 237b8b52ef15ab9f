// ticket page behaviour.
(function () {
  "use strict";
})();
