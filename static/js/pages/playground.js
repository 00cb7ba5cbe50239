// Playground: prompt, model, backend and sampler sliders; tokens stream in tinted by their probability;
// the sampler's stages redraw live while a slider moves; attention of every layer × head for the prompt,
// extended by each new token's row; PyTorch and NumPy side by side.
import { latestOnly, postJSON, streamEvents } from "../lib/api.js";
import { checked, debounce, fmt, h, modelSelect, pct, toast } from "../lib/dom.js";
import { range } from "../lib/math.js";
import { roving } from "../lib/roving.js";
import { applyTeacherPresets, hiddenPanels, locked, pageData, readState, writeState } from "../lib/state.js";
import { causalRows, render as grid, square } from "../vis/attngrid.js";
import { render as bars } from "../vis/bars.js";
import { closable, figure } from "../vis/figure.js";
import { render as headview } from "../vis/headview.js";
import { render as heatmap } from "../vis/heatmap.js";
import { render as samplerView } from "../vis/sampler.js";
import { readableTextColour, viridis } from "../vis/scales.js";
import { tabulate } from "../vis/table.js";
import { render as chips, tokenLabel } from "../vis/tokens.js";

// Every served model: a causal LM (GPT, LSTM) generates, an encoder-decoder translates, a masked LM fills.
const models = pageData().models;
const kindOf = (m) =>
  m?.architecture === "encoder-decoder" ? "translate" : m?.architecture === "encoder" ? "fill" : "generate";
const preferred = models.some((m) => m.name === "shakespeare-char")
  ? "shakespeare-char"
  : models[0]?.name || "";
const defaults = {
  prompt: "ROMEO:\nBut soft, what light",
  model: preferred,
  backend: "numpy",
  temperature: 0.8,
  top_k: 40,
  top_p: 0.95,
  penalty: 1,
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
if (state.prompt === defaults.prompt && model()?.task !== "lm" && model()?.example) {
  state.prompt = model().example;
}
const $ = (id) => document.getElementById(id);
const save = () => writeState(state, defaults);
const attentionPanel = !hiddenPanels().has("attention");
// attention rows exist only for a GPT; an LSTM streams without them
const attentionShown = () => attentionPanel && model()?.architecture === "gpt";
const causal = () => kindOf(model()) === "generate";
const ready = () => (document.body.dataset.ready ||= "1");

// ---- settings bar: model + card, backend, seed, side by side, share ---------------------------------
const select = modelSelect(models, state.model, () => true, {
  id: "model",
  "data-key": "model",
  "aria-label": "model",
});
const card = h("span", { class: "small muted", id: "model-card" });
const backendButtons = ["torch", "numpy"].map((b) =>
  h(
    "button",
    {
      type: "button",
      "data-key": "backend",
      "data-backend": b,
      "aria-pressed": String(state.backend === b),
      onclick: () => setBackend(b),
    },
    b === "torch" ? "PyTorch" : "NumPy",
  ),
);
const seed = h("input", {
  type: "number",
  id: "seed",
  min: 0,
  max: 4294967295,
  step: 1,
  value: state.seed,
  "data-key": "seed",
  "aria-label": "seed",
  class: "seed",
});
// several samples side by side: seeds s, s + 1, … streamed at once (the server batches them in one forward)
const samplesInput = h("input", {
  type: "number",
  id: "samples",
  min: 1,
  max: 8,
  step: 1,
  value: state.samples,
  "data-key": "samples",
  class: "short",
  title: "how many samples to stream at once, with seeds s, s + 1, …",
});
const sbs = h("input", {
  type: "checkbox",
  id: "sbs",
  "data-key": "sbs",
  checked: state.sbs,
  "aria-label": "run PyTorch and NumPy side by side",
});
$("pg-settings").append(
  h("span", { class: "field" }, h("label", { for: "model" }, "Model"), select),
  h(
    "span",
    { class: "field" },
    h("span", { class: "lbl", id: "backend-label" }, "Backend"),
    h("span", { class: "segmented", role: "group", "aria-labelledby": "backend-label" }, backendButtons),
  ),
  h("span", { class: "field" }, h("label", { for: "seed" }, "Seed"), seed),
  h("span", { class: "field" }, sbs, h("label", { for: "sbs" }, "Side by side")),
  h("span", { class: "field" }, h("label", { for: "samples" }, "Samples"), samplesInput),
  h(
    "button",
    {
      type: "button",
      class: "secondary",
      id: "share",
      "data-key": "share",
      onclick: copyLink,
      title: "copy a link to this view",
    },
    "Share link",
  ),
  card,
);
select.addEventListener("change", () => setModel(select.value));
seed.addEventListener("change", () => {
  state.seed = Math.max(0, Math.min(4294967295, Math.floor(Number(seed.value) || 0)));
  seed.value = state.seed;
  save();
});
samplesInput.addEventListener("change", () => {
  state.samples = Math.max(1, Math.min(8, Math.floor(Number(samplesInput.value) || 1)));
  samplesInput.value = state.samples;
  save();
});
sbs.addEventListener("change", () => {
  state.sbs = sbs.checked;
  save();
  cmpFig.root.hidden = !state.sbs;
  outFig.root.hidden = state.sbs;
});

function showCard() {
  const m = model();
  const loss = m.card?.validation?.loss ?? m.card?.val_loss;
  const shape =
    m.architecture === "lstm"
      ? `LSTM, ${m.n_layer} layers × ${m.n_hidden} hidden units`
      : `${m.architecture}, ${m.n_layer} layers × ${m.n_head} heads × ${m.n_embd}`;
  card.textContent =
    `${m.parameters.toLocaleString()} params · ${shape} · ` +
    `${m.tokenizer} tokenizer, ${m.vocab_size} tokens · context ${m.context}` +
    (loss !== undefined ? ` · validation loss ${fmt(loss, 3)} nats/token` : "");
}

async function copyLink() {
  try {
    await navigator.clipboard.writeText(location.href);
    toast("Link copied: it opens this view with these settings.");
  } catch {
    toast(`Copy this link: ${location.href}`, 8000);
  }
}

// ---- prompt and sliders --------------------------------------------------------------------------
const prompt = $("prompt");
prompt.value = state.prompt;
prompt.addEventListener(
  "input",
  debounce(() => {
    state.prompt = prompt.value;
    save();
    refreshPrompt();
  }, 300),
);

// Before Generate: the model's tokenizer reads the prompt (POST /api/tokenize); characters its vocabulary
// does not have are named beside the text box and Generate is disabled with that reason.
const fetchTokens = latestOnly((body, signal) => postJSON("/api/tokenize", body, { signal }));
let blocked = "";
function setBlocked(reason) {
  blocked = reason;
  const go = $("generate");
  go.title = reason ? `Generate is off: ${reason}` : "";
  if (reason) go.setAttribute("aria-describedby", "prompt-error");
  else go.removeAttribute("aria-describedby");
  promptError(reason ? new Error(reason) : null);
  busy(Boolean(run));
}
async function checkPrompt() {
  if (!causal()) {
    setBlocked("");
    return true;
  }
  try {
    const res = await fetchTokens({ model: state.model, text: prompt.value });
    if (!res) return false; // a newer check replaced this one
    setBlocked("");
    return true;
  } catch (e) {
    setBlocked(
      `${state.model} cannot read this prompt: ${e.message.replace(/^text: /, "")}. ` +
        "Remove or replace them to generate.",
    );
    return false;
  }
}
async function refreshPrompt() {
  if (kindOf(model()) === "fill") showMaskPicker();
  if (!causal()) ready(); // nothing to draw before Translate / Fill
  if (!(await checkPrompt())) return;
  if (causal()) {
    refreshSampler();
    refreshTrace();
  }
}

const SLIDERS = [
  ["temperature", "temperature", 0, 2, 0.05, (v) => (v === 0 ? "0 greedy" : fmt(v, 2))],
  ["top_k", "top-k", 0, null, 1, (v) => (v === 0 ? "off" : String(v))],
  ["top_p", "top-p", 0.05, 1, 0.05, (v) => (v >= 1 ? "1 off" : fmt(v, 2))],
  ["penalty", "repetition penalty", 1, 2, 0.05, (v) => (v === 1 ? "1 off" : fmt(v, 2))],
  ["max_tokens", "max tokens", 1, 1000, 1, String],
];
const sliders = {};
for (const [key, label, min, max, step, show] of SLIDERS) {
  const input = h("input", {
    type: "range",
    id: `s-${key}`,
    min,
    max: max ?? model().vocab_size,
    step,
    value: state[key],
    "data-key": key,
    "aria-label": label,
  });
  const out = h("output", { for: input.id, id: `o-${key}` }, show(state[key]));
  input.addEventListener("input", () => {
    state[key] = Number(input.value);
    out.textContent = show(state[key]);
    save();
    if (key !== "max_tokens") refreshSampler();
  });
  sliders[key] = { input, out, show };
  $("sliders").append(h("div", { class: "slider" }, h("label", { for: input.id }, label), input, out));
}

$("generate").addEventListener("click", () => generate());
$("beam").addEventListener("click", () => beamSearch());
$("stop").addEventListener("click", () => {
  if (run) announce.end(`Stopped after ${gen.events.length} tokens.`);
  stop();
});
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && !$("generate").disabled) {
    e.preventDefault();
    generate();
  }
});

function promptError(e) {
  const box = $("prompt-error");
  if (e && e.name === "AbortError") return;
  box.hidden = !e;
  box.textContent = e ? e.message || String(e) : "";
  if (e) ready();
}

// ---- sampler panel ---------------------------------------------------------------------------------
const samplerFig = figure($("sampler-box"), {
  title: "What the sampler did: the next token",
  name: "sampler",
});
const fetchSampler = latestOnly((body, signal) => postJSON("/api/sampler", body, { signal }));

async function refreshSampler() {
  const body = {
    model: state.model,
    prompt: state.prompt,
    backend: state.backend,
    temperature: state.temperature,
    top_k: state.top_k,
    top_p: state.top_p,
    repetition_penalty: state.penalty,
    n: innerWidth < 600 ? 10 : 16,
  };
  try {
    const res = await fetchSampler(body);
    if (!res) return;
    promptError(null);
    samplerView(samplerFig.body, res, {
      skip: new Set(state.penalty === 1 ? ["penalty"] : []),
      vocab: model().vocab_size,
    });
    samplerFig.setData({ request: body, response: res });
    samplerFig.root.dataset.drawn = JSON.stringify(body);
    samplerFig.setCaption(
      `${res.model} (${res.backend === "torch" ? "PyTorch" : "NumPy"}): the ${res.tokens.length} ` +
        "most likely next tokens after your prompt, through each stage of the sampler " +
        `(temperature ${body.temperature}, top-k ${body.top_k || "off"}, top-p ${body.top_p}, ` +
        `repetition penalty ${body.repetition_penalty}). Hatched bars were cut by that filter; ` +
        "kept = tokens still possible; H = entropy of the whole distribution. Generation samples from " +
        "the last column.",
    );
    ready();
  } catch (e) {
    promptError(e);
  }
}

// ---- output: streaming tokens and the hovered token's details -----------------------------------
const outFig = figure($("output-box"), { title: "Generated text", name: "generated" });
const text = h(
  "div",
  { class: "text-stream", id: "output" },
  h(
    "span",
    { class: "muted small" },
    "Press Generate (or Ctrl+Enter): the new tokens appear here as they are sampled.",
  ),
);
const legend = h(
  "div",
  { class: "legend" },
  "token probability:",
  ...[0, 0.25, 0.5, 0.75, 1].map((p) => {
    const sw = h("span", { class: "swatch", title: `p = ${p}` });
    sw.style.background = viridis(p);
    return [sw, String(p)];
  }),
  h("span", { class: "tok prompt" }, "prompt"),
);
const rowSelects = h("div", { class: "row" });
const detail = h("div", { class: "token-detail", id: "token-detail" });
outFig.body.append(text, legend, detail);
let gen = { prompt: [], events: [] };
tabulate(text, () => ({
  caption: "the generated tokens",
  columns: ["token", "text", "p (sampled, after the filters)", "p (the model alone)"],
  rows: gen.events.map((e) => [e.index, tokenLabel(e.token), e.prob, e.model_prob]),
}));

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
rowSelects.append(
  picker("rlayer", "Layer", layerOptions, () => showDetail(selected)),
  picker(
    "rhead",
    "Head",
    () => [["mean", "mean over heads"], ...range(model().n_head || 0).map((k) => [k, `head ${k}`])],
    () => showDetail(selected),
  ),
);

// A token of the text: a newline is a faint ↵ and then a real line break (the chip is white-space: pre-wrap
// and inline in the text), so generated text reads as text.
function chip(token, cls) {
  const parts = token.split("\n");
  const kids = parts.flatMap((p, i) =>
    i ? [h("span", { class: "nl", "aria-hidden": "true" }, "↵"), "\n", p] : [p],
  );
  return h("span", { class: `tok ${cls}` }, ...kids.filter((k) => k !== ""));
}

function addToken(target, e, i, interactive, startBefore = 0) {
  const c = chip(e.token, "gen");
  c.style.background = viridis(e.prob);
  c.style.color = readableTextColour(c.style.background);
  c.title = `token ${i}: ${JSON.stringify(e.token)} · p = ${e.prob} (model alone ${e.model_prob})`;
  c.dataset.index = i;
  if (e.window_start > startBefore) {
    // the context was full: the model read its newest tokens again from position 0
    c.classList.add("slid");
    c.title += ` · the window slid: the model now reads from token ${e.window_start} of the text`;
  }
  if (interactive) {
    // the generated tokens are one tab stop (a listbox): the first takes it, the arrow keys move on
    c.setAttribute("role", "option");
    c.setAttribute("aria-selected", "false");
    c.tabIndex = target.querySelector(".tok.gen") ? -1 : 0;
    c.addEventListener("mouseenter", () => showDetail(i));
    c.addEventListener("focus", () => showDetail(i));
  }
  target.append(c);
}

// The generated tokens of the output: a listbox after the prompt's chips.
function generatedList() {
  const list = h("span", {
    class: "gen-list",
    role: "listbox",
    "aria-orientation": "horizontal",
    "aria-label": "generated tokens: the arrow keys pick one for its candidates and attention",
  });
  roving(list, ".tok.gen");
  return list;
}

// Screen readers hear a generation start, its text about once a second (the last few tokens, never each
// token), and its end; the visible speed readout is not announced.
const announcer = $("stream-status");
const announce = {
  timer: 0,
  tokens: [],
  heard: 0,
  start(what) {
    this.stop();
    this.tokens = [];
    this.heard = 0;
    announcer.textContent = what;
  },
  token(t) {
    this.tokens.push(t);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), 1000);
  },
  flush() {
    this.timer = 0;
    const fresh = this.tokens.slice(this.heard);
    if (!fresh.length) return;
    this.heard = this.tokens.length;
    announcer.textContent = fresh.slice(-8).join("").replace(/\s+/g, " ").trim() || "(white space)";
  },
  // after `delay` ms, so that the last tokens are heard first
  end(what, delay = 0) {
    this.stop();
    if (delay) this.later = setTimeout(() => (announcer.textContent = what), delay);
    else announcer.textContent = what;
  },
  stop() {
    clearTimeout(this.timer);
    clearTimeout(this.later);
    this.timer = 0;
  },
};

let selected = null;
function showDetail(i) {
  const e = gen.events[i];
  if (!e) return;
  selected = i;
  for (const c of text.querySelectorAll(".tok.selected")) {
    c.classList.remove("selected");
    c.setAttribute("aria-selected", "false");
  }
  const picked = text.querySelector(`.tok.gen[data-index="${i}"]`);
  picked?.classList.add("selected");
  picked?.setAttribute("aria-selected", "true");
  const cand = h("div");
  const grid = bars(
    cand,
    e.candidates.map((c) => ({
      token: c.token,
      prob: c.prob,
      title: `${JSON.stringify(c.token)} (id ${c.id}): ${c.prob}${c.id === e.id ? " — sampled" : ""}`,
    })),
    { label: `top candidates for token ${i}`, digits: 2 },
  );
  const k = e.candidates.findIndex((c) => c.id === e.id);
  if (k >= 0) grid.children[3 * k].classList.add("chosen");
  const row = h("div");
  if (e.attention) {
    const keys = e.attention[0][0].length;
    const ctx = [...gen.prompt, ...gen.events.slice(0, i).map((x) => x.token)].slice(-keys);
    const heads = e.attention[Math.min(state.rlayer, e.attention.length - 1)];
    const w =
      state.rhead === "mean"
        ? heads[0].map((_, j) => heads.reduce((a, r) => a + r[j], 0) / heads.length)
        : heads[Number(state.rhead)];
    const max = Math.max(...w) || 1;
    const colours = w.map((v) => viridis(v / max));
    const who = state.rhead === "mean" ? "mean over heads" : `head ${state.rhead}`;
    chips(row, ctx, {
      colors: colours,
      inks: colours.map(readableTextColour),
      titles: w.map((v, j) => `key ${j} ${JSON.stringify(ctx[j])}: ${v}`),
      onSelect: (j) =>
        (outFig.readout.textContent =
          `token ${i} ${tokenLabel(e.token)} was predicted attending to key ${j} ${tokenLabel(ctx[j])} ` +
          `with weight ${fmt(w[j], 4)} (layer ${state.rlayer}, ${who})`),
    });
  } else
    row.append(
      h(
        "p",
        { class: "muted small" },
        model().architecture === "gpt"
          ? "Attention rows are not sent while the attention panel is hidden."
          : `${model().architecture.toUpperCase()}: no attention; its hidden state carries the past.`,
      ),
    );
  detail.replaceChildren(
    h(
      "div",
      {},
      h(
        "h4",
        {},
        `Token ${i} ${tokenLabel(e.token)}: p ${pct(e.prob, 2)} after the ` +
          `filters, ${pct(e.model_prob, 2)} under the model alone`,
      ),
      cand,
    ),
    h("div", {}, h("h4", {}, "The attention row that predicted it"), rowSelects, row),
  );
  outFig.readout.textContent =
    `token ${i}: ${JSON.stringify(e.token)} sampled with p = ${fmt(e.prob, 4)}; the model alone gave ` +
    `it ${fmt(e.model_prob, 4)}`;
}

// ---- generation ------------------------------------------------------------------------------------
let run = null;
// Generate and Stop disable each other: focus on the one that turns off moves to the other, never to the
// page body.
function busy(on) {
  const [go, halt] = [$("generate"), $("stop")];
  const had = document.activeElement;
  go.disabled = on || Boolean(blocked) || locked().has("generate");
  halt.disabled = !on;
  $("beam").disabled = on || Boolean(blocked);
  if ((had === go || had === $("beam")) && had.disabled && !halt.disabled) halt.focus();
  else if (had === halt && halt.disabled && !go.disabled) go.focus();
}
function stop() {
  run?.abort();
  run = null;
  busy(false);
}
function request(backend, attention) {
  return {
    model: state.model,
    prompt: state.prompt,
    backend,
    max_new_tokens: state.max_tokens,
    temperature: state.temperature,
    top_k: state.top_k,
    top_p: state.top_p,
    repetition_penalty: state.penalty,
    seed: state.seed,
    include_attention: attention,
  };
}
function speed(ms, done) {
  const avg = ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length);
  const tps = done ? done.tokens_per_s : 1000 / avg;
  return (
    `${ms.length} tokens · ${fmt(avg, 1)} ms/token · ${fmt(tps, 1)} tokens/s` +
    (done ? ` · first token ${fmt(done.ttft_ms, 1)} ms` : "")
  );
}

async function generate() {
  if (blocked) return;
  const kind = kindOf(model());
  if (kind === "translate") return translate();
  if (kind === "fill") return fill();
  if (state.sbs) return sideBySide();
  if (state.samples > 1) return samples();
  stop();
  const controller = new AbortController();
  run = controller;
  busy(true);
  state.prompt = prompt.value;
  save();
  const body = request(state.backend, attentionShown());
  gen = { prompt: [], events: [] };
  selected = null;
  const ms = [];
  text.replaceChildren();
  detail.replaceChildren();
  extraBox.replaceChildren();
  delete outFig.root.dataset.done;
  outFig.setData(gen);
  if (attentionShown()) await tracePromise?.catch(() => null);
  outFig.setCaption(
    `${state.model} on ${body.backend === "torch" ? "PyTorch" : "NumPy"}, seed ${body.seed}, ` +
      `temperature ${body.temperature}, top-k ${body.top_k || "off"}, top-p ${body.top_p}, repetition ` +
      `penalty ${body.repetition_penalty}. Each new token is tinted by the probability it was sampled ` +
      "with; hover or focus one for its candidates and attention.",
  );
  const list = generatedList();
  announce.start(`Generating up to ${body.max_new_tokens} tokens with ${state.model}.`);
  const onEvent = (name, d) => {
    if (name === "start") {
      gen.prompt = d.prompt_tokens;
      text.append(...d.prompt_tokens.map((t) => chip(t, "prompt")), list);
      if (
        trace &&
        trace.model === d.model &&
        JSON.stringify(trace.tokens) === JSON.stringify(d.prompt_tokens)
      ) {
        attn = { tokens: [...trace.tokens], rows: causalRows(trace.attention), live: true };
      } else attn = null;
    } else if (name === "token") {
      gen.events.push(d);
      ms.push(d.ms);
      addToken(list, d, d.index, true, gen.events[d.index - 1]?.window_start ?? 0);
      announce.token(d.token);
      $("speed").textContent = speed(ms);
      if (attn && d.index > 0 && d.attention && d.attention[0][0].length === attn.tokens.length + 1) {
        attn.tokens.push(gen.events[d.index - 1].token);
        for (const [l, layer] of d.attention.entries()) {
          for (const [hd, row] of layer.entries()) attn.rows[l][hd].push(row);
        }
        scheduleAttention();
      }
    } else if (name === "done") {
      $("speed").textContent = speed(ms, d);
      const flushed = announce.tokens.length > announce.heard;
      announce.flush();
      announce.end(`Done: ${d.n_tokens} tokens (${d.reason.replace("_", " ")}).`, flushed ? 1000 : 0);
      outFig.root.dataset.done = d.n_tokens;
      gen.done = d;
      text.append(
        h(
          "span",
          { class: "small muted end" },
          " ",
          checked(h("span", {}, String(d.n_tokens)), "done.n_tokens", d.n_tokens),
          ` tokens (${d.reason}${d.stop == null ? "" : ` at ${JSON.stringify(d.stop)}`})`,
        ),
      );
    } else if (name === "error") {
      announce.end(`Error: ${d.message}`);
      promptError(new Error(d.message));
    }
  };
  try {
    await streamEvents("/api/generate", body, { signal: controller.signal, onEvent });
  } catch (e) {
    promptError(e);
  } finally {
    if (run === controller) stop();
    if (attn) attn.live = false;
    scheduleAttention();
  }
  if (model().architecture === "lstm" && gen.done) lstmGates(); // a whole stream, not a stopped one
}

// After an LSTM's stream: its forget gate over the text it read (POST /api/trace, layer 0), one chip per
// token tinted by the mean of its units — near 1 the cell keeps its memory, near 0 it forgets.
async function lstmGates() {
  const m = model();
  const tokens = [...gen.prompt, ...gen.events.map((e) => e.token)].slice(-m.context);
  const body = { model: m.name, text: tokens.join(""), backend: state.backend, layer: 0 };
  try {
    const res = await postJSON("/api/trace", body);
    const forget = res.lstm.gates.forget_gate.map((r) => r.reduce((a, b) => a + b, 0) / r.length);
    const fig = figure(extraBox, { title: "LSTM forget gate over the text", name: "lstm-gates" });
    fig.root.id = "lstm-gates";
    const strip = h("div", { class: "text-stream" });
    fig.body.append(strip);
    chips(strip, res.tokens, {
      colors: forget.map((f) => viridis(f)),
      titles: forget.map((f, t) => `token ${t} ${JSON.stringify(res.tokens[t])}: mean forget gate ${f}`),
    });
    fig.setCaption(
      `${m.name}, layer 0, on the last ${res.tokens.length} tokens (prompt and generated): ` +
        "each token tinted " +
        `by its forget gate f = σ(·) averaged over the ${res.lstm.n_hidden} units; near 1 the cell state ` +
        "keeps what it held, near 0 it lets it go.",
    );
    fig.setData({ tokens: res.tokens, mean_forget_gate: forget });
  } catch (e) {
    promptError(e);
  }
}

// ---- side by side: the same request on PyTorch, then on NumPy, and the traces' largest differences --
const cmpFig = figure($("compare-box"), { title: "PyTorch | NumPy side by side", name: "backends" });
cmpFig.root.hidden = !state.sbs;
outFig.root.hidden = state.sbs;
cmpFig.body.append(
  h(
    "p",
    { class: "muted small" },
    "Press Generate: the same prompt, seed and settings run on both backends, one after the other.",
  ),
);

async function sideBySide() {
  stop();
  const controller = new AbortController();
  run = controller;
  busy(true);
  state.prompt = prompt.value;
  save();
  const texts = {};
  const cols = h("div", { class: "grid cols-2" });
  const verdict = h("div", { class: "stack" });
  cmpFig.body.replaceChildren(cols, verdict);
  cmpFig.setCaption(
    `${state.model}, seed ${state.seed}, temperature ${state.temperature}, ` +
      `top-k ${state.top_k || "off"}, top-p ${state.top_p}: sampling is done once, in NumPy, from each ` +
      "backend's logits, so equal seeds give equal text when the logits agree.",
  );
  try {
    for (const b of ["torch", "numpy"]) {
      const out = h("div", { class: "text-stream" });
      const stats = h("p", { class: "mono small" });
      cols.append(
        h("section", { "data-backend": b }, h("h4", {}, b === "torch" ? "PyTorch" : "NumPy"), out, stats),
      );
      const ms = [];
      let windowStart = 0;
      texts[b] = "";
      await streamEvents("/api/generate", request(b, false), {
        signal: controller.signal,
        onEvent: (name, d) => {
          if (name === "start") out.append(...d.prompt_tokens.map((t) => chip(t, "prompt")));
          else if (name === "token") {
            ms.push(d.ms);
            texts[b] += d.text;
            addToken(out, d, d.index, false, windowStart);
            windowStart = d.window_start;
            stats.textContent = speed(ms);
          } else if (name === "done") stats.textContent = speed(ms, d);
          else if (name === "error") stats.textContent = d.message;
        },
      });
    }
    const diff = await postJSON(
      "/api/compare-backends",
      { model: state.model, text: state.prompt },
      { signal: controller.signal },
    );
    cmpFig.setData({ texts, compare: diff });
    const same = texts.torch === texts.numpy;
    verdict.append(
      h(
        "p",
        { class: same ? "ok" : "error", id: "same-text" },
        same ? "The two generated texts are identical." : "The generated texts differ.",
      ),
      h(
        "p",
        { class: "small" },
        `One traced forward of the ${diff.tokens}-token prompt: `,
        diff.timings
          .map((t) => `${t.backend === "torch" ? "PyTorch" : "NumPy"} ${fmt(t.ms, 1)} ms`)
          .join(" · "),
      ),
      h(
        "table",
        { class: "data" },
        h(
          "thead",
          {},
          h("tr", {}, h("th", {}, "trace tensor"), h("th", { class: "num" }, "max |NumPy − PyTorch|")),
        ),
        h(
          "tbody",
          {},
          Object.entries(diff.max_abs_diff).map(([k, v]) =>
            h(
              "tr",
              {},
              h("td", { class: "mono" }, k),
              h(
                "td",
                { class: "num" },
                checked(h("span", { title: String(v) }, v.toExponential(2)), `compare.max_abs_diff.${k}`, v),
              ),
            ),
          ),
        ),
      ),
    );
  } catch (e) {
    promptError(e);
  } finally {
    if (run === controller) stop();
  }
}

// ---- attention panel: head view, layer × head grid, the enlarged cell ----------------------------
const attBox = $("attention-box");
let trace = null;
let attn = null;
let tracePromise = null;
const fetchTrace = latestOnly((body, signal) => postJSON("/api/trace", body, { signal }));
const attControls = h(
  "div",
  { class: "card row", "aria-label": "attention panel settings" },
  h("h2", {}, "Attention"),
  picker("layer", "Head view layer", layerOptions, () => drawAttention()),
  picker(
    "head",
    "Heads",
    () => [["all", "all heads"], ...range(model().n_head || 0).map((k) => [k, `head ${k}`])],
    () => drawAttention(),
  ),
);
attBox.append(attControls);
const attRow = h("div", { class: "att-row" });
attBox.append(attRow);
const hvFig = figure(attRow, { title: "Head view", name: "head-view" });
const gridFig = figure(attRow, { title: "Every layer × head", name: "attention-grid" });
const zoomFig = figure(attBox, { title: "Layer, head", name: "attention-cell" });
closable(zoomFig, () => setZoom("")).id = "zoom-close";

function refreshTrace() {
  attBox.hidden = !attentionShown();
  if (!attentionShown()) return;
  const body = { model: state.model, text: state.prompt, backend: state.backend };
  tracePromise = fetchTrace(body).then((t) => {
    if (!t) return;
    trace = t;
    if (!run) {
      attn = { tokens: [...t.tokens], rows: causalRows(t.attention) };
      drawAttention();
    }
  }, promptError);
}

let drawTimer = 0;
function scheduleAttention() {
  if (drawTimer) return;
  drawTimer = setTimeout(() => {
    drawTimer = 0;
    drawAttention();
  }, 250);
}

// Opening a thumbnail moves focus into the enlarged heatmap; closing it (Close or Escape) moves focus back
// to that thumbnail.
function setZoom(z) {
  const was = state.zoom;
  state.zoom = z;
  save();
  drawAttention();
  if (z) {
    zoomFig.body.querySelector("svg")?.focus({ preventScroll: true });
    zoomFig.root.scrollIntoView({ block: "nearest" });
  } else if (was) {
    const [l, hd] = was.split(".");
    gridFig.body.querySelector(`.thumb[data-layer="${l}"][data-head="${hd}"]`)?.focus();
  }
}

// The panel is drawn again as tokens stream in: a focused thumbnail, query or enlarged view keeps the focus.
function drawAttention() {
  if (!attn) return;
  const focused = document.activeElement;
  const again = focused && attBox.contains(focused) ? focusAgain(focused) : null;
  draw();
  again?.();
}

function focusAgain(el) {
  const thumb = el.closest?.(".thumb");
  const query = el.closest?.("[data-q]");
  const inZoom = zoomFig.body.contains(el);
  return () => {
    let target = null;
    if (thumb)
      target = gridFig.body.querySelector(
        `.thumb[data-layer="${thumb.dataset.layer}"][data-head="${thumb.dataset.head}"]`,
      );
    else if (query) target = hvFig.body.querySelector(`[role=option][data-q="${query.dataset.q}"]`);
    else if (inZoom) target = zoomFig.body.querySelector("svg");
    if (target && target !== document.activeElement) target.focus({ preventScroll: true });
  };
}

function draw() {
  const L = attn.rows.length;
  const H = attn.rows[0].length;
  const T = attn.tokens.length;
  const layer = Math.min(state.layer, L - 1);
  const what =
    attn.live || T > (trace?.tokens.length ?? T)
      ? `your prompt and ${T - trace.tokens.length} generated tokens`
      : "your prompt";
  headview(
    hvFig.body,
    {
      tokens: attn.tokens,
      attention: attn.rows[layer],
      heads: state.head === "all" ? null : [Number(state.head)],
    },
    { readout: hvFig.readout, pinned: attn.live ? T - 1 : null, label: `head view, layer ${layer}` },
  );
  hvFig.setTitle(`Head view · layer ${layer}`);
  const heads = state.head === "all" ? "all heads (one colour each)" : `head ${state.head}`;
  hvFig.setCaption(
    `${state.model}, layer ${layer}, ${heads}, ` +
      `on ${what}. Each line joins a query (left) to a key (right); its opacity is the weight. ` +
      "Hover or focus a token on the left to see only its lines.",
  );
  const [zl, zh] = state.zoom ? state.zoom.split(".").map(Number) : [-1, -1];
  const size = Math.max(44, Math.min(84, Math.floor((Math.min(innerWidth, 700) - 110) / H) - 8));
  grid(gridFig.body, attn, {
    readout: gridFig.readout,
    onOpen: (l, hd) => setZoom(`${l}.${hd}`),
    selected: [zl, zh],
    size,
  });
  gridFig.setCaption(
    `${state.model}: ${L} layers × ${H} heads on ${what}; row = query, column = key, hatched = ` +
      "masked (a key after the query). Each thumbnail is scaled to its own largest weight; " +
      "hover for values, click or press Enter to enlarge.",
  );
  gridFig.setData({ tokens: attn.tokens, attention: attn.rows });
  const open = zl >= 0 && zl < L && zh < H;
  zoomFig.root.hidden = !open;
  if (open) {
    heatmap(
      zoomFig.body,
      { matrix: square(attn.rows[zl][zh], T), rows: attn.tokens, cols: attn.tokens },
      {
        readout: zoomFig.readout,
        values: true,
        label: `attention of layer ${zl}, head ${zh}`,
        describe: (i, j, v) =>
          `query ${i} ${JSON.stringify(attn.tokens[i])} → ` +
          `key ${j} ${JSON.stringify(attn.tokens[j])}: ${v === null ? "masked (a later key)" : fmt(v, 4)}`,
      },
    );
    zoomFig.setTitle(`Layer ${zl}, head ${zh}`);
    zoomFig.setCaption(
      `${state.model}, layer ${zl}, head ${zh}, on ${what}: softmax(q·k/√d) per query row; ` +
        "each row sums to 1; hatched = masked.",
    );
    zoomFig.setData({ layer: zl, head: zh, tokens: attn.tokens, rows: attn.rows[zl][zh] });
  }
}

// ---- other architectures: an encoder-decoder translates, a masked LM fills -----------------------------
const extraBox = h("div", { class: "stack", id: "arch-box" });
$("output-box").after(extraBox);

// One run of a non-streaming call: Generate turns into Stop meanwhile, the output figure is marked done.
async function once(what, call) {
  stop();
  const controller = new AbortController();
  run = controller;
  busy(true);
  state.prompt = prompt.value;
  save();
  text.replaceChildren();
  detail.replaceChildren();
  extraBox.replaceChildren();
  delete outFig.root.dataset.done;
  announce.start(what);
  try {
    const n = await call(controller.signal);
    promptError(null);
    outFig.root.dataset.done = n;
    announce.end(`Done: ${what}`);
  } catch (e) {
    promptError(e);
    announce.end(`Error: ${e.message}`);
  } finally {
    if (run === controller) stop();
    if (kindOf(model()) === "fill") showMaskPicker();
  }
}

const words = (tokens) => tokens.map((t) => tokenLabel(t)).join(" ");

function translate() {
  const body = { model: state.model, source: state.prompt.trim(), num_beams: 4, backend: state.backend };
  return once(`translating ${body.source} with ${state.model}`, async (signal) => {
    const res = await postJSON("/api/translate", body, { signal });
    outFig.setData({ request: body, response: res });
    outFig.setCaption(
      `${res.model}: the encoder reads the source ${JSON.stringify(body.source)}; the decoder writes one ` +
        "word at a time. Greedy takes the most likely word each step; beam search keeps the " +
        `${body.num_beams} best partial translations.`,
    );
    text.append(
      h("p", {}, "Greedy: ", h("strong", { id: "translation" }, res.greedy.text)),
      h("p", {}, "Best beam: ", h("strong", { id: "best-beam" }, res.best.text)),
      res.reference ? h("p", { class: "muted" }, `The right words: ${res.reference}`) : "",
    );
    beamSteps(
      res.steps.map((st) => ({ step: st.step, beams: st.beams, finished: st.finished })),
      `${res.model}: the live beams after each decoder step (best first), with their log-probabilities.`,
    );
    // cross-attention of the greedy output: the last decoder layer, mean over heads
    const layers = res.cross_attention;
    const heads = layers[layers.length - 1];
    const T = heads[0].length;
    const matrix = range(T).map((t) =>
      heads[0][t].map((_, j) => heads.reduce((a, hd) => a + hd[t][j], 0) / heads.length),
    );
    const targets = res.greedy.tokens.slice(0, T);
    while (targets.length < T) targets.push(`#${targets.length}`);
    const fig = figure(extraBox, { title: "Cross-attention", name: "cross-attention" });
    fig.root.id = "cross-attention";
    heatmap(
      fig.body,
      { matrix, rows: targets, cols: res.source_tokens },
      {
        readout: fig.readout,
        values: true,
        label: "cross-attention: target words by source tokens",
        describe: (i, j, v) =>
          `${JSON.stringify(targets[i])} read source ${JSON.stringify(res.source_tokens[j])}: ${fmt(v, 4)}`,
      },
    );
    fig.setCaption(
      `${res.model}, last decoder layer (${layers.length - 1}), mean over ${heads.length} heads: row = ` +
        "the query that wrote that word of the greedy output, column = a source token; each row sums to 1.",
    );
    fig.setData({ targets, sources: res.source_tokens, matrix });
    return res.greedy.tokens.length;
  });
}

// Beams step by step: a slider picks the step, a list shows its beams.
function beamSteps(steps, caption) {
  const fig = figure(extraBox, { title: "Beam search, step by step", name: "beams" });
  fig.root.id = "beam-steps";
  const slider = h("input", {
    type: "range",
    id: "beam-step",
    min: 0,
    max: steps.length - 1,
    step: 1,
    value: steps.length - 1,
    "aria-label": "beam search step",
  });
  const out = h("output", { for: "beam-step" });
  const list = h("ol", { class: "beams", id: "beam-list" });
  const show = () => {
    const st = steps[Number(slider.value)];
    out.textContent = `step ${st.step}`;
    list.replaceChildren(
      ...st.beams.map((b) =>
        h(
          "li",
          { "data-logprob": b.logprob },
          h("span", { class: "mono beam-text" }, b.text ?? words(b.tokens)),
          h("span", { class: "muted small" }, ` log p ${fmt(b.logprob, 3)} · score ${fmt(b.score, 3)}`),
          b.finished ? h("span", { class: "small" }, " (finished)") : "",
        ),
      ),
      ...(st.finished || []).map((b) =>
        h(
          "li",
          { class: "muted" },
          h("span", { class: "mono beam-text" }, b.text ?? words(b.tokens)),
          " finished",
        ),
      ),
    );
  };
  slider.addEventListener("input", show);
  fig.body.append(h("div", { class: "slider" }, h("label", { for: "beam-step" }, "Step"), slider, out), list);
  fig.setCaption(caption);
  fig.setData(steps);
  show();
  return fig;
}

// The masked LM: click characters of the prompt to hide them, then Fill asks for each hidden position's
// candidates (POST /api/fill-mask).
const masked = new Set();
function showMaskPicker() {
  const chars = [...prompt.value];
  for (const i of masked) if (i >= chars.length) masked.delete(i);
  const bar = h("div", {
    class: "mask-picker",
    id: "mask-picker",
    role: "toolbar",
    "aria-label": "the prompt's characters: press one to hide it from the model (Fill predicts it)",
  });
  chars.forEach((c, i) => {
    const b = h(
      "button",
      {
        type: "button",
        class: "tok mask-char",
        "data-pos": i,
        "aria-pressed": String(masked.has(i)),
        "aria-label": `${i}: ${tokenLabel(c)}`,
        onclick: () => {
          if (masked.has(i)) masked.delete(i);
          else masked.add(i);
          b.setAttribute("aria-pressed", String(masked.has(i)));
        },
      },
      tokenLabel(c),
    );
    bar.append(b);
  });
  roving(bar, "button");
  text.replaceChildren(h("p", { class: "muted small" }, "Press characters to mask them, then Fill:"), bar);
}

const wasText = (o) => (o == null ? "a mask" : `${tokenLabel(o.token)} (p ${fmt(o.prob, 3)})`);

function fill() {
  const body = {
    model: state.model,
    text: prompt.value,
    positions: [...masked].sort((a, b) => a - b),
    top_k: 5,
    backend: state.backend,
  };
  return once(`filling ${body.positions.length} masked positions with ${state.model}`, async (signal) => {
    const res = await postJSON("/api/fill-mask", body, { signal });
    outFig.setData({ request: body, response: res });
    outFig.setCaption(
      `${res.model} reads the whole text at once (both directions) with the chosen characters hidden ` +
        `behind ${JSON.stringify(res.mask_token)}, and predicts each hidden one.`,
    );
    const fig = figure(extraBox, { title: "Candidates at each masked position", name: "fill-mask" });
    fig.root.id = "fill-candidates";
    for (const m of res.masked) {
      const cell = h("div", { class: "masked-pos", "data-pos": m.position });
      cell.append(h("h4", {}, `position ${m.position}: was ${wasText(m.original)}`));
      bars(
        cell,
        m.candidates.map((c) => ({
          token: c.token,
          prob: c.prob,
          title: `${JSON.stringify(c.token)}: ${c.prob}`,
        })),
        { label: `candidates for position ${m.position}`, digits: 3 },
      );
      fig.body.append(cell);
    }
    fig.setCaption(
      `${res.model}: the top ${body.top_k} candidates for each hidden position, most likely first.`,
    );
    fig.setData(res.masked);
    extraBox.prepend(
      h(
        "p",
        { id: "filled-wrap" },
        "Filled: ",
        h("span", { class: "mono filled", id: "filled" }, res.filled),
      ),
    );
    return res.masked.length;
  });
}

// ---- several samples: n streams with seeds s, s + 1, … at once, one column each ------------------------
async function samples() {
  stop();
  const controller = new AbortController();
  run = controller;
  busy(true);
  state.prompt = prompt.value;
  save();
  text.replaceChildren();
  detail.replaceChildren();
  extraBox.replaceChildren();
  delete outFig.root.dataset.done;
  const n = state.samples;
  const fig = figure(extraBox, { title: `${n} samples side by side`, name: "samples" });
  fig.root.id = "samples";
  const cols = h("div", { class: "samples-grid" });
  fig.body.append(cols);
  fig.setCaption(
    `${state.model}: the same prompt and settings with seeds ${state.seed} … ${state.seed + n - 1}, ` +
      "streamed at once (the server runs them in one batched forward per step). Each token is tinted " +
      "by the probability it was sampled with.",
  );
  text.append(h("p", { class: "muted small" }, `${n} samples: see below.`));
  announce.start(`Generating ${n} samples with ${state.model}.`);
  const texts = [];
  const one = async (k) => {
    const body = { ...request(state.backend, false), seed: state.seed + k };
    const out = h("div", { class: "text-stream sample", "data-seed": body.seed });
    const stats = h("p", { class: "mono small" });
    cols.append(h("section", { class: "sample-col" }, h("h4", {}, `seed ${body.seed}`), out, stats));
    let windowStart = 0;
    const ms = [];
    texts[k] = [];
    await streamEvents("/api/generate", body, {
      signal: controller.signal,
      onEvent: (name, d) => {
        if (name === "start") out.append(...d.prompt_tokens.map((t) => chip(t, "prompt")));
        else if (name === "token") {
          ms.push(d.ms);
          texts[k].push(d.token);
          addToken(out, d, d.index, false, windowStart);
          windowStart = d.window_start;
          stats.textContent = speed(ms);
        } else if (name === "done") {
          stats.textContent = speed(ms, d);
          out.dataset.done = d.n_tokens;
        } else if (name === "error") stats.textContent = d.message;
      },
    });
  };
  try {
    await Promise.all(range(n).map(one));
    fig.setData({ seeds: range(n).map((k) => state.seed + k), tokens: texts });
    outFig.root.dataset.done = texts.reduce((a, t) => a + t.length, 0);
    announce.end(`Done: ${n} samples.`);
  } catch (e) {
    promptError(e);
  } finally {
    if (run === controller) stop();
  }
}

// ---- beam search for a causal LM: every step's beams (POST /api/beam) ----------------------------------
function beamSearch() {
  if (blocked || !causal()) return;
  const body = {
    model: state.model,
    prompt: prompt.value,
    backend: state.backend,
    num_beams: 4,
    max_new_tokens: Math.min(state.max_tokens, 40),
  };
  return once(`beam search with ${state.model}`, async (signal) => {
    const res = await postJSON("/api/beam", body, { signal });
    outFig.setData({ request: body, response: res });
    outFig.setCaption(
      `${res.model}: beam search keeps the ${body.num_beams} most likely continuations at each step ` +
        `(up to ${body.max_new_tokens} tokens); no sampling, so no seed.`,
    );
    text.append(
      h("p", {}, "Best beam: ", h("span", { class: "mono beam-best", id: "best-beam" }, res.best.text)),
    );
    beamSteps(
      res.steps,
      `${res.model}: the live beams after each step, best first, with their log-probabilities.`,
    );
    return res.steps.length;
  });
}

// ---- model and backend ----------------------------------------------------------------------------
function setBackend(b) {
  state.backend = b;
  save();
  for (const btn of backendButtons) btn.setAttribute("aria-pressed", String(btn.dataset.backend === b));
  refreshSampler();
  refreshTrace();
}

function setModel(name) {
  stop();
  const before = model();
  state.model = name;
  const m = model();
  if (m.example && (kindOf(before) !== kindOf(m) || before?.task !== m.task)) {
    state.prompt = prompt.value = m.example; // a text this model's vocabulary reads
  }
  const k = sliders.top_k;
  k.input.max = m.vocab_size;
  state.top_k = Math.min(state.top_k, m.vocab_size);
  k.input.value = state.top_k;
  k.out.textContent = k.show(state.top_k);
  for (const p of pickers) p();
  save();
  showCard();
  text.replaceChildren();
  detail.replaceChildren();
  adapt();
  refreshPrompt();
}

// The page adapts to the model's architecture: the sampler and sliders for a causal LM, attention for a GPT.
function adapt() {
  const kind = kindOf(model());
  $("sampler-box").hidden = kind !== "generate";
  $("sampler-box").classList.toggle("hidden", kind !== "generate");
  $("sliders").hidden = kind !== "generate";
  attBox.hidden = !attentionShown();
  extraBox.replaceChildren();
  $("generate").textContent = { generate: "Generate", translate: "Translate", fill: "Fill" }[kind];
  $("beam").hidden = kind !== "generate";
  outFig.root.hidden = state.sbs && kind === "generate";
  cmpFig.root.hidden = !(state.sbs && kind === "generate");
  if (kind === "fill") showMaskPicker();
}

showCard();
applyTeacherPresets();
busy(false);
if (!models.length) promptError(new Error("No model is served."));
else {
  adapt();
  refreshPrompt();
}
