// Formulas with the vendored KaTeX; the source stays readable in the title for copy and screen readers.
export function tex(el, source, { display = true } = {}) {
  el.setAttribute("aria-label", source);
  if (window.katex) {
    window.katex.render(source, el, { displayMode: display, throwOnError: false, output: "htmlAndMathml" });
  } else {
    el.textContent = source;
  }
  return el;
}
