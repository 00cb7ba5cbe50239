// /model: the whole model on one map, for the reader's text and the chosen model (both in the URL).
import { debounce, h, modelSelect } from "../lib/dom.js";
import { applyTeacherPresets, pageData, readState, writeState } from "../lib/state.js";
import { loadMapOrExample, mapFigure } from "../vis/model-map-figure.js";

const { models } = pageData();
const controls = document.getElementById("model-controls");
const figures = document.getElementById("model-figures");
const errorBox = document.getElementById("model-error");
const preferred = models.find((m) => m.name === "shakespeare-char") || models[0];
const defaults = { text: "ROMEO: But soft, what light", model: preferred?.name || "" };
let state = readState(defaults);
if (!models.some((m) => m.name === state.model)) state.model = defaults.model;
const set = (patch) => {
  state = { ...state, ...patch };
  writeState(state, defaults);
  refresh();
};

const input = h("input", {
  type: "text",
  id: "model-text",
  value: state.text,
  size: 40,
  maxlength: 400,
  "data-key": "text",
  "aria-label": "your text",
});
input.addEventListener(
  "input",
  debounce(() => set({ text: input.value }), 300),
);
const select = modelSelect(models, state.model, () => true, {
  id: "model-model",
  "data-key": "model",
  "aria-label": "model",
});
// a model that reads other inputs (digits for a translator) starts from its own example
select.addEventListener("change", () => {
  const [from, to] = [state.model, select.value].map((name) => models.find((m) => m.name === name));
  const text = to.example && from?.example !== to.example ? to.example : state.text;
  input.value = text;
  set({ model: select.value, text });
});
controls.append(
  h("label", { for: "model-text" }, "Your text"),
  input,
  h("label", { for: "model-model" }, "Model"),
  select,
);
applyTeacherPresets();

let generation = 0;
async function refresh() {
  const mine = ++generation;
  try {
    const model = models.find((m) => m.name === state.model);
    if (!model) throw new Error("No model is served.");
    const data = await loadMapOrExample(model, state.text);
    if (mine !== generation) return;
    if (data.fallback) {
      input.value = data.text; // the model cannot read the old text: its own example, in the URL too
      state = { ...state, text: data.text };
      writeState(state, defaults);
    }
    errorBox.hidden = true;
    figures.replaceChildren();
    mapFigure(figures, data, `?${new URLSearchParams({ model: state.model, text: data.text })}`);
  } catch (e) {
    if (mine !== generation) return;
    errorBox.textContent = e.message || String(e);
    errorBox.hidden = false;
  }
  document.body.dataset.ready = String(mine);
}
refresh();
