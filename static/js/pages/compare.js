// /compare: one table over every served model, both backends measured live, all loss curves on one chart.
import { postJSON } from "../lib/api.js";
import { checked, debounce, fmt, h } from "../lib/dom.js";
import { applyTeacherPresets, pageData, readState, writeState } from "../lib/state.js";
import { figure } from "../vis/figure.js";
import { curves, loadLogs, toggle } from "../lessons/training.js";

const { models } = pageData();
const controls = document.getElementById("compare-controls");
const figures = document.getElementById("compare-figures");
const errorBox = document.getElementById("compare-error");
const defaults = { text: "ROMEO: But soft, what light through yonder window breaks?", x: "tokens", y: "bpc" };
let state = readState(defaults);
const set = (patch) => {
  state = { ...state, ...patch };
  writeState(state, defaults);
};

const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
const int = (v) => (v === undefined ? "—" : Number(v).toLocaleString());
// The table's rows, data-driven: {label, text(m)} or {label, path, digits} (a checked number from the model's /api/models entry).
const ROWS = [
  { label: "architecture", text: (m) => m.architecture },
  { label: "layers × heads × width", text: (m) => m.n_hidden ? `${m.n_layer} LSTM layers × ${m.n_hidden} units` : `${m.n_layer} × ${m.n_head} × ${m.n_embd}` },
  { label: "LayerNorm", text: (m) => (m.norm ? `${m.norm}-LN` : "–") },
  { label: "positions", text: (m) => m.pos ?? "–" },
  { label: "activation", text: (m) => m.activation ?? "–" },
  { label: "parameters", path: "parameters", format: int },
  { label: "tokenizer", text: (m) => `${m.tokenizer}, ${m.vocab_size} tokens` },
  { label: "context", text: (m) => `${m.context} tokens` },
  { label: "training steps", path: "card.steps", format: int },
  { label: "training tokens", path: "card.tokens", format: int },
  { label: "validation loss (nats/token)", path: "card.validation.loss", digits: 4 },
  { label: "validation perplexity", path: "card.validation.perplexity", digits: 3 },
  { label: "validation bits per char", path: "card.validation.bits_per_char", digits: 3 },
  { label: "held-out exact match (numbers)", path: "card.accuracy.test.exact_match", digits: 4 },
];

const input = h("input", { type: "text", id: "compare-text", value: state.text, size: 44, maxlength: 400, "data-key": "text",
  style: "max-width:100%",
  "aria-label": "text for the backend measurement" });
input.addEventListener("input", debounce(() => set({ text: input.value }), 300));
const measureAll = h("button", { type: "button", id: "measure-all", "data-key": "measure", "aria-label": "measure both backends of every model",
  onclick: () => models.forEach((m, i) => measure(m, i)) }, "Measure all backends");
controls.append(h("label", { for: "compare-text" }, "Text for the backends"), input, measureAll);
applyTeacherPresets();

const cells = [];
async function measure(m, i) {
  const box = cells[i];
  if (!box) return;
  const text = state.text.slice(0, m.context) || "ROMEO:";
  box.replaceChildren(h("span", { class: "muted small" }, "measuring…"));
  try {
    const r = await postJSON("/api/compare-backends", { model: m.name, text });
    const ms = Object.fromEntries(r.timings.map((t) => [t.backend, t.ms]));
    const [worst, diff] = Object.entries(r.max_abs_diff).reduce((a, b) => (b[1] > a[1] ? b : a), ["", -1]);
    box.replaceChildren(
      h("span", { class: "mono" }, `NumPy ${fmt(ms.numpy, 1)} ms · PyTorch ${fmt(ms.torch, 1)} ms`),
      h("p", { class: "small" }, "max |Δ| ",
        checked(h("span", { class: "mono", title: String(diff) }, diff.toExponential(2)), `backends.${m.name}.max_abs_diff.${worst}`, diff),
        ` in ${worst}, logits `,
        checked(h("span", { class: "mono" }, r.max_abs_diff.logits?.toExponential(2) ?? "—"), `backends.${m.name}.max_abs_diff.logits`, r.max_abs_diff.logits),
        ` (${r.tokens} tokens)`),
    );
    box.dataset.measured = "1";
  } catch (e) {
    box.replaceChildren(h("span", { class: "error small" }, e.message || String(e)));
  }
}

function table(parent) {
  const f = figure(parent, {
    title: `${models.length} served model${models.length === 1 ? "" : "s"}`,
    caption: "From /api/models: each model's config and card.json (validation measured once, over the whole validation split, by the " +
      "NumPy twin). The backends row runs one traced float32 forward per backend on the text above when you ask.",
    name: "compare-models",
    data: models,
    panel: "table",
  });
  const body = ROWS.map((row) => h("tr", {}, h("th", { scope: "row" }, row.label), models.map((m, i) => {
    if (row.text) return h("td", {}, row.text(m));
    const v = get(m, row.path);
    const shown = v === undefined ? "—" : row.format ? row.format(v) : fmt(v, row.digits ?? 3);
    return h("td", { class: "num" }, v === undefined ? shown : checked(h("span", {}, shown), `models.${i}.${row.path}`, v));
  })));
  const backends = h("tr", { "data-row": "backends" }, h("th", { scope: "row" }, "backends (live)"), models.map((m, i) => {
    const box = h("div", { "data-backends": m.name },
      h("button", { type: "button", class: "secondary small", "aria-label": `measure both backends of ${m.name}`, "data-key": "measure",
        onclick: () => measure(m, i) }, "measure"));
    cells[i] = box;
    return h("td", { class: "backends" }, box);
  }));
  f.body.append(h("table", { class: "data compare" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), models.map((m) => h("th", { scope: "col", "data-model": m.name }, m.name)))),
    h("tbody", {}, body, backends)));
}

async function main() {
  try {
    const pair = figures.appendChild(h("div", { class: "grid cols-2", style: "align-items:start" }));
    table(pair);
    const holder = h("div", {});
    const xs = { steps: "steps", tokens: "tokens", time: "wall time" };
    const bar = h("div", { class: "row", "data-panel": "curve-controls" });
    pair.append(h("div", { class: "stack" }, bar, holder));
    const logs = await loadLogs(models);
    const draw = () => {
      holder.replaceChildren();
      curves(holder, logs, { x: state.x, y: state.y, name: "compare-loss-curves" });
      for (const b of bar.querySelectorAll("[data-value]")) b.setAttribute("aria-pressed", String(state[b.dataset.key] === b.dataset.value));
    };
    bar.append(h("span", { class: "small" }, "Loss curves: x"), toggle("x axis", "x", xs, state.x, (k) => (set({ x: k }), draw())),
      h("span", { class: "small" }, "y"), toggle("y axis", "y", { loss: "loss", bpc: "bits/char" }, state.y, (k) => (set({ y: k }), draw())));
    applyTeacherPresets(bar);
    draw();
  } catch (e) {
    errorBox.textContent = e.message || String(e);
    errorBox.hidden = false;
  }
  document.body.dataset.ready = "1";
}

main();
