// Formulas with the vendored KaTeX, and small numeric helpers.

// 0, 1, …, n − 1
export const range = (n) => Array.from({ length: n }, (_, i) => i);

// The index of the largest value (the first of equals; 0 for an empty list).
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

// A formula; the source stays readable in the aria-label for copy and screen readers.
export function tex(el, source, { display = true } = {}) {
  el.setAttribute("aria-label", source);
  if (window.katex) {
    window.katex.render(source, el, { displayMode: display, throwOnError: false, output: "htmlAndMathml" });
  } else {
    el.textContent = source;
  }
  return el;
}
