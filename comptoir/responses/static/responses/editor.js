// The template editor: a contenteditable area with a small toolbar, a merge-field picker,
// links and inline images. Without JavaScript the form still works with the HTML textarea.
(function () {
  "use strict";

  function randomHex(n) {
    var bytes = new Uint8Array(n);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function dataUrlToFile(url, name) {
    var parts = url.split(",");
    var type = (parts[0].match(/^data:([^;]+)/) || [])[1] || "application/octet-stream";
    var binary = window.atob(parts[1] || "");
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    var ext = (type.split("/")[1] || "bin").split("+")[0];
    return new File([bytes], name + "." + ext, { type: type });
  }

  function setup(root) {
    var form = root.closest("form");
    var area = root.querySelector("[data-editor-area]");
    var source = root.querySelector("textarea[name=body_html]");
    var toolbar = root.querySelector(".rte__toolbar");
    var picker = root.querySelector("[data-merge-picker]");
    var imageInput = root.querySelector("[data-image-input]");
    var inlineInput = root.querySelector("[data-inline-images]");
    var linkbox = root.querySelector(".rte__linkbox");
    var linkUrl = root.querySelector("[data-link-url]");
    var linkButton = root.querySelector("[data-action=link]");
    var saved = null;

    area.innerHTML = source.value;
    source.hidden = true;
    area.hidden = false;
    toolbar.hidden = false;

    function remember() {
      var sel = window.getSelection();
      if (sel.rangeCount && area.contains(sel.getRangeAt(0).commonAncestorContainer)) {
        saved = sel.getRangeAt(0).cloneRange();
      }
    }
    function restore() {
      area.focus();
      var sel = window.getSelection();
      sel.removeAllRanges();
      if (saved) {
        sel.addRange(saved);
      } else {
        var range = document.createRange();
        range.selectNodeContents(area);
        range.collapse(false);
        sel.addRange(range);
      }
    }
    document.addEventListener("selectionchange", remember);
    // selectionchange fires later, after a busy moment: leaving the text (for the field
    // picker, a button) must remember the caret where it is now, not where it last was.
    area.addEventListener("blur", remember);
    area.addEventListener("keyup", remember);
    area.addEventListener("mouseup", remember);

    toolbar.addEventListener("mousedown", function (event) {
      // Keep the selection in the text while a button is pressed.
      if (event.target.closest("button")) { event.preventDefault(); }
    });
    toolbar.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      if (button.dataset.cmd) {
        restore();
        document.execCommand(button.dataset.cmd, false, null);
      } else if (button.dataset.action === "link") {
        linkbox.hidden = !linkbox.hidden;
        linkButton.setAttribute("aria-expanded", String(!linkbox.hidden));
        if (!linkbox.hidden) { linkUrl.focus(); }
      } else if (button.dataset.action === "image") {
        imageInput.click();
      }
    });

    function closeLinkbox() {
      linkbox.hidden = true;
      linkButton.setAttribute("aria-expanded", "false");
      linkUrl.value = "";
    }
    function insertLink() {
      var url = linkUrl.value.trim();
      if (!url) { return; }
      restore();
      var sel = window.getSelection();
      if (sel.rangeCount && !sel.getRangeAt(0).collapsed) {
        document.execCommand("createLink", false, url);
      } else {
        var a = document.createElement("a");
        a.href = url;
        a.textContent = url;
        document.execCommand("insertHTML", false, a.outerHTML);
      }
      closeLinkbox();
    }
    linkbox.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      if (button.dataset.action === "link-insert") { insertLink(); }
      if (button.dataset.action === "link-cancel") { closeLinkbox(); }
    });
    linkUrl.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); insertLink(); }
      if (event.key === "Escape") { closeLinkbox(); }
    });

    picker.addEventListener("change", function () {
      var name = picker.value;
      if (!name) { return; }
      restore();
      document.execCommand("insertText", false, "{{" + name + "}}");
      picker.value = "";
      remember();
    });

    imageInput.addEventListener("change", function () {
      var file = imageInput.files && imageInput.files[0];
      if (!file) { return; }
      var reader = new FileReader();
      reader.onload = function () {
        restore();
        var img = document.createElement("img");
        img.src = reader.result;
        img.alt = file.name;
        document.execCommand("insertHTML", false, img.outerHTML);
        imageInput.value = "";
      };
      reader.readAsDataURL(file);
    });

    // Capture phase: runs before htmx or the browser collect the form's fields.
    form.addEventListener("submit", function () {
      var transfer = new DataTransfer();
      area.querySelectorAll("img").forEach(function (img) {
        var src = img.getAttribute("src") || "";
        if (src.indexOf("data:image/") === 0) {
          var cid = "img-" + randomHex(8) + "@comptoir";
          transfer.items.add(dataUrlToFile(src, cid));
          img.setAttribute("src", "cid:" + cid);
        } else if (img.dataset.cid) {
          img.setAttribute("src", "cid:" + img.dataset.cid);
        }
        img.removeAttribute("data-cid");
      });
      inlineInput.files = transfer.files;
      source.value = area.innerHTML;
    }, true);
  }

  function init() {
    document.querySelectorAll("[data-editor]").forEach(setup);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
