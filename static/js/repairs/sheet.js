// The dispatch sheet's toolbar: the print button (inline handlers are not allowed by the CSP).
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
