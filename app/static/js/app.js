// A label's words without its marks: a required "*" or a hidden "(required)".
function labelText(label) {
  const copy = label.cloneNode(true);
  copy.querySelectorAll("[aria-hidden='true'], .visually-hidden").forEach((part) => part.remove());
  return copy.textContent.replace(/\s*\*\s*$/, "").trim();
}

// After a failed submit: an error summary at the top of the form links to each field with an error,
// and focus moves to it (keyboard and screen-reader users hear what went wrong, then jump to it).
function errorSummary() {
  const invalid = Array.from(document.querySelectorAll("main .is-invalid"));
  if (!invalid.length) return;
  const form = invalid[0].closest("form");
  const main = document.querySelector("main");
  const box = document.createElement("div");
  box.className = "alert alert-danger error-summary";
  box.setAttribute("role", "alert");
  box.tabIndex = -1;
  const title = document.createElement("h2");
  title.className = "h6 mb-2";
  title.textContent = main.dataset.errorSummaryTitle || "";
  box.appendChild(title);
  const list = document.createElement("ul");
  list.className = "mb-0";
  const groups = new Set();
  for (const field of invalid) {
    if (!field.id) continue;
    // A question answered by choices is one entry, named by its legend (not one per choice).
    const group = field.closest("fieldset.form-question");
    if (group && groups.has(group)) continue;
    if (group) groups.add(group);
    const label = group
      ? group.querySelector("legend")
      : document.querySelector(`label[for="${CSS.escape(field.id)}"]`);
    const errorId = group
      ? (group.getAttribute("aria-describedby") || "").split(/\s+/).find((id) => id.endsWith("-error"))
      : `${field.id}-error`;
    const error = errorId && document.getElementById(errorId);
    const link = document.createElement("a");
    link.href = `#${field.id}`;
    link.textContent = [label && labelText(label), error && error.textContent.trim()]
      .filter(Boolean).join(": ");
    link.addEventListener("click", (event) => { event.preventDefault(); field.focus(); });
    const item = document.createElement("li");
    item.appendChild(link);
    list.appendChild(item);
  }
  box.appendChild(list);
  (form || main).prepend(box);
  box.focus();
}

// Wide tables: a table marked .table-stack shows each row as a card on a phone, its cells labelled
// with their column's header; a table that scrolls sideways can be reached and scrolled by keyboard.
function labelStackedTables() {
  for (const table of document.querySelectorAll("table.table-stack")) {
    const headers = Array.from(table.querySelectorAll("thead th")).map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      Array.from(row.children).forEach((cell, i) => {
        if (headers[i] && !cell.dataset.label) cell.dataset.label = headers[i];
      });
    }
  }
  for (const wrapper of document.querySelectorAll(".table-responsive")) {
    if (wrapper.scrollWidth > wrapper.clientWidth && !wrapper.hasAttribute("tabindex")) {
      wrapper.tabIndex = 0;
      wrapper.setAttribute("role", "region");
      const caption = wrapper.querySelector("caption");
      const heading = wrapper.closest("section, main")?.querySelector("h1, h2");
      wrapper.setAttribute("aria-label", (caption || heading)?.textContent.trim() || "table");
    }
  }
}

// A button or link with data-confirm asks before it acts, in a dialog that names what will happen.
function confirmDialogs() {
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog) return;
  let pending = null;
  document.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    const form = event.target;
    const message = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
    if (!message || form.dataset.confirmed === "1") return;
    event.preventDefault();
    pending = { form, submitter };
    dialog.querySelector(".confirm-dialog-message").textContent = message;
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "yes" && pending) {
      pending.form.dataset.confirmed = "1";
      if (pending.submitter && pending.form.requestSubmit) pending.form.requestSubmit(pending.submitter);
      else pending.form.submit();
    }
    pending = null;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  labelStackedTables();
  confirmDialogs();
  errorSummary();
});
