// BertViz's model view: a layer × head grid of small attention heatmaps. Each thumbnail is a canvas
// image inside one SVG (so the grid exports as SVG and PNG); hover or focus reads the exact value,
// click or Enter opens a cell. The grid is one tab stop (an ARIA grid): the arrow keys move between cells,
// Home and End to the ends of a row, Ctrl+Home and Ctrl+End to the first and last cell.
// data: {tokens: string[], rows: [layer][head][query] → weights over keys 0..query (later keys are masked)}
// options: {readout, onOpen(l, h), size, selected: [l, h], label}
import { fmt } from "../lib/dom.js";
import { argmax } from "../lib/math.js";
import { roving } from "../lib/roving.js";
import { viridis } from "./scales.js";
import { s, svgRoot } from "./svg.js";
import { tabulate } from "./table.js";
import { tokenLabel } from "./tokens.js";

let lut = null;
function palette() {
  if (!lut) {
    lut = [];
    for (let k = 0; k < 256; k++) {
      const c = window.d3.color(viridis(k / 255)).rgb();
      lut.push([c.r, c.g, c.b]);
    }
  }
  return lut;
}

// One head's weights as a PNG data URL, scaled to its own maximum; masked cells hatched grey.
export function thumbnail(rows, T, px = 96) {
  const k = Math.max(1, Math.ceil(px / Math.max(T, 1)));
  const S = k * Math.max(T, 1);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = S;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(S, S);
  let max = 0;
  for (const r of rows) for (const v of r) if (v > max) max = v;
  const colours = palette();
  for (let y = 0; y < S; y++) {
    const row = rows[Math.floor(y / k)] || [];
    for (let x = 0; x < S; x++) {
      const v = row[Math.floor(x / k)];
      const o = 4 * (y * S + x);
      let c;
      if (v === undefined || v === null) {
        const g = (x + y) % 5 < 2 ? 170 : 232;
        c = [g, g, g];
      } else c = colours[Math.round((255 * v) / (max || 1))];
      img.data[o] = c[0];
      img.data[o + 1] = c[1];
      img.data[o + 2] = c[2];
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas.toDataURL("image/png");
}

export function render(el, { tokens, rows }, options = {}) {
  const L = rows.length;
  const H = L ? rows[0].length : 0;
  const T = tokens.length;
  const size = options.size || 72;
  const gap = 8;
  const left = 54;
  const top = 20;
  const svg = svgRoot(
    left + H * (size + gap),
    top + L * (size + gap),
    options.label || "attention of every layer and head",
  );
  svg.classList.add("attngrid");
  svg.setAttribute("role", "grid");
  svg.setAttribute("aria-rowcount", L);
  svg.setAttribute("aria-colcount", H);
  const cells = [];
  for (let h = 0; h < H; h++)
    svg.append(
      s(
        "text",
        { x: left + h * (size + gap) + size / 2, y: 13, "text-anchor": "middle", "aria-hidden": "true" },
        `head ${h}`,
      ),
    );
  for (let l = 0; l < L; l++) {
    const row = s("g", { role: "row", "aria-rowindex": l + 1 });
    svg.append(
      s(
        "text",
        {
          x: left - 8,
          y: top + l * (size + gap) + size / 2 + 4,
          "text-anchor": "end",
          "aria-hidden": "true",
        },
        `layer ${l}`,
      ),
      row,
    );
    for (let h = 0; h < H; h++) {
      const x = left + h * (size + gap);
      const y = top + l * (size + gap);
      const sel = options.selected && options.selected[0] === l && options.selected[1] === h;
      const g = s("g", {
        class: `thumb${sel ? " selected" : ""}`,
        role: "gridcell",
        "aria-colindex": h + 1,
        "aria-selected": String(Boolean(sel)),
        "data-layer": l,
        "data-head": h,
        "aria-label": `layer ${l}, head ${h}`,
        "aria-description": "Enter enlarges it",
      });
      const image = s("image", {
        href: thumbnail(rows[l][h], T),
        x,
        y,
        width: size,
        height: size,
        preserveAspectRatio: "none",
        style: "image-rendering:pixelated",
        "aria-hidden": "true",
      });
      g.append(
        s("title", {}, `layer ${l}, head ${h}`),
        image,
        s("rect", {
          class: "frame",
          x: x - 1.5,
          y: y - 1.5,
          width: size + 3,
          height: size + 3,
          fill: "none",
        }),
      );
      image.addEventListener("mousemove", (e) => {
        const r = image.getBoundingClientRect();
        const i = Math.min(T - 1, Math.floor(((e.clientY - r.top) / r.height) * T));
        const j = Math.min(T - 1, Math.floor(((e.clientX - r.left) / r.width) * T));
        const v = rows[l][h][i]?.[j];
        say(
          `layer ${l} head ${h}: query ${i} ${tokenLabel(tokens[i])} → ` +
            `key ${j} ${tokenLabel(tokens[j])}: ${v === undefined || v === null ? "masked" : fmt(v, 4)}`,
        );
      });
      g.addEventListener("focus", () =>
        say(`layer ${l} head ${h}: ${describe(rows[l][h], tokens)} (Enter opens it)`),
      );
      g.addEventListener("click", () => options.onOpen?.(l, h));
      g.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          options.onOpen?.(l, h);
        }
      });
      cells[l] ||= [];
      cells[l].push(g);
      row.append(g);
    }
  }
  const [sl, sh] = options.current || options.selected || [0, 0];
  const start = sl >= 0 && sl < L && sh >= 0 && sh < H ? sl * H + sh : 0;
  roving(svg, ".thumb", { columns: H }).sync(start);
  tabulate(svg, () => ({
    caption: "the newest query's attention over the keys, in every layer and head",
    columns: ["layer · head", ...tokens.map(tokenLabel)],
    rows: rows.flatMap((layer, l) =>
      layer.map((head, hd) => [`layer ${l} · head ${hd}`, ...tokens.map((_, k) => head[T - 1]?.[k] ?? null)]),
    ),
  }));
  function say(text) {
    if (options.readout) options.readout.textContent = text;
  }
  el.replaceChildren(svg);
  return { svg, cells };
}

// The newest query's strongest key: a one-line summary for keyboard users.
function describe(rows, tokens) {
  const q = rows.length - 1;
  const row = rows[q] || [];
  const best = argmax(row);
  return row.length
    ? `query ${q} ${tokenLabel(tokens[q])} attends most to key ${best} ${tokenLabel(tokens[best])} ` +
        `(${fmt(row[best], 4)})`
    : "no rows";
}

// Causal rows from a trace's (L, heads, T, T) attention: query q keeps keys 0..q.
export function causalRows(attention) {
  return attention.map((layer) => layer.map((head) => head.map((row, q) => row.slice(0, q + 1))));
}

// One head's rows as a square matrix for vis/heatmap.js: keys a query could not see are null (masked).
export function square(rows, T = rows.length) {
  return rows.map((r) => Array.from({ length: T }, (_, j) => (j < r.length ? r[j] : null)));
}

// Opening a thumbnail moves focus into the enlarged heatmap; closing it (Close or Escape) moves focus back
// to that thumbnail. zoom and was are "layer.head" keys (or null).
export function moveZoomFocus(gridFig, zoomFig, zoom, was) {
  if (zoom) {
    zoomFig.body.querySelector("svg")?.focus({ preventScroll: true });
    zoomFig.root.scrollIntoView({ block: "nearest" });
  } else if (was) {
    const [l, hd] = was.split(".");
    gridFig.body.querySelector(`.thumb[data-layer="${l}"][data-head="${hd}"]`)?.focus();
  }
}
