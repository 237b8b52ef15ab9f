/* Dashboard: draws the 30-day chart from the JSON the page embeds, again after each htmx
   refresh; keeps the table fallback open across refreshes if the reader opened it. */
(function () {
  "use strict";

  var chart = null;
  var tableWasOpen = false;

  function render() {
    if (chart) {
      chart.destroy();
      chart = null;
    }
    var canvas = document.getElementById("dashboard-chart");
    var source = document.getElementById("dashboard-chart-data");
    if (!canvas || !source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    chart = new window.Chart(canvas, {
      type: "bar",
      data: data,
      options: {
        locale: document.documentElement.lang || "fr",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
    canvas.dataset.rendered = "true";
  }

  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:beforeSwap", function () {
    var details = document.getElementById("dashboard-chart-details");
    tableWasOpen = !!(details && details.open);
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!document.getElementById("dashboard-body")) return;
    var details = document.getElementById("dashboard-chart-details");
    if (details && tableWasOpen) details.open = true;
    render();
  });
})();
