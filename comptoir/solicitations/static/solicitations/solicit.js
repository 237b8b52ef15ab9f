// The solicitation composer: the recipient combobox (addresses already solicited in the
// workspace, most used first; arrow keys move, Enter picks, Escape closes) and Cancel.
// Without this script the field is a plain text input and the form still posts.
(function () {
  "use strict";

  var DELAY_MS = 120;

  function boxOf(el) {
    return el && el.closest ? el.closest("[data-recipient-combobox]") : null;
  }

  function parts(box) {
    return { input: box.querySelector("input[role=combobox]"), list: box.querySelector("[role=listbox]") };
  }

  function options(box) {
    return Array.prototype.slice.call(parts(box).list.querySelectorAll("[role=option]"));
  }

  function close(box) {
    var p = parts(box);
    p.list.hidden = true;
    p.input.setAttribute("aria-expanded", "false");
    p.input.removeAttribute("aria-activedescendant");
  }

  function activate(box, index) {
    var all = options(box);
    var p = parts(box);
    all.forEach(function (option, i) { option.setAttribute("aria-selected", i === index ? "true" : "false"); });
    if (index >= 0 && all[index]) {
      p.input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    } else {
      p.input.removeAttribute("aria-activedescendant");
    }
  }

  function activeIndex(box) {
    return options(box).findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
  }

  function pick(box, option) {
    var p = parts(box);
    p.input.value = option.getAttribute("data-address");
    close(box);
    p.input.focus();
    p.input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function render(box, results) {
    var p = parts(box);
    p.list.innerHTML = "";
    results.forEach(function (result, i) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = p.list.id + "-" + i;
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-address", result.address);
      var address = document.createElement("span");
      address.textContent = result.address;
      var uses = document.createElement("span");
      uses.className = "combobox__uses";
      uses.textContent = result.label || String(result.uses);
      li.appendChild(address);
      li.appendChild(uses);
      p.list.appendChild(li);
    });
    if (results.length) {
      p.list.hidden = false;
      p.input.setAttribute("aria-expanded", "true");
    } else {
      close(box);
    }
  }

  function suggest(box) {
    var p = parts(box);
    var asked = p.input.value;
    var url = box.getAttribute("data-url") + "?q=" + encodeURIComponent(asked.trim());
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) {
        // A newer keystroke asked again meanwhile: its answer wins.
        if (p.input.value !== asked || document.activeElement !== p.input) { return; }
        render(box, data.results || []);
      })
      .catch(function () { close(box); });
  }

  var timers = new WeakMap();
  function later(box) {
    clearTimeout(timers.get(box));
    timers.set(box, setTimeout(function () { suggest(box); }, DELAY_MS));
  }

  document.addEventListener("input", function (event) {
    var box = boxOf(event.target);
    if (box && event.target.getAttribute("role") === "combobox") { later(box); }
  });
  document.addEventListener("focusin", function (event) {
    var box = boxOf(event.target);
    if (box && event.target.getAttribute("role") === "combobox") { later(box); }
  });
  document.addEventListener("focusout", function (event) {
    var box = boxOf(event.target);
    if (box && !box.contains(event.relatedTarget)) { close(box); }
  });
  document.addEventListener("keydown", function (event) {
    var box = boxOf(event.target);
    if (!box || event.target.getAttribute("role") !== "combobox") { return; }
    var p = parts(box);
    var all = options(box);
    var open = !p.list.hidden && all.length > 0;
    var index = activeIndex(box);
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!open) { suggest(box); return; }
      activate(box, Math.min(all.length - 1, index + 1));
    } else if (event.key === "ArrowUp") {
      if (!open) { return; }
      event.preventDefault();
      activate(box, Math.max(0, index - 1));
    } else if (event.key === "Enter") {
      if (open && index >= 0) {
        event.preventDefault(); // picks; never submits the form half-filled
        pick(box, all[index]);
      }
    } else if (event.key === "Escape") {
      if (open) { event.preventDefault(); close(box); }
    }
  });
  // mousedown, not click: the input keeps the focus, so focusout does not close the list first.
  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest("[data-recipient-combobox] [role=option]");
    if (!option) { return; }
    event.preventDefault();
    pick(boxOf(option), option);
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("[data-solicit-cancel]");
    var slot = cancel && cancel.closest("#solicit-slot");
    if (!slot || !document.getElementById("ticket-main")) { return; }
    event.preventDefault();
    slot.innerHTML = "";
    var solicit = document.getElementById("action-solicit");
    if (solicit) { solicit.focus(); }
  });

  // The composer arrives by htmx: bring it into view and put the cursor where to start.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "solicit-slot") { return; }
    var first = target.querySelector("[autofocus]") || target.querySelector("#solicit-sent");
    target.scrollIntoView({ block: "start" });
    if (first && first.focus) {
      if (first.id === "solicit-sent") { first.setAttribute("tabindex", "-1"); }
      first.focus();
    }
  });
})();
