// Ticket page behaviour: the subject edited in place, the action panels, focus after an
// action. Every action is also a plain form, so the page works without this file.
(function () {
  "use strict";

  var pendingFocus = null;

  function subjectParts(from) {
    var title = from.closest ? from.closest("#ticket-title") : null;
    if (!title) { return null; }
    return {
      title: title,
      display: title.querySelector("[data-subject-display]"),
      edit: title.querySelector("[data-subject-edit]"),
      form: title.querySelector("[data-subject-form]")
    };
  }

  function startEditing(parts) {
    if (!parts.form) { return; }
    var input = parts.form.querySelector("input[name=subject]");
    input.dataset.original = input.value;
    parts.display.hidden = true;
    parts.edit.hidden = true;
    parts.form.hidden = false;
    input.focus();
    input.select();
  }

  function stopEditing(parts) {
    var input = parts.form.querySelector("input[name=subject]");
    if (input.dataset.original !== undefined) { input.value = input.dataset.original; }
    var feedback = parts.form.querySelector(".action-feedback");
    if (feedback) { feedback.textContent = ""; }
    parts.form.hidden = true;
    parts.display.hidden = false;
    parts.edit.hidden = false;
    parts.edit.focus();
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    // A click outside an open action panel closes it.
    document.querySelectorAll("details[data-action-panel][open]").forEach(function (panel) {
      if (!panel.contains(target)) { panel.open = false; }
    });
    var trigger = target.closest("[data-subject-edit], [data-subject-display]");
    if (trigger) {
      var parts = subjectParts(trigger);
      if (parts && parts.form) {
        event.preventDefault();
        startEditing(parts);
      }
      return;
    }
    var cancel = target.closest("[data-subject-cancel]");
    if (cancel) {
      var p = subjectParts(cancel);
      if (p) { stopEditing(p); }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var form = target.closest("[data-subject-form]");
    if (form) {
      event.preventDefault();
      var parts = subjectParts(form);
      if (parts) { stopEditing(parts); }
      return;
    }
    var panel = target.closest("details[data-action-panel][open]");
    if (panel) {
      event.preventDefault();
      panel.open = false;
      var summary = panel.querySelector("summary");
      if (summary) { summary.focus(); }
    }
  });

  // One action panel open at a time.
  document.addEventListener("toggle", function (event) {
    var panel = event.target;
    if (!(panel instanceof HTMLDetailsElement) || !panel.open || !panel.hasAttribute("data-action-panel")) { return; }
    document.querySelectorAll("details[data-action-panel][open]").forEach(function (other) {
      if (other !== panel) { other.open = false; }
    });
    var first = panel.querySelector(".action-panel input[type=search], .action-panel select");
    if (first && panel.id === "action-contact") { first.focus(); }
  }, true);

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.closest) {
      var form = elt.closest("[data-focus-return]");
      if (form) { pendingFocus = form.getAttribute("data-focus-return"); }
    }
  });

  document.addEventListener("htmx:configRequest", function (event) {
    // The refresh after an action reloads what the agent looks at now: the timeline filter
    // may have changed (pushed into the URL) since the page was rendered.
    var elt = event.detail && event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-ticket-refresh")) {
      event.detail.path = window.location.pathname + window.location.search;
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    // The header was replaced: put the keyboard back on the action the agent used.
    if (!pendingFocus) { return; }
    var settled = event.detail && event.detail.target;
    if (settled && settled.classList && settled.classList.contains("action-feedback")) {
      // A refusal shown next to the action: the focus stays where the agent is.
      pendingFocus = null;
      return;
    }
    var target = document.getElementById(pendingFocus);
    if (!target) { return; }
    pendingFocus = null;
    target.focus();
  });
})();
