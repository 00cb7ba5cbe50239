// BertViz-style head view: tokens in two columns, a line from each query (left) to each key (right)
// whose opacity is the attention weight, one colour per head. Hover or focus a token to isolate its lines.
// attention: [head][query][key]; heads: which heads to draw (indices).
// options.minWeight: lines lighter than this are not drawn (default: 0.01, or 0.1 past LONG tokens, where
// thousands of faint lines would hide the strong ones). Returns {svg, focusOn, drawn, total, cut}.
import { argmax } from "../lib/math.js";
import { s, svgRoot } from "./svg.js";
import { tokenLabel } from "./tokens.js";

export const HEAD_COLOURS = [
  "#0072b2",
  "#e69f00",
  "#009e73",
  "#cc79a7",
  "#56b4e9",
  "#d55e00",
  "#7f7f7f",
  "#000000",
  "#882255",
  "#44aa99",
  "#999933",
  "#aa4499",
];

export const LONG = 40;
export const autoCut = (T) => (T > LONG ? 0.1 : 0.01);

export function render(el, { tokens, attention, heads }, options = {}) {
  const T = tokens.length;
  const cut = options.minWeight ?? autoCut(T);
  let total = 0;
  const rowH = 18;
  const colW = 110;
  const gap = 160;
  const width = colW * 2 + gap;
  const height = T * rowH + 10;
  const svg = svgRoot(width, height, options.label || "head view");
  const lines = s("g", {});
  const shown = heads ?? attention.map((_, k) => k);
  const all = [];
  for (const hd of shown) {
    const colour = HEAD_COLOURS[hd % HEAD_COLOURS.length];
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < T; k++) {
        const w = attention[hd][q][k];
        if (w > 0) total++;
        if (!(w >= cut)) continue;
        const line = s("line", {
          x1: colW,
          y1: 5 + q * rowH + rowH / 2,
          x2: colW + gap,
          y2: 5 + k * rowH + rowH / 2,
          stroke: colour,
          "stroke-opacity": Math.min(1, w).toFixed(3),
          "stroke-width": 2,
          "data-q": q,
          "data-k": k,
          "data-head": hd,
        });
        line.append(
          s("title", {}, `head ${hd}: ${tokenLabel(tokens[q])} → ${tokenLabel(tokens[k])} ${w.toFixed(4)}`),
        );
        lines.append(line);
        all.push(line);
      }
    }
  }
  svg.append(lines);
  const focusOn = (q) => {
    for (const l of all)
      l.setAttribute("visibility", q === null || Number(l.dataset.q) === q ? "visible" : "hidden");
    if (options.readout) {
      if (q === null) options.readout.textContent = "";
      else {
        const parts = shown.map((hd) => {
          const best = argmax(attention[hd][q]);
          return `head ${hd} → ${JSON.stringify(tokens[best])} ${attention[hd][q][best].toFixed(3)}`;
        });
        options.readout.textContent = `query ${q} ${JSON.stringify(tokens[q])}: ${parts.join(" · ")}`;
      }
    }
    options.onQuery?.(q);
  };
  tokens.forEach((t, i) => {
    const left = s(
      "text",
      {
        x: colW - 6,
        y: 5 + i * rowH + rowH / 2 + 4,
        "text-anchor": "end",
        class: "mono",
        tabindex: 0,
        "data-q": i,
      },
      tokenLabel(t),
    );
    const right = s(
      "text",
      { x: colW + gap + 6, y: 5 + i * rowH + rowH / 2 + 4, class: "mono" },
      tokenLabel(t),
    );
    left.addEventListener("mouseenter", () => focusOn(i));
    left.addEventListener("focus", () => focusOn(i));
    svg.append(left, right);
  });
  svg.addEventListener("mouseleave", () => focusOn(options.pinned ?? null));
  el.replaceChildren(svg);
  if (options.pinned !== undefined && options.pinned !== null) focusOn(options.pinned);
  return { svg, focusOn, drawn: all.length, total, cut };
}
