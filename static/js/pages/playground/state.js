// The playground's shared state: the served models, the URL state and its defaults, what the page is
// doing now (the running request, the generated tokens), and the small helpers every panel uses.
import { h } from "../../lib/dom.js";
import { range } from "../../lib/math.js";
import { hiddenPanels, locked, pageData, readState, writeState } from "../../lib/state.js";

// Every served model: a causal LM (GPT, LSTM) generates, an encoder-decoder translates, a masked LM fills.
const models = pageData().models;
const kindOf = (m) =>
  m?.architecture === "encoder-decoder" ? "translate" : m?.architecture === "encoder" ? "fill" : "generate";
const preferred = models.some((m) => m.name === "shakespeare-char")
  ? "shakespeare-char"
  : models[0]?.name || "";
const defaults = {
  text: "ROMEO:\nBut soft, what light",
  model: preferred,
  backend: "numpy",
  temperature: 0.8,
  top_k: 40,
  top_p: 0.95,
  repetition_penalty: 1,
  max_tokens: 200,
  seed: 42,
  layer: 0,
  head: "all",
  zoom: "",
  rlayer: 0,
  rhead: "mean",
  sbs: false,
  samples: 1,
};
const state = readState(defaults);
if (!models.some((m) => m.name === state.model)) state.model = defaults.model;
const model = () => models.find((m) => m.name === state.model);
// a link to a model that does not read the default prompt (digits for numbers) opens on its example
if (state.text === defaults.text && model()?.task !== "lm" && model()?.example) {
  state.text = model().example;
}
const $ = (id) => document.getElementById(id);
const prompt = $("prompt");
const save = () => writeState(state, defaults);
const attentionPanel = !hiddenPanels().has("attention");
// attention rows exist only for a GPT; an LSTM streams without them
const attentionShown = () => attentionPanel && model()?.architecture === "gpt";
const causal = () => kindOf(model()) === "generate";
const ready = () => (document.body.dataset.ready ||= "1");

function promptError(e) {
  const box = $("prompt-error");
  if (e && e.name === "AbortError") return;
  box.hidden = !e;
  box.textContent = e ? e.message || String(e) : "";
  if (e) ready();
}

// What the page is doing now: the running request (aborted by Stop), why Generate is off (the prompt has
// characters the model cannot read), the generated stream and its selected token.
const session = { run: null, blocked: "", gen: { prompt: [], events: [] }, selected: null };

// Generate and Stop disable each other: focus on the one that turns off moves to the other, never to the
// page body.
function busy(on) {
  const [go, halt] = [$("generate"), $("stop")];
  const had = document.activeElement;
  go.disabled = on || Boolean(session.blocked) || locked().has("generate");
  halt.disabled = !on;
  $("beam").disabled = on || Boolean(session.blocked) || locked().has("beam");
  if ((had === go || had === $("beam")) && had.disabled && !halt.disabled) halt.focus();
  else if (had === halt && halt.disabled && !go.disabled) go.focus();
}
function stop() {
  session.run?.abort();
  session.run = null;
  busy(false);
}
// A new run: the one before is stopped, Generate turns into Stop, the prompt is kept in the URL; the
// returned controller is what Stop aborts.
function startRun() {
  stop();
  const controller = new AbortController();
  session.run = controller;
  busy(true);
  state.text = prompt.value;
  save();
  return controller;
}

// A select bound to state[key]; every picker refills its options when the model changes (refillPickers).
function picker(key, label, options, onChange) {
  const sel = h("select", { id: `sel-${key}`, "data-key": key, "aria-label": label });
  const set = (opts) => {
    sel.replaceChildren(
      ...opts.map(([v, t]) => h("option", { value: v, selected: String(state[key]) === String(v) }, t)),
    );
    if (!opts.some(([v]) => String(v) === String(state[key]))) sel.value = String(opts[0][0]);
    state[key] = typeof defaults[key] === "number" ? Number(sel.value) : sel.value;
  };
  set(options());
  sel.addEventListener("change", () => {
    state[key] = typeof defaults[key] === "number" ? Number(sel.value) : sel.value;
    save();
    onChange();
  });
  pickers.push(() => set(options()));
  return h("span", { class: "field" }, h("label", { for: sel.id }, label), sel);
}
const pickers = [];
const layerOptions = () => range(model().n_layer || 1).map((l) => [l, `layer ${l}`]);
const refillPickers = () => {
  for (const p of pickers) p();
};

export {
  $,
  attentionShown,
  busy,
  causal,
  defaults,
  kindOf,
  layerOptions,
  model,
  models,
  picker,
  prompt,
  promptError,
  ready,
  refillPickers,
  save,
  session,
  startRun,
  state,
  stop,
};
