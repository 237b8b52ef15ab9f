// The composer of the ticket page: Trix editor, inline images, attachments, presence.
//
// Without JavaScript the form still posts (a plain textarea in <noscript>, a file input).
// With it, the state of one composer lives on its <form data-composer>:
//   - `attachments`: a DataTransfer kept in step with the "attachments" file input, so files
//     picked or dropped in several goes are all sent, by htmx or by a plain submit;
//   - `inline`: content id -> File of the images pasted, dropped or inserted in the text.
// At submit, the editor's HTML is rewritten: each image becomes <img src="cid:ID">, its file
// goes in the "inline_images" input and its id in "inline_cids" (same order).
//
// Hook for response templates (issue 5): `Comptoir.composer.fill(form, {html, files, images,
// mode})` replaces the text, adds attachments (File objects) and inline images (File objects
// inserted at the end of the text). `Comptoir.composer.get(form)` returns the same handle
// used inside: {form, editor, setHTML(html), addAttachments(files), insertImages(files)}.
//
// Response templates: the picker fetches `/responses/templates/<id>/render?ticket=<id>` and
// `useTemplate` puts the rendered HTML in the editor. The template's files are not uploaded
// again: the form posts the template id and the ids of the files the agent kept
// ("template_id", "template_attachment_ids"), and the server copies them. Its inline images
// are shown through their URL and go back to <img src="cid:ID"> when sent.
(function () {
  "use strict";

  var Comptoir = (window.Comptoir = window.Comptoir || {});

  function formatBytes(n) {
    var lang = document.documentElement.lang || "fr";
    var units = lang === "fr" ? ["o", "Ko", "Mo", "Go"] : ["B", "KB", "MB", "GB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    var value = i === 0 ? String(n) : n.toLocaleString(lang, { maximumFractionDigits: 1 });
    return value + "\u00a0" + units[i];
  }

  function text(form, key, fallback) {
    // Translated sentences come from the template (data-i18n-*), with English fallbacks.
    return form.getAttribute("data-i18n-" + key) || fallback;
  }

  function newContentId() {
    var random = Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
    return "img-" + random + "@comptoir";
  }

  function state(form) {
    if (!form.__composer) {
      // template: {id, name, files: [attachment], inline: Map content id -> attachment}
      form.__composer = { attachments: new DataTransfer(), inline: new Map(), template: null };
    }
    return form.__composer;
  }

  function formOf(el) {
    return el && el.closest ? el.closest("form[data-composer]") : null;
  }

  function editorOf(form) {
    return form.querySelector("trix-editor");
  }

  function maxBytes(form) {
    return parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
  }

  function inlineInUse(form) {
    // Only the images still in the text count (an image deleted from the text is dropped).
    var used = [];
    var editor = editorOf(form);
    if (!editor || !editor.editor) { return used; }
    editor.editor.getDocument().getAttachments().forEach(function (attachment) {
      var cid = attachment.getAttribute("contentId");
      var file = cid && state(form).inline.get(cid);
      if (file) { used.push({ cid: cid, file: file }); }
    });
    return used;
  }

  function cidsInText(form) {
    var cids = new Set();
    var editor = editorOf(form);
    if (!editor || !editor.editor) { return cids; }
    editor.editor.getDocument().getAttachments().forEach(function (attachment) {
      var cid = attachment.getAttribute("contentId");
      if (cid) { cids.add(cid); }
    });
    return cids;
  }

  function templateKept(form) {
    // The template's files still wanted: the chips not removed, the images still in the text.
    var template = state(form).template;
    if (!template) { return []; }
    var used = cidsInText(form);
    var kept = template.files.slice();
    template.inline.forEach(function (attachment, cid) {
      if (used.has(cid)) { kept.push(attachment); }
    });
    return kept;
  }

  function totalBytes(form) {
    var total = 0;
    Array.prototype.forEach.call(state(form).attachments.files, function (f) { total += f.size; });
    inlineInUse(form).forEach(function (entry) { total += entry.file.size; });
    templateKept(form).forEach(function (a) { total += a.size || 0; });
    return total;
  }

  function showSizeError(form, message) {
    var error = form.querySelector("[data-composer-size-error]");
    if (!error) { return; }
    error.textContent = message || "";
    error.hidden = !message;
  }

  function fits(form, file) {
    var limit = maxBytes(form);
    if (!limit || totalBytes(form) + file.size <= limit) { return true; }
    showSizeError(form, text(form, "too-big",
      "“{name}” ({size}) is not added: the files of one message may weigh at most {limit}.")
      .replace("{name}", file.name).replace("{size}", formatBytes(file.size))
      .replace("{limit}", formatBytes(limit)));
    return false;
  }

  function syncAttachmentInput(form) {
    var input = form.querySelector("input[type=file][name=attachments]");
    if (input) { input.files = state(form).attachments.files; }
    renderFiles(form);
  }

  function fileItem(form, filename, bytes, origin, onRemove) {
    var item = document.createElement("li");
    item.className = "composer__file" + (origin ? " composer__file--template" : "");
    var name = document.createElement("span");
    name.className = "composer__file-name";
    name.textContent = filename;
    var size = document.createElement("span");
    size.className = "muted";
    size.textContent = " (" + formatBytes(bytes) + (origin ? ", " + origin : "") + ") ";
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn--ghost composer__file-remove";
    remove.textContent = text(form, "remove", "Remove");
    remove.setAttribute("aria-label", text(form, "remove", "Remove") + " " + filename);
    remove.addEventListener("click", onRemove);
    item.append(name, size, remove);
    return item;
  }

  function removeTemplateFile(form, id) {
    var template = state(form).template;
    if (!template) { return; }
    template.files = template.files.filter(function (a) { return a.id !== id; });
    showSizeError(form, "");
    renderFiles(form);
    var list = form.querySelector("[data-composer-files]");
    var next = list && list.querySelector("button");
    (next || form.querySelector("input[type=file][name=attachments]") || form).focus();
  }

  function renderFiles(form) {
    var list = form.querySelector("[data-composer-files]");
    if (!list) { return; }
    list.textContent = "";
    var template = state(form).template;
    (template ? template.files : []).forEach(function (attachment) {
      list.appendChild(fileItem(form, attachment.filename, attachment.size,
        text(form, "template-file", "from the template"),
        function () { removeTemplateFile(form, attachment.id); }));
    });
    Array.prototype.forEach.call(state(form).attachments.files, function (file, index) {
      list.appendChild(fileItem(form, file.name, file.size, "",
        function () { removeAttachment(form, index); }));
    });
  }

  function addAttachments(form, files) {
    showSizeError(form, "");
    Array.prototype.forEach.call(files, function (file) {
      if (fits(form, file)) { state(form).attachments.items.add(file); }
    });
    syncAttachmentInput(form);
  }

  function removeAttachment(form, index) {
    var kept = new DataTransfer();
    Array.prototype.forEach.call(state(form).attachments.files, function (file, i) {
      if (i !== index) { kept.items.add(file); }
    });
    state(form).attachments = kept;
    showSizeError(form, "");
    syncAttachmentInput(form);
  }

  function insertImages(form, files) {
    var editor = editorOf(form);
    Array.prototype.forEach.call(files, function (file) {
      if (editor && editor.editor) { editor.editor.insertFile(file); }
    });
  }

  function setHTML(form, html) {
    var editor = editorOf(form);
    if (editor && editor.editor) { editor.editor.loadHTML(html || ""); }
  }

  function samePath(a, b) {
    try { return new URL(a, location.href).pathname === new URL(b, location.href).pathname; }
    catch (e) { return false; }
  }

  function showTemplateInfo(form, data) {
    var info = form.querySelector("[data-composer-template-info]");
    if (!info) { return; }
    info.textContent = "";
    var head = document.createElement("p");
    head.textContent = text(form, "template-used", "Template “{name}” inserted.")
      .replace("{name}", data.name);
    info.appendChild(head);
    var labels = data.missing_labels || data.missing_fields || [];
    if (labels.length) {
      var missing = document.createElement("div");
      missing.className = "alert alert--warning composer__template-missing";
      var intro = document.createElement("p");
      intro.textContent = text(form, "template-missing", "No value on this request for these fields:");
      var list = document.createElement("ul");
      labels.forEach(function (label, i) {
        var item = document.createElement("li");
        item.textContent = label;
        var name = (data.missing_fields || [])[i];
        if (name && name !== label) {
          var code = document.createElement("code");
          code.textContent = "{{" + name + "}}";
          item.append(" ", code);
        }
        list.appendChild(item);
      });
      missing.append(intro, list);
      info.appendChild(missing);
    }
    if ((data.deferred_fields || []).indexOf("ticket.history_link") !== -1) {
      var deferred = document.createElement("p");
      deferred.className = "composer__template-deferred";
      deferred.textContent = text(form, "template-deferred",
        "The link to the exchange history is created when you send: {placeholder} until then.")
        .replace("{placeholder}", "{{ticket.history_link}}");
      info.appendChild(deferred);
    }
    info.hidden = false;
  }

  function useTemplate(form, data) {
    var template = { id: data.id, name: data.name, files: [], inline: new Map() };
    var html = data.html || "";
    (data.attachments || []).forEach(function (attachment) {
      if (attachment.inline && attachment.content_id &&
          html.indexOf('src="cid:' + attachment.content_id + '"') !== -1) {
        template.inline.set(attachment.content_id, attachment);
        html = html.split('src="cid:' + attachment.content_id + '"')
          .join('src="' + escapeAttr(attachment.url) + '"');
      } else {
        template.files.push(attachment);
      }
    });
    state(form).template = template;
    setHTML(form, html);
    var editor = editorOf(form);
    if (editor && editor.editor) {
      // Trix made each image an attachment with its URL: mark it with the template's
      // content id, which the mail uses (serialize() writes it back as cid:).
      editor.editor.getDocument().getAttachments().forEach(function (attachment) {
        var url = attachment.getURL ? attachment.getURL() : attachment.getAttribute("url");
        template.inline.forEach(function (file, cid) {
          if (url && samePath(url, file.url)) {
            attachment.setAttributes({ contentId: cid, filename: file.filename });
          }
        });
      });
    }
    var label = text(form, "history-link", "");
    if (label) { form.style.setProperty("--composer-history-link-label", JSON.stringify(label)); }
    showSizeError(form, "");
    renderFiles(form);
    showTemplateInfo(form, data);
    return handle(form);
  }

  function pickTemplate(form) {
    var select = form.querySelector("[data-composer-template-select]");
    var option = select && select.selectedOptions[0];
    var url = option && option.getAttribute("data-render-url");
    if (!url) { return; }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        useTemplate(form, data);
        var editor = editorOf(form);
        if (editor) { editor.focus(); }
      })
      .catch(function () {
        var info = form.querySelector("[data-composer-template-info]");
        if (!info) { return; }
        info.textContent = "";
        var error = document.createElement("p");
        error.className = "field__error";
        error.textContent = text(form, "template-failed", "This template could not be loaded.");
        info.appendChild(error);
        info.hidden = false;
      });
  }

  function handle(form) {
    return {
      form: form,
      editor: editorOf(form),
      setHTML: function (html) { setHTML(form, html); },
      addAttachments: function (files) { addAttachments(form, files); },
      insertImages: function (files) { insertImages(form, files); },
    };
  }

  function resolveForm(target) {
    if (!target) { return document.querySelector("form[data-composer]"); }
    if (typeof target === "string") { target = document.querySelector(target); }
    return target && target.matches && target.matches("form[data-composer]") ? target
      : target && target.querySelector ? target.querySelector("form[data-composer]") : null;
  }

  Comptoir.composer = {
    get: function (target) {
      var form = resolveForm(target);
      return form ? handle(form) : null;
    },
    // `data` is the render endpoint's JSON (html, missing_fields, attachments…).
    useTemplate: function (target, data) {
      var form = resolveForm(target);
      return form ? useTemplate(form, data || {}) : null;
    },
    fill: function (target, content) {
      var form = resolveForm(target);
      if (!form) { return null; }
      content = content || {};
      if (content.mode) {
        var radio = form.querySelector("input[name=mode][value='" + content.mode + "']");
        if (radio) { radio.checked = true; }
      }
      if (content.html !== undefined) { setHTML(form, content.html); }
      if (content.files) { addAttachments(form, content.files); }
      if (content.images) { insertImages(form, content.images); }
      return handle(form);
    },
  };

  // Images into the text; anything else becomes an attachment of the message.
  document.addEventListener("trix-file-accept", function (event) {
    var form = formOf(event.target);
    if (!form) { return; }
    var file = event.file;
    if (!file || !/^image\//.test(file.type)) {
      event.preventDefault();
      if (file) { addAttachments(form, [file]); }
      return;
    }
    showSizeError(form, "");
    if (!fits(form, file)) { event.preventDefault(); }
  });

  document.addEventListener("trix-attachment-add", function (event) {
    var form = formOf(event.target);
    var attachment = event.attachment;
    var file = attachment && (attachment.file || (attachment.getFile && attachment.getFile()));
    if (!form || !file) { return; }
    var cid = attachment.getAttribute("contentId");
    if (!cid) {
      cid = newContentId();
      // A URL makes the image a finished attachment (Trix leaves pending ones out of its
      // HTML); this local one only shows the preview, the mail carries it as cid:.
      attachment.setAttributes({ contentId: cid, url: URL.createObjectURL(file) });
    }
    state(form).inline.set(cid, file);
  });

  // Pasted or dropped HTML may carry images from elsewhere: they are never fetched nor sent.
  document.addEventListener("trix-before-paste", function (event) {
    if (event.paste && event.paste.type === "HTML" && event.paste.html) {
      event.paste.html = event.paste.html.replace(/<img\b[^>]*>/gi, "");
    }
  });

  document.addEventListener("click", function (event) {
    var use = event.target.closest && event.target.closest("[data-composer-template-use]");
    if (use && formOf(use)) {
      event.preventDefault();
      pickTemplate(formOf(use));
    }
  });

  // The picker needs this script: it stays hidden without it.
  function showPickers(root) {
    (root || document).querySelectorAll("[data-composer-templates]").forEach(function (el) {
      el.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { showPickers(document); });
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.querySelectorAll) { showPickers(elt.parentNode || elt); }
  });
  if (document.readyState !== "loading") { showPickers(document); }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-composer-insert-image]");
    var form = formOf(button);
    if (!form) { return; }
    event.preventDefault();
    var picker = form.querySelector("[data-composer-image-picker]");
    if (picker) { picker.click(); }
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    var form = formOf(input);
    if (!form || input.type !== "file") { return; }
    if (input.hasAttribute("data-composer-image-picker")) {
      insertImages(form, Array.prototype.slice.call(input.files));
      input.value = "";
    } else if (input.name === "attachments") {
      // The input now holds only the new choice: add it to what was there before.
      var chosen = Array.prototype.slice.call(input.files);
      input.files = state(form).attachments.files;
      addAttachments(form, chosen);
    }
  });

  function dropzoneOf(event) {
    var zone = event.target.closest && event.target.closest("[data-composer-dropzone]");
    return zone && formOf(zone) ? zone : null;
  }

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = dropzoneOf(event);
      if (!zone) { return; }
      event.preventDefault();
      zone.classList.add("is-dragover");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = dropzoneOf(event);
    if (zone && !zone.contains(event.relatedTarget)) { zone.classList.remove("is-dragover"); }
  });
  document.addEventListener("drop", function (event) {
    var zone = dropzoneOf(event);
    if (!zone) { return; }
    event.preventDefault();
    zone.classList.remove("is-dragover");
    var files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) { addAttachments(formOf(zone), Array.prototype.slice.call(files)); }
  });

  function escapeAttr(value) {
    return String(value).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  }

  function serialize(form) {
    // Trix's own HTML, with each attachment figure turned into a plain cid: image.
    var editor = editorOf(form);
    if (!editor) { return ""; }
    var template = document.createElement("template");
    template.innerHTML = editor.value || "";
    var inline = state(form).inline;
    var fromTemplate = state(form).template;
    template.content.querySelectorAll("figure[data-trix-attachment]").forEach(function (figure) {
      var data = {};
      try { data = JSON.parse(figure.getAttribute("data-trix-attachment")) || {}; } catch (e) { data = {}; }
      var attributes = {};
      try { attributes = JSON.parse(figure.getAttribute("data-trix-attributes") || "{}") || {}; } catch (e) { attributes = {}; }
      var cid = data.contentId || attributes.contentId;
      if (!cid || !(inline.has(cid) || (fromTemplate && fromTemplate.inline.has(cid)))) {
        figure.remove();
        return;
      }
      var img = document.createElement("img");
      img.setAttribute("src", "cid:" + cid);
      img.setAttribute("alt", data.filename || "");
      if (data.width) { img.setAttribute("width", data.width); }
      if (data.height) { img.setAttribute("height", data.height); }
      figure.replaceWith(img);
    });
    return template.innerHTML.trim() ? template.innerHTML : "";
  }

  // Capture phase: runs before htmx reads the form, for htmx and plain submits alike.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-composer]")) { return; }
    var editor = editorOf(form);
    if (!editor || !editor.editor) { return; }
    var html = serialize(form);
    form.querySelector("input[name=body_html]").value = html;
    var images = new DataTransfer();
    var cids = [];
    inlineInUse(form).forEach(function (entry) {
      if (html.indexOf('src="cid:' + entry.cid + '"') === -1) { return; }
      images.items.add(entry.file);
      cids.push(entry.cid);
    });
    form.querySelector("input[name=inline_images]").files = images.files;
    form.querySelector("input[name=inline_cids]").value = cids.join(" ");
    var template = state(form).template;
    var templateId = form.querySelector("input[name=template_id]");
    var templateFiles = form.querySelector("input[name=template_attachment_ids]");
    if (templateId && templateFiles) {
      templateId.value = template ? String(template.id) : "";
      templateFiles.value = templateKept(form).map(function (a) { return String(a.id); }).join(" ");
    }
    form.querySelector("input[type=file][name=attachments]").files = state(form).attachments.files;
  }, true);
  // A missed heartbeat is not worth leaving the page for (the site-wide handler would show
  // the error page): the next beat tries again.
  document.addEventListener("htmx:responseError", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.id === "ticket-presence") { event.stopPropagation(); }
  }, true);
  document.addEventListener("htmx:sendError", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.id === "ticket-presence") { event.stopPropagation(); }
  }, true);
})();
