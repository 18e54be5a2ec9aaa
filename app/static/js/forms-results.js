// Form results: a bar chart (Chart.js) for each question that has one; the table beside it
// carries the same numbers for screen readers and for anyone without scripts.
(function () {
  "use strict";
  if (!window.Chart) return;
  document.querySelectorAll("canvas[data-form-chart]").forEach(function (canvas) {
    var data = JSON.parse(canvas.dataset.formChart);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{ label: data.label, data: data.counts, backgroundColor: "#0d6efd" }],
      },
      options: {
        indexAxis: "y",
        animation: false,
        responsive: true,
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  });
})();
