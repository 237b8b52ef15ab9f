/* Comptoir web form, inside the form page: tells an embedding page our height, checks files
   before upload, and avoids double posts. No dependencies; the page works without it. */
(function () {
  "use strict";
  var embedded = window.parent !== window;

  function height() {
    return Math.ceil(document.documentElement.getBoundingClientRect().height);
  }

  function report(kind) {
    if (!embedded) return;
    // Only a height and a page kind are sent: nothing private, so any parent may read it;
    // the embed script checks that the message comes from our frame.
    window.parent.postMessage({ comptoirForm: { type: kind, height: height() } }, "*");
  }

  function checkFiles(form, input) {
    var out = input.parentNode.querySelector(".wf-error--client");
    var max = parseInt(form.getAttribute("data-max-file-bytes"), 10);
    var maxFiles = parseInt(form.getAttribute("data-max-files"), 10);
    var problems = [];
    if (input.files.length > maxFiles) problems.push(form.getAttribute("data-too-many"));
    for (var i = 0; i < input.files.length; i++) {
      if (input.files[i].size > max) problems.push(form.getAttribute("data-too-big") + " " + input.files[i].name);
    }
    if (out) {
      out.textContent = problems.join(" ");
      out.hidden = problems.length === 0;
    }
    input.setCustomValidity(problems.join(" "));
    return problems.length === 0;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.wf-form");
    if (form) {
      var input = form.querySelector("input[type=file]");
      if (input) input.addEventListener("change", function () { checkFiles(form, input); report("resize"); });
      form.addEventListener("submit", function (event) {
        if (input && !checkFiles(form, input)) { event.preventDefault(); report("resize"); return; }
        var button = form.querySelector("button[type=submit]");
        if (form.getAttribute("data-sending")) { event.preventDefault(); return; }
        form.setAttribute("data-sending", "1");
        if (button) button.disabled = true;
      });
    }
    var errors = document.getElementById("wf-errors");
    if (errors) errors.setAttribute("tabindex", "-1");
    report(document.querySelector("[data-navigated]") || errors ? "navigated" : "resize");
    if (errors && !embedded) errors.focus();
    if (window.ResizeObserver) {
      new ResizeObserver(function () { report("resize"); }).observe(document.documentElement);
    } else {
      window.addEventListener("resize", function () { report("resize"); });
    }
  });
  // The back/forward cache may restore a page whose button was disabled by a post.
  window.addEventListener("pageshow", function () {
    var form = document.querySelector("form.wf-form");
    if (form) {
      form.removeAttribute("data-sending");
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = false;
    }
  });
})();
