// A matrix as coloured cells with token labels. Hover or focus (arrow keys move) shows the exact value.
// data: {matrix: number[][] (null = masked), rows: string[], cols: string[]}
// options: {scale: "viridis"|"cividis"|"diverging", min, max, cell, values: bool, label, readout: element,
//           format(v), onCell(i, j), describe(i, j, v) → readout text, rowTitle, colTitle}
import { fmt } from "../lib/dom.js";
import { diverging, readableTextColour, scaleFor } from "./scales.js";
import { hatchDefs, s, svgRoot } from "./svg.js";
import { tabulate } from "./table.js";
import { tokenLabel } from "./tokens.js";

let uid = 0;

// A cell size that fits n columns into the box `el` (a figure body already on the page), 6–20 px: a map
// in a narrow column shows all its columns instead of the first few.
export const fitCell = (el, n) =>
  Math.max(6, Math.min(20, Math.floor((el.clientWidth - 110) / Math.max(n, 1))));

export function render(el, data, options = {}) {
  const { matrix } = data;
  const rows = data.rows || matrix.map((_, i) => String(i));
  const cols = data.cols || (matrix[0] || []).map((_, j) => String(j));
  const nR = matrix.length;
  const nC = nR ? matrix[0].length : 0;
  const finite = matrix.flat().filter((v) => v !== null && Number.isFinite(v));
  const kind = options.scale || "viridis";
  let lo = options.min ?? Math.min(...finite, 0);
  let hi = options.max ?? Math.max(...finite, 0);
  if (kind === "diverging") {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    lo = -m;
    hi = m;
  }
  const colour = (v) => (kind === "diverging" ? diverging(v, hi) : scaleFor(kind)((v - lo) / (hi - lo || 1)));
  const format = options.format || ((v) => fmt(v, 3));
  const cell = options.cell || Math.max(10, Math.min(34, Math.floor(560 / Math.max(nR, nC, 1))));
  const labelW = Math.min(90, 12 + 7 * Math.max(...rows.map((r) => tokenLabel(r).length), 1));
  const labelH = Math.min(90, 12 + 7 * Math.max(...cols.map((c) => tokenLabel(c).length), 1));
  const legendH = 34;
  // the legend fits too
  const width = labelW + Math.max(nC * cell + 8, Math.max(120, Math.min(220, nC * cell)) + 72);
  const height = labelH + nR * cell + legendH;
  const hatch = `hatch-${++uid}`;
  const svg = svgRoot(width, height, options.label || "heatmap");
  svg.setAttribute("tabindex", "0");
  svg.classList.add("heatmap");
  svg.append(hatchDefs(hatch));
  const grid = s("g", { transform: `translate(${labelW},${labelH})` });
  const cells = [];
  let anyMasked = false;
  for (let i = 0; i < nR; i++) {
    cells.push([]);
    for (let j = 0; j < nC; j++) {
      const v = matrix[i][j];
      const masked = v === null || v === undefined || (options.mask && !options.mask[i][j]);
      anyMasked ||= masked;
      const fill = masked ? `url(#${hatch})` : colour(v);
      const r = s("rect", {
        class: "cell",
        x: j * cell,
        y: i * cell,
        width: cell - 1,
        height: cell - 1,
        fill,
        "data-i": i,
        "data-j": j,
        "data-value": masked ? "masked" : v,
      });
      r.append(
        s("title", {}, `${tokenLabel(rows[i])} → ${tokenLabel(cols[j])}: ${masked ? "masked" : format(v)}`),
      );
      grid.append(r);
      cells[i].push(r);
      if (options.values && !masked && cell >= 26) {
        grid.append(
          s(
            "text",
            {
              x: j * cell + cell / 2 - 0.5,
              y: i * cell + cell / 2 + 3.5,
              "text-anchor": "middle",
              style: `fill:${readableTextColour(fill)}`,
              "font-size": 9,
              "pointer-events": "none",
            },
            format(v),
          ),
        );
      }
    }
  }
  svg.append(grid);
  const rowLabels = s("g", { class: "mono" });
  const every = Math.ceil(10 / cell); // small cells: label every k-th row and column only
  rows.forEach((r, i) => {
    if (i % every) return;
    const y = labelH + i * cell + cell / 2 + 4;
    rowLabels.append(s("text", { x: labelW - 4, y, "text-anchor": "end", class: "mono" }, tokenLabel(r)));
  });
  const colLabels = s("g", { class: "mono" });
  cols.forEach((c, j) => {
    if (j % every) return;
    const x = labelW + j * cell + cell / 2 + 4;
    colLabels.append(
      s(
        "text",
        { x, y: labelH - 4, transform: `rotate(-90 ${x} ${labelH - 4})`, class: "mono" },
        tokenLabel(c),
      ),
    );
  });
  svg.append(rowLabels, colLabels);
  svg.append(
    legend(
      lo,
      hi,
      colour,
      labelW,
      labelH + nR * cell + 8,
      Math.max(120, Math.min(220, nC * cell)),
      anyMasked && hatch,
      format,
    ),
  );

  let active = null;
  const describe =
    options.describe ||
    ((i, j, v) =>
      `${options.rowTitle || "row"} ${i} ${JSON.stringify(rows[i])} ` +
      `→ ${options.colTitle || "column"} ${j} ${JSON.stringify(cols[j])}: ` +
      (v === null ? "masked (−∞ → weight 0)" : format(v)));
  const activate = (i, j, byKey = false) => {
    if (!nR || !nC) return;
    i = Math.max(0, Math.min(nR - 1, i));
    j = Math.max(0, Math.min(nC - 1, j));
    if (active) active.classList.remove("active");
    active = cells[i][j];
    active.classList.add("active");
    if (byKey) active.scrollIntoView?.({ block: "nearest", inline: "nearest" });
    const v = matrix[i][j];
    if (options.readout)
      options.readout.textContent = describe(i, j, options.mask && !options.mask[i][j] ? null : v);
    options.onCell?.(i, j);
  };
  svg.addEventListener("mouseover", (e) => {
    const t = e.target.closest?.("rect.cell");
    if (t) activate(Number(t.dataset.i), Number(t.dataset.j));
  });
  svg.addEventListener("click", (e) => {
    const t = e.target.closest?.("rect.cell");
    if (t) options.onClick?.(Number(t.dataset.i), Number(t.dataset.j));
  });
  svg.addEventListener("focus", () => !active && activate(nR - 1, 0));
  svg.addEventListener("keydown", (e) => {
    if (!active) return;
    const i = Number(active.dataset.i);
    const j = Number(active.dataset.j);
    const moves = {
      ArrowUp: [i - 1, j],
      ArrowDown: [i + 1, j],
      ArrowLeft: [i, j - 1],
      ArrowRight: [i, j + 1],
      Home: e.ctrlKey ? [0, 0] : [i, 0],
      End: e.ctrlKey ? [nR - 1, nC - 1] : [i, nC - 1],
    };
    if (moves[e.key]) {
      e.preventDefault();
      e.stopPropagation();
      activate(...moves[e.key], true);
    }
  });
  svg.setAttribute("aria-roledescription", "heatmap");
  const whole = finite.every(Number.isInteger);
  tabulate(svg, () => ({
    caption: options.label || "heatmap",
    format: (v) => (v === null || v === undefined ? "masked" : whole ? String(v) : fmt(v, 4)),
    columns: [`${options.rowTitle || "row"} ↓ ${options.colTitle || "column"} →`, ...cols.map(tokenLabel)],
    rows: matrix.map((row, i) => [
      tokenLabel(rows[i]),
      ...row.map((v, j) => (options.mask && !options.mask[i][j] ? null : v)),
    ]),
  }));
  el.replaceChildren(svg);
  return { svg, activate };
}

function legend(lo, hi, colour, x, y, w, hatch, format) {
  const g = s("g", { transform: `translate(${x},${y})` });
  const steps = 24;
  for (let k = 0; k < steps; k++) {
    const v = lo + ((hi - lo) * (k + 0.5)) / steps;
    g.append(s("rect", { x: (k * w) / steps, y: 0, width: w / steps + 0.5, height: 10, fill: colour(v) }));
  }
  g.append(s("text", { x: 0, y: 22 }, format(lo)));
  g.append(s("text", { x: w, y: 22, "text-anchor": "end" }, format(hi)));
  if (hatch) {
    // only a matrix with masked cells explains the hatching
    g.append(s("rect", { x: w + 12, y: 0, width: 10, height: 10, fill: `url(#${hatch})`, stroke: "#999" }));
    g.append(s("text", { x: w + 26, y: 9 }, "masked"));
  }
  return g;
}
