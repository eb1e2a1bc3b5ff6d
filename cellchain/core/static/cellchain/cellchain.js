// Keep the scan field focused after every htmx swap, so a keyboard-wedge scanner can be used without touching the screen.
document.addEventListener("htmx:afterSwap", () => {
  const field = document.querySelector("[data-scan]");
  if (field) { field.value = ""; field.focus(); }
});
// Leave the page for the sign-in screen when the idle timeout has passed (the server enforces it anyway).
(() => {
  const seconds = Number(document.body.dataset.idleTimeout || 0);
  if (!seconds) return;
  let timer;
  const reset = () => { clearTimeout(timer); timer = setTimeout(() => window.location.reload(), (seconds + 5) * 1000); };
  ["keydown", "pointerdown", "htmx:afterRequest"].forEach((name) => document.addEventListener(name, reset));
  reset();
})();
// A keyboard-wedge scanner ends with Enter: after a field marked data-next (the wristband), move to the named
// field instead of submitting. Delegated, so it also works in htmx-swapped parts (no inline script: CSP).
document.addEventListener("keydown", (event) => {
  const field = event.target.closest && event.target.closest("[data-next]");
  if (field && event.key === "Enter") { event.preventDefault(); document.getElementById(field.dataset.next).focus(); }
});
// A select marked data-autosubmit (the language switch) submits its form when changed.
document.addEventListener("change", (event) => {
  if (event.target.matches && event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});
