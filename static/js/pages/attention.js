// Attention explorer: the head view (one layer, all heads or one), the model view (every layer × head,
// click to enlarge), and per generated token: the attention row each new token was predicted with.
// A GPT's attention is causal (a query reads only earlier keys); the masked LM's encoder reads both sides.
import { latestOnly, postJSON, streamEvents } from "../lib/api.js";
import { checked, debounce, fmt, h, modelSelect } from "../lib/dom.js";
import { range } from "../lib/math.js";
import { applyTeacherPresets, pageData, readState, writeState } from "../lib/state.js";
import { causalRows, render as grid, moveZoomFocus, square } from "../vis/attngrid.js";
import { closable, figure } from "../vis/figure.js";
import { autoCut, render as headview, LONG } from "../vis/headview.js";
import { render as heatmap } from "../vis/heatmap.js";
import { viridis } from "../vis/scales.js";
import { render as chips, tokenLabel } from "../vis/tokens.js";

const models = pageData().models.filter((m) => m.architecture === "gpt" || m.architecture === "encoder");
const preferred = models.some((m) => m.name === "shakespeare-char")
  ? "shakespeare-char"
  : models[0]?.name || "";
const defaults = {
  text: "ROMEO:\nBut soft, what light through yonder window breaks?",
  model: preferred,
  layer: 0,
  head: "all",
  cut: "auto",
  zoom: "",
  max_tokens: 20,
  seed: 42,
  step: 0,
};
const state = readState(defaults);
if (!models.some((m) => m.name === state.model)) state.model = defaults.model;
const model = () => models.find((m) => m.name === state.model);
const bidirectional = () => model()?.architecture === "encoder";
const $ = (id) => document.getElementById(id);
const save = () => writeState(state, defaults);
const ready = () => (document.body.dataset.ready ||= "1");

function showError(e) {
  if (e && e.name === "AbortError") return;
  const box = $("text-error");
  box.hidden = !e;
  box.textContent = e ? e.message || String(e) : "";
  if (e) ready();
}

// ---- controls -----------------------------------------------------------------------------------------
const text = $("text");
text.value = state.text;
text.addEventListener(
  "input",
  debounce(() => {
    state.text = text.value;
    save();
    refresh();
  }, 400),
);
const select = modelSelect(models, state.model, () => true, {
  id: "model",
  "data-key": "model",
  "aria-label": "model",
});
select.addEventListener("change", () => {
  state.model = select.value;
  for (const p of pickers) p();
  save();
  refresh();
});
const pickers = [];
function picker(key, label, options, onChange) {
  const sel = h("select", { id: `sel-${key}`, "data-key": key, "aria-label": label });
  const set = () => {
    const opts = options();
    sel.replaceChildren(
      ...opts.map(([v, t]) => h("option", { value: v, selected: String(state[key]) === String(v) }, t)),
    );
    if (!opts.some(([v]) => String(v) === String(state[key]))) sel.value = String(opts[0][0]);
    state[key] = typeof defaults[key] === "number" ? Number(sel.value) : sel.value;
  };
  set();
  sel.addEventListener("change", () => {
    state[key] = typeof defaults[key] === "number" ? Number(sel.value) : sel.value;
    save();
    onChange();
  });
  pickers.push(set);
  return h("span", { class: "field" }, h("label", { for: sel.id }, label), sel);
}
$("att-pickers").append(
  h("span", { class: "field" }, h("label", { for: "model" }, "Model"), select),
  picker(
    "layer",
    "Head view layer",
    () => range(model().n_layer).map((l) => [l, `layer ${l}`]),
    drawHeadView,
  ),
  picker(
    "head",
    "Heads",
    () => [["all", "all heads"], ...range(model().n_head).map((k) => [k, `head ${k}`])],
    drawHeadView,
  ),
  picker(
    "cut",
    "Lines from",
    () => [["auto", "auto"], ...["0.01", "0.05", "0.1", "0.25", "0.5"].map((w) => [w, `weight ≥ ${w}`])],
    drawHeadView,
  ),
);

// ---- head view, model view, enlarged cell --------------------------------------------------------------
const hvFig = figure($("headview-box"), { title: "Head view", name: "head-view" });
const gridFig = figure($("grid-box"), { title: "Model view: every layer × head", name: "model-view" });
const zoomFig = figure($("zoom-box"), { title: "Layer, head", name: "attention-cell" });
closable(zoomFig, () => setZoom("")).id = "zoom-close";
zoomFig.root.hidden = true;
const fetchTrace = latestOnly((body, signal) => postJSON("/api/trace", body, { signal }));
let trace = null;
let rows = null;

async function refresh() {
  try {
    const t = await fetchTrace({ model: state.model, text: state.text, backend: "numpy" });
    if (!t) return;
    showError(null);
    trace = t;
    rows = bidirectional() ? t.attention : causalRows(t.attention);
    drawHeadView();
    drawGrid();
    drawZoom();
    ready();
    if (bidirectional()) noGeneration();
    else generate();
  } catch (e) {
    showError(e);
  }
}

const input = () => {
  const text = state.text.length > 40 ? `${state.text.slice(0, 40)}…` : state.text;
  return `${state.model} on ${JSON.stringify(text)} (${trace.tokens.length} tokens)`;
};

function drawHeadView() {
  if (!trace) return;
  const layer = Math.min(state.layer, rows.length - 1);
  const T = trace.tokens.length;
  const minWeight = state.cut === "auto" ? autoCut(T) : Number(state.cut);
  const { drawn, total } = headview(
    hvFig.body,
    {
      tokens: trace.tokens,
      attention: rows[layer],
      heads: state.head === "all" ? null : [Number(state.head)],
    },
    { readout: hvFig.readout, label: `head view of layer ${layer}`, minWeight },
  );
  hvFig.root.dataset.drawn = drawn;
  hvFig.setTitle(`Head view · layer ${layer}`);
  const heads = state.head === "all" ? "all heads, one colour each" : `head ${state.head}`;
  const auto = state.cut === "auto" ? (T > LONG ? " (auto: a long input)" : " (auto)") : "";
  hvFig.setCaption(
    `${input()}, layer ${layer}, ${heads}. ` +
      "A line joins a query (left) to a key (right); its opacity is the attention weight. " +
      "Hover or focus a token on the left to isolate its lines. Lines of weight " +
      `≥ ${minWeight}${auto}: ${drawn.toLocaleString()} of ${total.toLocaleString()} drawn.`,
  );
  hvFig.setData({ layer, tokens: trace.tokens, attention: trace.attention[layer] });
}

// `current`: the "layer.head" cell that keeps the grid's tab stop when none is open
function drawGrid(current = "") {
  const H = rows[0].length;
  const [zl, zh] = state.zoom ? state.zoom.split(".").map(Number) : [-1, -1];
  const keep = (state.zoom || current).split(".").map(Number);
  const size = Math.max(44, Math.min(90, Math.floor((Math.min(innerWidth, 760) - 110) / H) - 8));
  grid(
    gridFig.body,
    { tokens: trace.tokens, rows },
    {
      readout: gridFig.readout,
      onOpen: (l, hd) => setZoom(`${l}.${hd}`),
      selected: [zl, zh],
      current: keep.length === 2 ? keep : null,
      size,
    },
  );
  gridFig.setCaption(
    `${input()}: ${rows.length} layers × ${H} heads; in each thumbnail row = query, column = key, ` +
      `${bidirectional() ? "nothing masked: the encoder reads keys on both sides" : "hatched = masked"}. ` +
      "Each is scaled to its own largest weight; hover for values, click or press Enter to enlarge.",
  );
  gridFig.setData({ tokens: trace.tokens, attention: trace.attention });
}

// Opening or closing the enlarged heatmap moves the focus with it (vis/attngrid.js moveZoomFocus).
function setZoom(z) {
  const was = state.zoom;
  state.zoom = z;
  save();
  drawGrid(was);
  drawZoom();
  moveZoomFocus(gridFig, zoomFig, z, was);
}

function drawZoom() {
  const [l, hd] = state.zoom ? state.zoom.split(".").map(Number) : [-1, -1];
  const open = l >= 0 && l < rows.length && hd < rows[0].length;
  zoomFig.root.hidden = !open;
  if (!open) return;
  const T = trace.tokens.length;
  const { svg } = heatmap(
    zoomFig.body,
    { matrix: square(rows[l][hd], T), rows: trace.tokens, cols: trace.tokens },
    {
      readout: zoomFig.readout,
      values: true,
      rowTitle: "query",
      colTitle: "key",
      label: `attention of layer ${l}, head ${hd}`,
      format: (v) => fmt(v, T > 24 ? 2 : 3),
      describe: (i, j, v) =>
        `query ${i} ${JSON.stringify(trace.tokens[i])} → ` +
        `key ${j} ${JSON.stringify(trace.tokens[j])}: ${v === null ? "masked (a later key)" : fmt(v, 4)}`,
    },
  );
  for (const r of svg.querySelectorAll("rect.cell")) {
    const [i, j] = [Number(r.dataset.i), Number(r.dataset.j)];
    if (j <= i || bidirectional())
      checked(r, `trace.attention.${l}.${hd}.${i}.${j}`, trace.attention[l][hd][i][j]);
  }
  zoomFig.setTitle(`Layer ${l}, head ${hd}`);
  const mask = bidirectional()
    ? "no mask: a bidirectional encoder reads later keys too"
    : "hatched = masked (a later key)";
  zoomFig.setCaption(
    `${input()}, layer ${l}, head ${hd}: softmax(q·k/√d_head) for each query row (each row sums to 1); ` +
      `${mask}. Hover, or focus and use the arrow keys, for exact values.`,
  );
  zoomFig.setData({ layer: l, head: hd, tokens: trace.tokens, attention: trace.attention[l][hd] });
}

// ---- per generated token ------------------------------------------------------------------------------
const tokFig = figure($("pertoken-box"), { title: "Per generated token", name: "per-token" });
const nInput = h("input", {
  type: "number",
  id: "n",
  min: 1,
  max: 64,
  value: state.max_tokens,
  "data-key": "max_tokens",
  "aria-label": "tokens to generate",
  class: "short",
});
const seedInput = h("input", {
  type: "number",
  id: "seed",
  min: 0,
  max: 4294967295,
  value: state.seed,
  "data-key": "seed",
  "aria-label": "seed",
  class: "seed",
});
const slider = h("input", {
  type: "range",
  id: "step",
  min: 0,
  max: 0,
  value: 0,
  "data-key": "step",
  "aria-label": "generated token",
});
const stepOut = h("output", { for: "step", class: "mono" });
const strip = h("div", { id: "generated" });
const stepBox = h("div", { id: "step-heatmap" });
const note = h("p", { class: "muted small", id: "context-note" });
const genControls = h(
  "div",
  { class: "row" },
  h("span", { class: "field" }, h("label", { for: "n" }, "Tokens"), nInput),
  h("span", { class: "field" }, h("label", { for: "seed" }, "Seed"), seedInput),
);
const stepRow = h("div", { class: "step-row" }, h("label", { for: "step" }, "Step"), slider, stepOut);
tokFig.body.append(genControls, strip, note, stepRow, stepBox);
const showGeneration = (on) => {
  genControls.classList.toggle("hidden", !on);
  stepRow.classList.toggle("hidden", !on);
};
for (const [el, key, max] of [
  [nInput, "max_tokens", 64],
  [seedInput, "seed", 4294967295],
]) {
  el.addEventListener("change", () => {
    state[key] = Math.max(key === "max_tokens" ? 1 : 0, Math.min(max, Math.floor(Number(el.value) || 0)));
    el.value = state[key];
    save();
    generate();
  });
}
slider.addEventListener("input", () => showStep(Number(slider.value)));

let stream = null;
let controller = null;
function noGeneration() {
  // a masked LM fills in, it does not write on
  controller?.abort();
  stream = null;
  strip.replaceChildren();
  stepBox.replaceChildren();
  slider.max = 0;
  stepOut.textContent = "";
  note.textContent =
    `${state.model} is an encoder (a masked language model): it reads the whole text at once and ` +
    "fills in hidden tokens instead of writing new ones, so there is no generation to step through. " +
    "Pick a GPT to see one.";
  showGeneration(false);
  tokFig.root.dataset.done = "0";
  tokFig.setTitle("Per generated token");
  tokFig.setCaption("");
}
async function generate() {
  controller?.abort();
  controller = new AbortController();
  const mine = controller;
  showGeneration(true);
  const body = {
    model: state.model,
    prompt: state.text,
    backend: "numpy",
    max_new_tokens: state.max_tokens,
    temperature: 0.8,
    top_k: 0,
    top_p: 1,
    repetition_penalty: 1,
    seed: state.seed,
    include_attention: true,
  };
  const got = { prompt: [], events: [], done: null };
  tokFig.root.dataset.request = JSON.stringify(body);
  delete tokFig.root.dataset.done;
  try {
    await streamEvents("/api/generate", body, {
      signal: mine.signal,
      onEvent: (name, d) => {
        if (name === "start") got.prompt = d.prompt_tokens;
        else if (name === "token") got.events.push(d);
        else if (name === "done") got.done = d;
        else if (name === "error") showError(new Error(d.message));
      },
    });
  } catch (e) {
    showError(e);
    return;
  }
  if (mine !== controller) return;
  stream = got.events.length ? got : null;
  tokFig.root.dataset.done = got.events.length;
  const slid = got.events.find((e) => e.window_start > 0);
  note.textContent = slid
    ? `The text outgrew the model's context of ${model().context} tokens: from generated token ` +
      `${slid.index} on the window slid, and the model read only the newest tokens again.`
    : "";
  if (!stream) {
    strip.replaceChildren();
    stepBox.replaceChildren();
    return;
  }
  slider.max = got.events.length - 1;
  chips(strip, [...got.prompt, ...got.events.map((e) => e.token)], {
    classes: [...got.prompt.map(() => "prompt"), ...got.events.map(() => "gen")],
    colors: [...got.prompt.map(() => null), ...got.events.map((e) => viridis(e.prob))],
    titles: [
      ...got.prompt.map((t, i) => `prompt token ${i}: ${JSON.stringify(t)}`),
      ...got.events.map((e, i) => `generated token ${i}: ${JSON.stringify(e.token)}, p = ${e.prob}`),
    ],
    onSelect: (i) => i >= got.prompt.length && showStep(i - got.prompt.length),
    selected: got.prompt.length + Math.min(state.step, got.events.length - 1),
    label: "your text and the generated tokens: the arrow keys pick a generated one",
  });
  tokFig.setData({ request: body, prompt_tokens: got.prompt, tokens: got.events });
  showStep(Math.min(state.step, got.events.length - 1));
}

function showStep(i) {
  if (!stream) return;
  const e = stream.events[i];
  state.step = i;
  save();
  slider.value = i;
  stepOut.textContent = `${i + 1} / ${stream.events.length}`;
  const P = stream.prompt.length;
  for (const c of strip.querySelectorAll(".tok")) {
    c.classList.toggle("selected", Number(c.dataset.index) === P + i);
    c.setAttribute("aria-selected", String(Number(c.dataset.index) === P + i));
  }
  const keys = e.attention[0][0].length;
  const ctx = [...stream.prompt, ...stream.events.slice(0, i).map((x) => x.token)].slice(-keys);
  const labels = e.attention.flatMap((layer, l) => layer.map((_, hd) => `L${l}/H${hd}`));
  const matrix = e.attention.flat();
  const { svg } = heatmap(
    stepBox,
    { matrix, rows: labels, cols: ctx },
    {
      readout: tokFig.readout,
      rowTitle: "layer/head",
      colTitle: "key",
      min: 0,
      label: `attention rows that predicted generated token ${i}`,
      describe: (r, k, v) =>
        `${labels[r]}: predicting ${JSON.stringify(e.token)}, weight on ` +
        `key ${k} ${JSON.stringify(ctx[k])} = ${fmt(v, 4)}`,
    },
  );
  stepBox.scrollLeft = stepBox.scrollWidth; // the newest keys, where the weight usually is
  const H = e.attention[0].length;
  for (const r of svg.querySelectorAll("rect.cell")) {
    const [row, k] = [Number(r.dataset.i), Number(r.dataset.j)];
    const [l, hd] = [Math.floor(row / H), row % H];
    checked(r, `stream.${i}.attention.${l}.${hd}.${k}`, e.attention[l][hd][k]);
  }
  tokFig.setTitle(`Per generated token · step ${i + 1}: ${tokenLabel(e.token)}`);
  tokFig.setCaption(
    `${state.model}, seed ${state.seed}, temperature 0.8: the attention row of the last position ` +
      `(${tokenLabel(ctx[ctx.length - 1])}) in every layer × head, as the stream sent it, when the ` +
      `model predicted generated token ${i} ${JSON.stringify(e.token)} (p = ${fmt(e.prob, 3)}). ` +
      "Rows are layer/head, columns the keys it could see. Move the slider or pick a generated token " +
      "to step.",
  );
}

applyTeacherPresets();
if (!models.length) showError(new Error("No GPT or encoder model is served."));
else refresh();
