// inbox page behaviour.
(function () {
  "use strict";
})();
