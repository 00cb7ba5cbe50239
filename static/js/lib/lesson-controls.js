// The controls that lesson steps share: <select> pickers in the lesson bar, the layer and head
// pickers clamped to the chosen model, and the token index a picker stands for.

import { tokenLabel } from "../vis/tokens.js";
import { h } from "./dom.js";
import { range } from "./math.js";

// A <select> in the lesson controls; its options are filled in render (they depend on model and text).
export function addPicker(ctx, key, label) {
  const id = `lesson-${key}`;
  const sel = h("select", { id, "data-key": key, "aria-label": label });
  sel.addEventListener("change", () => ctx.set({ [key]: Number(sel.value) }));
  ctx.controls.append(h("label", { for: id }, label), sel);
}

// Replace the options of the picker `key` with [value, text] pairs and select `value`.
export function fillPicker(key, options, value) {
  const sel = document.getElementById(`lesson-${key}`);
  if (sel)
    sel.replaceChildren(
      ...options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
    );
}

// A token picker's options: "index: token" for every token of the text.
export const tokenPickerOptions = (tokens) => tokens.map((t, i) => [i, `${i}: ${tokenLabel(t)}`]);

export function addLayerHeadPickers(ctx) {
  addPicker(ctx, "layer", "Layer");
  addPicker(ctx, "head", "Head");
}

// The state's layer and head, clamped to the chosen model; the pickers show them.
export function clampedLayerHead(ctx, state) {
  const m = ctx.model();
  const layer = Math.min(Math.max(0, state.layer), m.n_layer - 1);
  const head = Math.min(Math.max(0, state.head), m.n_head - 1);
  fillPicker(
    "layer",
    range(m.n_layer).map((i) => [i, String(i)]),
    layer,
  );
  fillPicker(
    "head",
    range(m.n_head).map((i) => [i, String(i)]),
    head,
  );
  return { layer, head };
}

// A token index from the state, or the last of T tokens where it is out of range (-1, the default, means
// last).
export const tokenIndexOrLast = (index, T) => (index >= 0 && index < T ? index : T - 1);
