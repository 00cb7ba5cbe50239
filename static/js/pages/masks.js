// /masks: a real batch of unequal prompts → left padding, padding mask, positions, causal and combined masks.
import { postJSON } from "../lib/api.js";
import { checked, debounce, h, modelSelect } from "../lib/dom.js";
import { roving } from "../lib/roving.js";
import { applyTeacherPresets, pageData, readState, writeState } from "../lib/state.js";
import { figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";
import { viridis } from "../vis/scales.js";
import { tokenLabel } from "../vis/tokens.js";

const { models } = pageData();
const gpts = models.filter((m) => m.architecture === "gpt");
const controls = document.getElementById("masks-controls");
const figures = document.getElementById("masks-figures");
const errorBox = document.getElementById("masks-error");
const fallback = gpts.find((m) => m.name === "shakespeare-char") || gpts[0];
const defaults = {
  model: fallback?.name || "",
  prompts: "ROMEO:\nTo be, or not to be\nO Romeo, Romeo!\nWhat light",
  row: 0,
};
let state = readState(defaults);
if (!gpts.some((m) => m.name === state.model)) state.model = defaults.model;

const lines = () => state.prompts.split("\n").filter((p) => p.length);
const set = (patch, redraw = true) => {
  state = { ...state, ...patch };
  writeState(state, defaults);
  if (redraw) refresh();
};

const select = modelSelect(gpts, state.model, () => true, {
  id: "masks-model",
  "data-key": "model",
  "aria-label": "model",
});
select.addEventListener("change", () => set({ model: select.value }));
const area = h(
  "textarea",
  {
    id: "masks-prompts",
    rows: 5,
    "data-key": "prompts",
    "aria-label": "prompts, one per line (2 to 8)",
    maxlength: 800,
  },
  state.prompts,
);
area.addEventListener(
  "input",
  debounce(() => set({ prompts: area.value.replace(/\r/g, "") }), 350),
);
const rowSelect = h("select", {
  id: "masks-row",
  "data-key": "row",
  "aria-label": "batch row of the combined mask",
});
rowSelect.addEventListener("change", () => pickRow(Number(rowSelect.value)));
const cross = models.some((m) => m.architecture === "encoder-decoder");
controls.append(
  h(
    "div",
    { class: "row" },
    h("label", { for: "masks-model" }, "Model"),
    select,
    h("label", { for: "masks-row" }, "Batch row"),
    rowSelect,
  ),
  h("label", { for: "masks-prompts" }, "Prompts, one per line (2 to 8, of different lengths)"),
  area,
  h(
    "p",
    { class: "muted small" },
    cross
      ? "A cross-attention mask belongs to an encoder-decoder model: see the architectures lesson."
      : "A cross-attention mask (decoder queries over encoder keys) needs an encoder-decoder model; " +
          "none is served, so none is drawn.",
  ),
);
applyTeacherPresets();

let last = null;
function pickRow(b) {
  set({ row: b }, false);
  draw(last);
  document.querySelector(`[data-row="${b}"]`)?.focus();
}
let generation = 0;
async function refresh() {
  const mine = ++generation;
  const texts = lines();
  try {
    if (texts.length < 2 || texts.length > 8)
      throw new Error(`prompts: write 2 to 8 prompts, one per line (now ${texts.length})`);
    const masks = await postJSON("/api/masks", { model: state.model, texts });
    if (mine !== generation) return;
    errorBox.hidden = true;
    last = { masks, texts, model: state.model };
    draw(last);
  } catch (e) {
    if (mine !== generation) return;
    errorBox.textContent = e.message || String(e);
    errorBox.hidden = false;
  }
  document.body.dataset.ready = String(mine);
}

const allowed = (m) => m.map((r) => r.map((v) => (v ? 1 : null)));
function mark(f, path, values) {
  for (const r of f.body.querySelectorAll("rect.cell")) {
    const [i, j] = [Number(r.dataset.i), Number(r.dataset.j)];
    checked(r, `masks.${path}${i}.${j}`, values[i][j]);
  }
}

function draw(d) {
  if (!d) return;
  const { masks, texts, model } = d;
  const B = masks.tokens.length;
  const T = masks.causal.length;
  const row = Math.min(Math.max(0, state.row), B - 1);
  rowSelect.replaceChildren(
    ...texts.map((t, b) => h("option", { value: b, selected: b === row }, `${b}: ${t.slice(0, 24)}`)),
  );
  const who = `${model}, ${B} prompts (${texts.map((t) => JSON.stringify(t)).join(", ")})`;
  figures.replaceChildren();

  // 1 · the token grid: one row per prompt, left-padded; each real token with the position the model gives it
  const grid = figure(figures, {
    title: `The batch: ${B} rows × ${T} columns, left-padded`,
    caption:
      `Tokens of ${who}, as /api/masks padded them. Hatched cells are padding; the small number ` +
      "under each token is the position the model uses for it (counting from the row's first real " +
      "token). Click a row to see its combined mask.",
    name: "masks-batch",
    data: masks,
    panel: "batch",
  });
  const body = masks.tokens.map((toks, b) =>
    h(
      "tr",
      { class: b === row ? "selected" : "" },
      h(
        "th",
        {},
        h(
          "button",
          {
            type: "button",
            class: b === row ? "small" : "secondary small",
            "aria-pressed": String(b === row),
            "aria-label": `show the combined mask of row ${b}`,
            "data-row": b,
            onclick: () => pickRow(b),
          },
          `row ${b}`,
        ),
      ),
      toks.map((t, j) => {
        const real = masks.padding[b][j] === 1;
        const pos = masks.positions[b][j];
        const title = real
          ? `row ${b}, column ${j}: ${JSON.stringify(t)} at position ${pos}`
          : `row ${b}, column ${j}: padding`;
        return h(
          "td",
          {
            class: real ? "cell-tok" : "cell-tok hatch",
            title,
            "data-b": b,
            "data-t": j,
            onfocus: () => (grid.readout.textContent = title),
            onmouseenter: () => (grid.readout.textContent = title),
          },
          real ? h("span", { class: "tok" }, tokenLabel(t)) : h("span", { class: "muted small" }, "pad"),
          real ? checked(h("span", { class: "pos" }, String(pos)), `masks.positions.${b}.${j}`, pos) : null,
        );
      }),
    ),
  );
  grid.body.append(
    h(
      "table",
      { class: "data masks-grid" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, "column"),
          Array.from({ length: T }, (_, j) => h("th", { class: "num" }, String(j))),
        ),
      ),
      h("tbody", {}, body),
    ),
  );
  // the cells are one tab stop: the arrow keys move between them, Home and End along a row
  roving(grid.body.querySelector("table.masks-grid tbody"), "td.cell-tok", { columns: T });
  grid.body.scrollLeft = grid.body.scrollWidth; // left padding: the real tokens sit at the right end

  // 2 · padding mask (B × T)
  const pad = figure(figures, {
    title: "Padding mask: 1 = real token",
    caption:
      `masks.padding of ${who}: shape (B=${B}, T=${T}). Hatched = padding, which no query may attend ` +
      "to.",
    name: "masks-padding",
    data: masks.padding,
    panel: "padding",
  });
  heatmap(
    pad.body,
    {
      matrix: allowed(masks.padding),
      rows: texts.map((_, b) => `row\u00a0${b}`),
      cols: [...Array(T).keys()].map(String),
    },
    {
      min: 0,
      max: 1,
      readout: pad.readout,
      label: "padding mask",
      values: true,
      format: (v) => String(Math.round(v)),
      describe: (i, j, v) => `row ${i}, column ${j}: ${v === null ? "padding (0)" : "real token (1)"}`,
    },
  );
  mark(pad, "padding.", masks.padding);

  // 3 · causal (T × T) and combined (row) side by side
  const pair = h("div", { class: "grid cols-2" });
  figures.append(pair);
  const idx = [...Array(T).keys()].map(String);
  const causal = figure(pair, {
    title: `Causal mask (${T} × ${T})`,
    caption:
      `masks.causal for T=${T}: query i (row) may see key j (column) only when j ≤ i. ` +
      "The same for every row of the batch.",
    name: "masks-causal",
    data: masks.causal,
    panel: "causal",
  });
  heatmap(
    causal.body,
    { matrix: allowed(masks.causal), rows: idx, cols: idx },
    {
      min: 0,
      max: 1,
      readout: causal.readout,
      label: "causal mask",
      format: (v) => String(Math.round(v)),
      describe: (i, j, v) => `query ${i} → key ${j}: ${v === null ? "masked (future)" : "may attend"}`,
    },
  );
  mark(causal, "causal.", masks.causal);

  const labels = masks.tokens[row].map((t) => (t === null ? "pad" : t));
  const comb = figure(pair, {
    title: `Combined mask of row ${row}: causal ∧ padding`,
    caption:
      `masks.combined[${row}] for ${JSON.stringify(texts[row])} (${model}): query i may see key j ` +
      "only when j ≤ i and key j is a real token. Padding query rows see nothing at all; " +
      "their outputs are ignored.",
    name: `masks-combined-${row}`,
    data: masks.combined[row],
    panel: "combined",
  });
  heatmap(
    comb.body,
    { matrix: allowed(masks.combined[row]), rows: labels, cols: labels },
    {
      min: 0,
      max: 1,
      readout: comb.readout,
      label: `combined mask of row ${row}`,
      format: (v) => String(Math.round(v)),
      describe: (i, j, v) =>
        `row ${row}: query ${i} ${JSON.stringify(labels[i])} → key ${j} ${JSON.stringify(labels[j])}: ` +
        (v !== null
          ? "may attend"
          : masks.padding[row][j] === 0
            ? "masked (padding key)"
            : masks.padding[row][i] === 0
              ? "masked (padding query)"
              : "masked (future)"),
    },
  );
  mark(comb, `combined.${row}.`, masks.combined[row]);
  comb.body.scrollLeft = comb.body.scrollWidth;
  comb.root.dataset.row = row;

  figures.append(
    h(
      "p",
      { class: "legend", "aria-label": "legend" },
      h("span", { class: "swatch", style: `background:${viridis(1)}` }),
      "may attend (score kept)",
      h("span", { class: "swatch hatch" }),
      "masked (score set to −∞, weight 0)",
    ),
  );
  if (cross) import("./masks-cross.js").then((m) => m.drawCross(figures, models));
}

refresh();
