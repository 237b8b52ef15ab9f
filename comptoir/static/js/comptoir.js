// Small glue for htmx; every page also works without it (plain links and GET forms).
(function () {
  "use strict";

  function pathOf(url) {
    try { return new URL(url, window.location.href).pathname; } catch (e) { return ""; }
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var requested = event.detail.pathInfo && event.detail.pathInfo.requestPath;
    // A swap that was redirected elsewhere (expired session sent to the login page) must
    // become a real navigation, or the login form would land inside the inbox table.
    if (xhr && xhr.responseURL && requested && pathOf(xhr.responseURL) !== pathOf(requested)) {
      event.detail.shouldSwap = false;
      window.location.assign(xhr.responseURL);
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    // 404 or 500 on a fragment: show the server's full error page instead of nothing.
    var path = event.detail.pathInfo && event.detail.pathInfo.requestPath;
    if (path) { window.location.assign(path); }
  });

  document.addEventListener("submit", function (event) {
    // htmx swaps change the URL (filters, tabs, pages) after the page was rendered: the
    // language switch must come back to where the agent is now, not where they started.
    var form = event.target;
    if (!form.classList || !form.classList.contains("langswitch")) { return; }
    var next = form.querySelector("input[name=next]");
    if (next) { next.value = window.location.pathname + window.location.search; }
  }, true);

  document.addEventListener("htmx:configRequest", function (event) {
    // GET forms send every field; dropping the empty ones keeps pushed URLs short.
    if (event.detail.verb !== "get") { return; }
    var params = event.detail.parameters;
    if (!params || typeof params.forEach !== "function") { return; }
    var empty = [];
    params.forEach(function (value, key) { if (value === "") { empty.push(key); } });
    empty.forEach(function (key) { params.delete(key); });
  });
})();
