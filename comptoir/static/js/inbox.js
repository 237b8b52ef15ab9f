// Inbox live updates (polling with a version stamp) and the ticket page's read-after-3-seconds.
// Loaded on every page; each part does nothing where its element is absent.
(function () {
  "use strict";

  // Live inbox -----------------------------------------------------------------------------
  // The server answers 204 while the version in X-Inbox-Version is current, so a poll of an
  // unchanged inbox costs a few index reads. Polls stop while the tab is hidden.

  var pollTimer = null;
  var pollSentAt = 0;
  var userRequestAt = 0;
  var beforeSwap = null; // {scrollY, rows: {id: index}} captured just before a poll's swap

  function poller() { return document.getElementById("inbox-poll"); }

  function requester(event) {
    // The element that made the request: htmx fires some events on the swap's target.
    var detail = event.detail || {};
    return (detail.requestConfig && detail.requestConfig.elt) || detail.elt || event.target;
  }

  function isPoll(event) {
    var elt = requester(event);
    return !!(elt && elt.id === "inbox-poll");
  }

  function schedulePoll() {
    clearTimeout(pollTimer);
    pollTimer = null;
    var el = poller();
    if (!el || document.visibilityState !== "visible") { return; }
    var ms = parseInt(el.getAttribute("data-poll-ms"), 10) || 10000;
    pollTimer = setTimeout(poll, ms);
  }

  function poll() {
    pollTimer = null;
    var el = poller();
    if (!el || !window.htmx || document.visibilityState !== "visible") { return; }
    // The agent's own request (a tab, a filter, a page) is on its way: it brings fresh rows.
    if (document.querySelector(".inbox .htmx-request, #inbox-results.htmx-request")) {
      schedulePoll();
      return;
    }
    pollSentAt = Date.now();
    window.htmx.trigger(el, "inbox:poll");
  }

  function selectionInside(container) {
    var selection = window.getSelection && window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) { return false; }
    return container.contains(selection.getRangeAt(0).commonAncestorContainer);
  }

  function rowOrder() {
    var order = {};
    document.querySelectorAll("#inbox-results tbody tr[id]").forEach(function (tr, index) {
      order[tr.id] = index;
    });
    return order;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = requester(event);
    if (elt && !isPoll(event) && elt.closest && elt.closest(".inbox")) { userRequestAt = Date.now(); }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!isPoll(event)) { return; }
    var results = document.getElementById("inbox-results");
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status !== 200 || !results) { return; }
    // Never pull text out from under the agent's selection, nor overwrite the answer to a
    // click made after the poll left: the next poll still sees the old version and retries.
    if (selectionInside(results) || userRequestAt > pollSentAt) {
      event.detail.shouldSwap = false;
      return;
    }
    beforeSwap = { scrollY: window.scrollY, rows: rowOrder() };
  });

  document.addEventListener("htmx:afterSwap", function () {
    if (!beforeSwap) { return; }
    var previous = beforeSwap.rows;
    // Focus comes back by itself (htmx refocuses the element with the same id); the scroll
    // position is ours to keep, before the next paint.
    window.scrollTo(window.scrollX, beforeSwap.scrollY);
    beforeSwap = null;
    document.querySelectorAll("#inbox-results tbody tr[id]").forEach(function (tr, index) {
      if (!(tr.id in previous) || previous[tr.id] > index) { tr.classList.add("is-arrived"); }
    });
  });

  document.addEventListener("htmx:afterSettle", function () {
    schedulePoll();
    armRead();
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    // 204 (nothing changed) or a failed poll: no swap follows, so poll again from here.
    if (isPoll(event)) { schedulePoll(); }
  });

  // A failed poll (server restarting, network down) is not worth leaving the page for: keep
  // it from comptoir.js's error navigation and try again at the next tick.
  document.addEventListener("htmx:responseError", function (event) {
    if (isPoll(event)) { event.stopPropagation(); schedulePoll(); }
  }, true);
  document.addEventListener("htmx:sendError", function (event) {
    if (isPoll(event)) { event.stopPropagation(); schedulePoll(); }
  }, true);

  // Read after 3 seconds on screen -----------------------------------------------------------
  // The ticket page's #read-state says whether the ticket is unread and whether this page may
  // mark it read (not after "mark as unread"). Only visible time counts: a hidden tab pauses.

  var READ_AFTER_MS = 3000;
  var readTimer = null;
  var readStartedAt = 0;
  var readElapsed = 0;
  var readUrl = null;

  function readState() { return document.getElementById("read-state"); }

  function readPause() {
    if (readTimer) {
      clearTimeout(readTimer);
      readTimer = null;
      readElapsed += Date.now() - readStartedAt;
    }
  }

  function armRead() {
    readPause();
    var el = readState();
    if (!el || el.getAttribute("data-unread") !== "1" || el.getAttribute("data-autoread") !== "1") {
      readUrl = null;
      readElapsed = 0;
      return;
    }
    var url = el.getAttribute("data-read-url");
    if (url !== readUrl) { readUrl = url; readElapsed = 0; }
    if (document.visibilityState !== "visible") { return; }
    readStartedAt = Date.now();
    readTimer = setTimeout(markRead, Math.max(0, READ_AFTER_MS - readElapsed));
  }

  function csrfHeaders() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { return {}; }
  }

  function markRead() {
    readTimer = null;
    var el = readState();
    if (!el || !window.htmx || el.getAttribute("data-autoread") !== "1") { return; }
    window.htmx.ajax("POST", el.getAttribute("data-read-url"), {
      source: el, target: "#read-state", swap: "outerHTML", headers: csrfHeaders()
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      armRead();
      // Back on the inbox: look for news at once rather than at the next tick.
      if (poller()) { poll(); }
    } else {
      readPause();
      clearTimeout(pollTimer);
      pollTimer = null;
    }
  });

  schedulePoll();
  armRead();
})();
