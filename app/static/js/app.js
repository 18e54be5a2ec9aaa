// Focus the first field with an error, so keyboard and screen-reader users land on it.
document.addEventListener("DOMContentLoaded", () => {
  const invalid = document.querySelector("main .is-invalid");
  if (invalid) invalid.focus();
});
