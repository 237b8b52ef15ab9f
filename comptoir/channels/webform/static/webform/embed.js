/* Comptoir web form embed: put this script where the form should appear.

     <script src="https://desk.example.com/static/webform/embed.js"
             data-comptoir-form="https://desk.example.com/webform/KEY/" async></script>

   It inserts an iframe showing the form (in the page's language, from <html lang>, unless
   data-lang says otherwise) and resizes it to its content. No dependencies. */
(function () {
  "use strict";
  var scripts = document.currentScript ? [document.currentScript]
    : document.querySelectorAll("script[data-comptoir-form]:not([data-comptoir-done])");

  function lang(script) {
    var value = script.getAttribute("data-lang") || document.documentElement.lang || "";
    return value.slice(0, 2).toLowerCase();
  }

  function mount(script) {
    var formUrl = script.getAttribute("data-comptoir-form");
    if (!formUrl || script.getAttribute("data-comptoir-done")) return;
    script.setAttribute("data-comptoir-done", "1");
    var url = new URL(formUrl, script.src);
    url.searchParams.set("embed", "1");
    if (lang(script)) url.searchParams.set("lang", lang(script));
    var frame = document.createElement("iframe");
    frame.src = url.toString();
    frame.title = script.getAttribute("data-title") || "Contact form";
    frame.loading = "lazy";
    frame.setAttribute("scrolling", "no");
    frame.style.cssText = "width:100%;border:0;display:block;min-height:200px;height:600px;overflow:hidden";
    script.parentNode.insertBefore(frame, script.nextSibling);

    window.addEventListener("message", function (event) {
      // Only our frame, from the form's own origin, may resize it.
      if (event.source !== frame.contentWindow || event.origin !== url.origin) return;
      var data = event.data && event.data.comptoirForm;
      if (!data || typeof data.height !== "number") return;
      frame.style.height = Math.max(200, Math.min(data.height, 20000)) + "px";
      if (data.type === "navigated" && frame.getBoundingClientRect().top < 0) {
        frame.scrollIntoView({ behavior: "smooth", block: "start" });
      }
    });
  }

  for (var i = 0; i < scripts.length; i++) mount(scripts[i]);
})();
