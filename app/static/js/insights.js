// Statistics: draw each chart (Chart.js) from the JSON in its canvas's data-chart, and while an
// event's door is open, fetch the charts again every 30 seconds and redraw them in place.
(function () {
  "use strict";

  var COLOURS = ["#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#d63384", "#6c757d", "#20c997"];
  var charts = [];
  var locale = document.documentElement.lang || undefined;

  function draw(root) {
    charts.forEach(function (chart) {
      chart.destroy();
    });
    charts = [];
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = JSON.parse(canvas.dataset.chart);
      var line = data.type === "line";
      var rows = data.labels.length;
      var valueAxis = {
        beginAtZero: true,
        stacked: data.stacked,
        ticks: data.percent
          ? {
              callback: function (value) {
                return value + " %";
              },
            }
          : { precision: 0 },
      };
      var labelAxis = { stacked: data.stacked };
      charts.push(
        new window.Chart(canvas, {
          type: line ? "line" : "bar",
          data: {
            labels: data.labels,
            datasets: data.datasets.map(function (set, n) {
              var colour = COLOURS[n % COLOURS.length];
              return {
                label: set.label,
                data: set.data,
                backgroundColor: colour,
                borderColor: colour,
                spanGaps: false,
                tension: 0.2,
              };
            }),
          },
          options: {
            locale: locale,
            animation: false,
            responsive: true,
            // Tall enough for every bar of a long horizontal chart.
            aspectRatio: data.horizontal ? Math.max(0.6, 2.2 - rows * 0.07) : 2,
            indexAxis: data.horizontal ? "y" : "x",
            plugins: { legend: { display: data.datasets.length > 1 } },
            scales: data.horizontal
              ? { x: valueAxis, y: labelAxis }
              : { x: labelAxis, y: valueAxis },
          },
        })
      );
    });
  }

  draw(document);

  var live = document.querySelector("[data-live-url]");
  if (!live) return;
  var url = live.dataset.liveUrl;
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (!body) return;
        live.innerHTML = body.html;
        draw(live);
      })
      .catch(function () {
        // Offline for a moment: the next round tries again.
      });
  }
  window.setInterval(refresh, 30000);
})();
