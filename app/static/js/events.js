// Ask before a form marked .confirm-submit is sent (e.g. cancelling an event).
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form.confirm-submit");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
