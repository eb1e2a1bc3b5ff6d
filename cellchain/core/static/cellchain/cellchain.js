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
