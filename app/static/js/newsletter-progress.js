// The newsletter's progress bar: polls the JSON counts until every e-mail is sent or failed.
(function () {
  "use strict";
  var box = document.getElementById("newsletter-progress");
  if (!box) return;
  var bar = box.querySelector("[data-bar]");
  var holder = box.querySelector("[role=progressbar]");
  // Set from script: the CSP (style-src 'self') refuses inline style attributes.
  bar.style.width = bar.dataset.percent + "%";
  if (box.dataset.done === "1") return;

  function show(data) {
    ["total", "queued", "sent", "failed"].forEach(function (name) {
      var el = box.querySelector('[data-count="' + name + '"]');
      if (el) el.textContent = data[name];
    });
    bar.style.width = data.percent + "%";
    bar.textContent = data.percent + "%";
    holder.setAttribute("aria-valuenow", data.percent);
  }

  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data) show(data);
        if (!data || !data.done) window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
