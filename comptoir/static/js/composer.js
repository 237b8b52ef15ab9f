// composer page behaviour.
(function () {
  "use strict";
})();
