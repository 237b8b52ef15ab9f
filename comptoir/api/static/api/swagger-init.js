// Starts the vendored Swagger UI on /api/v1/docs; no inline script, nothing fetched off-site.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("swagger-settings").textContent);
  var csrfToken = document.body.dataset.csrfToken;
  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis];
  config.plugins = [SwaggerUIBundle.plugins.DownloadUrl];
  // Session-authenticated writes need Django's CSRF token; bearer calls ignore it.
  config.requestInterceptor = function (req) {
    if (csrfToken) {
      req.headers["X-CSRFToken"] = csrfToken;
    }
    return req;
  };
  window.ui = SwaggerUIBundle(config);
})();
