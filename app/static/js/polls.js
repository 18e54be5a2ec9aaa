// Polls: keep rank numbers unique on ranked questions, hold multiple choice to its limit,
// draw the results charts (Chart.js) and, when the results are live, refresh them in place.
(function () {
  "use strict";

  // Ranked questions: choosing a rank another option already has swaps the two, so a ballot
  // never holds the same rank twice (the server refuses that too).
  document.querySelectorAll("select.poll-rank").forEach(function (select) {
    select.dataset.previous = select.value;
    select.addEventListener("change", function () {
      var question = select.dataset.question;
      if (select.value) {
        document.querySelectorAll('select.poll-rank[data-question="' + question + '"]').forEach(
          function (other) {
            if (other !== select && other.value === select.value) {
              other.value = select.dataset.previous || "";
              other.dataset.previous = other.value;
            }
          }
        );
      }
      select.dataset.previous = select.value;
    });
  });

  // Multiple choice: once the limit is reached, the other boxes are disabled.
  document.querySelectorAll('fieldset.poll-question[data-kind="multiple"]').forEach(function (set) {
    var max = parseInt(set.dataset.max, 10) || 1;
    var boxes = set.querySelectorAll('input[type="checkbox"]');
    function limit() {
      var checked = set.querySelectorAll('input[type="checkbox"]:checked').length;
      boxes.forEach(function (box) {
        box.disabled = !box.checked && checked >= max;
      });
    }
    boxes.forEach(function (box) {
      box.addEventListener("change", limit);
    });
    limit();
  });

  var charts = [];
  function drawCharts(root) {
    charts.forEach(function (chart) {
      chart.destroy();
    });
    charts = [];
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = JSON.parse(canvas.dataset.chart);
      charts.push(
        new window.Chart(canvas, {
          type: "bar",
          data: {
            labels: data.labels,
            datasets: [{ label: data.label, data: data.values, backgroundColor: "#0d6efd" }],
          },
          options: {
            indexAxis: "y",
            animation: false,
            responsive: true,
            plugins: { legend: { display: false } },
            scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
          },
        })
      );
    });
  }

  var results = document.getElementById("poll-results");
  if (!results) return;
  drawCharts(results);
  var url = results.dataset.liveUrl;
  if (!url) return;
  var last = null;
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (!body || body.html === last) return;
        last = body.html;
        results.innerHTML = body.html;
        drawCharts(results);
        if (body.status !== "open") clearInterval(timer);
      })
      .catch(function () {
        // Offline for a moment: the next tick tries again.
      });
  }
  var timer = setInterval(refresh, 5000);
})();
