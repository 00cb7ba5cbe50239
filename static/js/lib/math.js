// Formulas with the vendored KaTeX, and small numeric helpers.
import { keyboardScrollable } from "./dom.js";

// 0, 1, …, n − 1
export const range = (n) => Array.from({ length: n }, (_, i) => i);

// The index of the largest value (the first of equals; 0 for an empty list).
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

// A formula drawn by KaTeX. KaTeX's MathML is what assistive technology reads (its HTML is aria-hidden);
// the <math> element is also named in plain words (texWords), for screen readers without MathML, and the
// source stays in data-tex for copying. A formula wider than its pane scrolls and takes focus.
export function tex(el, source, { display = true } = {}) {
  el.dataset.tex = source;
  if (window.katex) {
    window.katex.render(source, el, { displayMode: display, throwOnError: false, output: "htmlAndMathml" });
    const math = el.querySelector("math");
    if (math) math.setAttribute("aria-label", mathWords(math));
  } else {
    el.textContent = source;
  }
  keyboardScrollable(el, "formula");
  return el;
}

const OPERATORS = {
  "=": "equals",
  "+": "plus",
  "-": "minus",
  "−": "minus",
  "⋅": "times",
  "·": "times",
  "×": "times",
  "∈": "in",
  "≤": "at most",
  "≥": "at least",
  "<": "less than",
  ">": "greater than",
  "≈": "approximately",
  "→": "to",
  "↦": "maps to",
  "←": "becomes",
  "⇒": "implies",
  "∧": "and",
  "⊙": "element-wise times",
  "∑": "sum",
  "∣": "given",
  "∖": "without",
  "∥": "concatenated with",
  "/": "divided by",
  "…": "and so on",
  "⋯": "and so on",
  "∞": "infinity",
  "⏟": "",
  "\u2061": "",
  "\u2062": "",
  "(": "(",
  ")": ")",
};

// A formula in words, from KaTeX's MathML: "s sub i j equals (q sub i times k sub j) over square root of
// h sub s". Good enough to be read aloud; the MathML stays for screen readers that read mathematics.
export function mathWords(node) {
  const words = walk(node).replace(/\s+/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")");
  return words.trim();
}

function walk(node) {
  if (node.nodeType === Node.TEXT_NODE) return node.textContent;
  if (node.nodeType !== Node.ELEMENT_NODE) return "";
  const kids = [...node.children];
  const part = (i) => walk(kids[i] || { nodeType: 0 });
  const group = (i) => {
    const w = part(i).trim();
    return / /.test(w) ? `(${w})` : w;
  };
  switch (node.localName) {
    case "annotation":
    case "annotation-xml":
      return "";
    case "semantics":
      return part(0);
    case "mo": {
      const op = node.textContent.trim();
      return ` ${op in OPERATORS ? OPERATORS[op] : op} `;
    }
    case "mi":
      return node.getAttribute("mathvariant") === "double-struck" && node.textContent === "R"
        ? " ℝ "
        : ` ${node.textContent} `;
    case "mn":
    case "mtext":
      return ` ${node.textContent} `;
    case "mspace":
      return " ";
    case "mfrac":
      return ` ${group(0)} over ${group(1)} `;
    case "msqrt":
      return ` square root of ${group(0)} `;
    case "mroot":
      return ` root ${group(1)} of ${group(0)} `;
    case "msup":
      return ` ${part(0)} ${power(part(1).trim())} `;
    case "msub":
      return ` ${part(0)} sub ${group(1)} `;
    case "msubsup":
      return ` ${part(0)} sub ${group(1)} ${power(part(2).trim())} `;
    case "munder": {
      const under = part(1).trim();
      if (!under) return part(0);
      const big = ["∑", "max", "min", "lim"].includes(kids[0]?.textContent.trim());
      return big ? ` ${part(0)} over ${group(1)} ` : ` ${part(0)} (${under}) `;
    }
    case "mover":
      return ` ${part(0)} ${part(1)} `;
    case "munderover":
      return ` ${part(0)} from ${group(1)} to ${group(2)} `;
    case "mtable":
      return kids.map((row) => walk(row).trim()).join("; ");
    default: // mrow, mtr, mtd, mstyle, …: their parts in order
      return kids.length ? kids.map(walk).join(" ") : node.textContent;
  }
}

function power(p) {
  if (p === "⊤" || p === "T") return "transposed";
  if (p === "2") return "squared";
  return `to the power ${/ /.test(p) ? `(${p})` : p}`;
}
