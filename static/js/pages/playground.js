// Playground: prompt, model, backend and sampler sliders; tokens stream in tinted by their probability;
// the sampler's stages redraw live while a slider moves; attention of every layer × head for the prompt,
// extended by each new token's row; PyTorch and NumPy side by side.
// This entry builds the settings bar, the prompt and the sliders, and wires the panels of playground/:
// state.js (URL state, helpers), output.js (sampler panel, generated text), generate.js (the stream),
// architectures.js (translate, fill), samples.js (several samples, beam search), side-by-side.js,
// attention-panel.js.
import { latestOnly, postJSON } from "../lib/api.js";
import { debounce, fmt, h, modelSelect, toast } from "../lib/dom.js";
import { cardValidationLoss } from "../lib/metrics.js";
import { applyTeacherPresets, hiddenPanels } from "../lib/state.js";
import { extraBox, showMaskPicker } from "./playground/architectures.js";
import { attBox, mountAttentionPanel, refreshTrace } from "./playground/attention-panel.js";
import { generate } from "./playground/generate.js";
import { announce, detail, outFig, refreshSampler, text } from "./playground/output.js";
import { beamSearch } from "./playground/samples.js";
import { cmpFig } from "./playground/side-by-side.js";
import {
  $,
  attentionShown,
  busy,
  causal,
  kindOf,
  model,
  models,
  prompt,
  promptError,
  ready,
  refillPickers,
  save,
  session,
  state,
  stop,
} from "./playground/state.js";

mountAttentionPanel();

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

// What the card says the model is good for: held-out exact match for a task model (its loss is ~0 and
// says nothing), masked-token loss for a masked LM, validation loss for a language model.
function quality(m) {
  const exact = m.card?.accuracy?.test?.exact_match;
  if (exact !== undefined) return ` · held-out exact match ${fmt(100 * exact, 2)} %`;
  const loss = cardValidationLoss(m.card);
  if (loss === undefined) return "";
  return m.task === "mlm"
    ? ` · masked-token loss ${fmt(loss, 3)} nats`
    : ` · validation loss ${fmt(loss, 3)} nats/token`;
}

function showCard() {
  const m = model();
  const shape =
    m.architecture === "lstm"
      ? `LSTM, ${m.n_layer} layers × ${m.n_hidden} hidden units`
      : `${m.architecture}, ${m.n_layer} layers × ${m.n_head} heads × ${m.n_embd}`;
  card.textContent =
    `${m.parameters.toLocaleString()} params · ${shape} · ` +
    `${m.tokenizer} tokenizer, ${m.vocab_size} tokens · context ${m.context}${quality(m)}`;
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
prompt.value = state.text;
prompt.addEventListener(
  "input",
  debounce(() => {
    state.text = prompt.value;
    save();
    refreshPrompt();
  }, 300),
);

// Before Generate: the model's tokenizer reads the prompt (POST /api/tokenize); characters its vocabulary
// does not have are named beside the text box and Generate is disabled with that reason.
const fetchTokens = latestOnly((body, signal) => postJSON("/api/tokenize", body, { signal }));
function setBlocked(reason) {
  session.blocked = reason;
  const go = $("generate");
  go.title = reason ? `Generate is off: ${reason}` : "";
  if (reason) go.setAttribute("aria-describedby", "prompt-error");
  else go.removeAttribute("aria-describedby");
  promptError(reason ? new Error(reason) : null);
  busy(Boolean(session.run));
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
  ["repetition_penalty", "repetition penalty", 1, 2, 0.05, (v) => (v === 1 ? "1 off" : fmt(v, 2))],
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
  if (session.run) announce.end(`Stopped after ${session.gen.events.length} tokens.`);
  stop();
});
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && !$("generate").disabled) {
    e.preventDefault();
    generate();
  }
});

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
    state.text = prompt.value = m.example; // a text this model's vocabulary reads
  }
  const k = sliders.top_k;
  k.input.max = m.vocab_size;
  state.top_k = Math.min(state.top_k, m.vocab_size);
  k.input.value = state.top_k;
  k.out.textContent = k.show(state.top_k);
  refillPickers();
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
  $("sampler-box").classList.toggle("hidden", kind !== "generate" || hiddenPanels().has("sampler"));
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
