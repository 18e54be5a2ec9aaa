// Member import: poll the import's status while a job checks or writes the file, move the
// progress bar, and reload the page when the job has finished (the page then shows the result).
(() => {
  const box = document.getElementById("import-status");
  if (!box || box.dataset.busy !== "1") return;
  const bar = box.querySelector(".progress-bar");
  const label = box.querySelector("[data-progress-label]");
  const url = box.dataset.statusUrl;
  const show = (percent) => {
    bar.style.width = `${percent}%`;
    bar.setAttribute("aria-valuenow", String(percent));
    if (label) label.textContent = `${percent}%`;
  };
  const poll = async () => {
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.ok) {
        const status = await response.json();
        show(status.progress);
        if (!status.busy) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // A dropped request (bad wifi, a restart) is retried on the next tick.
    }
    window.setTimeout(poll, 1000);
  };
  window.setTimeout(poll, 500);
})();
