// /masks, cross-attention: an encoder-decoder's mask from decoder queries to encoder keys, for a real padded
// batch.
import { postJSON } from "../lib/api.js";
import { checked, h } from "../lib/dom.js";
import { figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";

const SOURCES = ["7", "42", "1234", "908172"]; // unequal lengths, so the batch needs padding
let generation = 0;

export async function drawCross(parent, models) {
  const model = models.find((m) => m.architecture === "encoder-decoder");
  const mine = ++generation;
  let r;
  try {
    r = await postJSON("/api/cross-mask", { model: model.name, sources: SOURCES });
  } catch (e) {
    r = { error: e.message };
  }
  if (mine !== generation) return;
  const f = figure(parent, {
    title:
      `Cross-attention mask: ${SOURCES.length} sources, padded ` +
      `to ${r.source_padding?.[0].length ?? "?"} digits`,
    caption:
      `${model.name} translated the batch ${SOURCES.map((x) => JSON.stringify(x)).join(", ")} ` +
      "greedily; each map is one row: decoder queries (the words it read, rows) × encoder keys (the " +
      "left-padded digits, columns). Hatched = a padded source digit, hidden from every query, and " +
      "padded query rows, which see nothing. There is no causal triangle: every word may read the " +
      "whole source.",
    name: "masks-cross",
    data: r,
    panel: "cross-mask",
  });
  if (r.error) return f.body.append(h("p", { class: "error" }, r.error));
  const grid = h("div", {
    class: "grid",
    style: "grid-template-columns:repeat(auto-fill,minmax(min(100%,270px),1fr))",
  });
  r.cross.forEach((M, b) => {
    const map = h("div");
    const box = h(
      "div",
      { "data-row": b, style: "overflow-x:auto" },
      h("h4", {}, `row ${b}: ${JSON.stringify(SOURCES[b])}`),
      map,
    );
    const lab = (xs) => xs.map((t) => t ?? "pad");
    heatmap(
      map,
      {
        matrix: M.map((row) => row.map((v) => (v ? 1 : null))),
        rows: lab(r.target_tokens[b]),
        cols: lab(r.source_tokens[b]),
      },
      {
        min: 0,
        max: 1,
        cell: 14,
        readout: f.readout,
        label: `cross-attention mask of row ${b}`,
        format: (v) => String(Math.round(v)),
        describe: (i, j, v) =>
          `row ${b}: query ${i} ${JSON.stringify(r.target_tokens[b][i] ?? "pad")} → ` +
          `source ${j} ${JSON.stringify(r.source_tokens[b][j] ?? "pad")}: ` +
          (v === null ? "masked" : "may attend"),
      },
    );
    for (const c of box.querySelectorAll("rect.cell")) {
      checked(c, `cross.cross.${b}.${c.dataset.i}.${c.dataset.j}`, M[c.dataset.i][c.dataset.j]);
    }
    grid.append(box);
  });
  f.body.append(grid);
}
