// BertViz-style head view: tokens in two columns, a line from each query (left) to each key (right)
// whose opacity is the attention weight, one colour per head (a legend below names them). Hover or focus a
// token to isolate its lines; the queries are one tab stop, the arrow keys, Home and End move between them.
// attention: [head][query][key]; heads: which heads to draw (indices).
// options.minWeight: lines lighter than this are not drawn (default: 0.01, or 0.1 past LONG tokens, where
// thousands of faint lines would hide the strong ones). Returns {svg, focusOn, drawn, total, cut}.
import { argmax } from "../lib/math.js";
import { roving } from "../lib/roving.js";
import { s, svgRoot } from "./svg.js";
import { tabulate } from "./table.js";
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
const LEGEND_ITEM = 76;

// Which colour is which head: a swatch and a name per head drawn.
function headLegend(shown, x0, y, perRow) {
  const g = s("g", { class: "head-legend", role: "group", "aria-label": "head colours" });
  shown.forEach((hd, n) => {
    const x = x0 + (n % perRow) * LEGEND_ITEM;
    const yy = y + Math.floor(n / perRow) * 16;
    const colour = HEAD_COLOURS[hd % HEAD_COLOURS.length];
    g.append(
      s(
        "g",
        { class: "item", "data-head": hd },
        s("rect", { x, y: yy - 7, width: 18, height: 5, fill: colour }),
        s("text", { x: x + 23, y: yy }, `head ${hd}`),
      ),
    );
  });
  return g;
}
export const autoCut = (T) => (T > LONG ? 0.1 : 0.01);

export function render(el, { tokens, attention, heads }, options = {}) {
  const T = tokens.length;
  const cut = options.minWeight ?? autoCut(T);
  let total = 0;
  const rowH = 18;
  const colW = 110;
  const gap = 160;
  const width = colW * 2 + gap;
  const shown = heads ?? attention.map((_, k) => k);
  const perRow = Math.floor(width / LEGEND_ITEM);
  const legendH = 8 + Math.ceil(shown.length / perRow) * 16;
  const height = T * rowH + 10 + legendH;
  const top = 5 + legendH; // the legend above the tokens, in view before any scrolling
  const svg = svgRoot(width, height, options.label || "head view");
  // it holds focusable tokens, so it is a group, not an image
  svg.setAttribute("role", "group");
  const lines = s("g", { "aria-hidden": "true" });
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
          y1: top + q * rowH + rowH / 2,
          x2: colW + gap,
          y2: top + k * rowH + rowH / 2,
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
  const queries = s("g", {
    role: "listbox",
    "aria-orientation": "vertical",
    "aria-label": "queries: the arrow keys pick one and read its strongest key per head",
  });
  const keys = s("g", { "aria-hidden": "true" });
  tokens.forEach((t, i) => {
    const left = s(
      "text",
      {
        x: colW - 6,
        y: top + i * rowH + rowH / 2 + 4,
        "text-anchor": "end",
        class: "mono",
        role: "option",
        "aria-selected": "false",
        "aria-label": `query ${i} ${JSON.stringify(t)}`,
        "data-q": i,
      },
      tokenLabel(t),
    );
    const right = s(
      "text",
      { x: colW + gap + 6, y: top + i * rowH + rowH / 2 + 4, class: "mono" },
      tokenLabel(t),
    );
    left.addEventListener("mouseenter", () => focusOn(i));
    left.addEventListener("focus", () => {
      for (const o of queries.querySelectorAll("[aria-selected='true']"))
        o.setAttribute("aria-selected", "false");
      left.setAttribute("aria-selected", "true");
      focusOn(i);
    });
    queries.append(left);
    keys.append(right);
  });
  const legendX = (width - Math.min(shown.length, perRow) * LEGEND_ITEM) / 2;
  svg.append(headLegend(shown, legendX, 14, perRow), queries, keys);
  svg.addEventListener("mouseleave", () => focusOn(options.pinned ?? null));
  el.replaceChildren(svg);
  roving(queries, "text[role=option]").sync(options.pinned ?? 0);
  tabulate(svg, () => ({
    caption: `${options.label || "head view"}: attention weight of each query (row) on each key (column)`,
    columns: ["head · query", ...tokens.map(tokenLabel)],
    rows: shown.flatMap((hd) =>
      tokens.map((t, q) => [
        `head ${hd} · ${q} ${tokenLabel(t)}`,
        ...tokens.map((_, k) => attention[hd][q]?.[k] ?? null),
      ]),
    ),
  }));
  if (options.pinned !== undefined && options.pinned !== null) focusOn(options.pinned);
  return { svg, focusOn, drawn: all.length, total, cut };
}
