// The small map in every lesson's head (#lesson-map): the chosen model's parts as tiny boxes, this step's
// place lit (every part for a step about the whole model), linking to the whole map at /model. Folded on
// narrow screens so that it never pushes the lesson down.
import { postJSONCached } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { render, shortName } from "../vis/model-map.js";

const NARROW = "(max-width: 700px)";

// The ids of the parts `slug` teaches, "all" for a step about the whole model.
export function litParts(map, slug) {
  if (map.whole_model_steps.includes(slug)) return "all";
  return new Set(map.stacks.flatMap((st) => st.parts.filter((p) => p.steps.includes(slug)).map((p) => p.id)));
}

function placeName(map, lit) {
  if (lit === "all") return "the whole model";
  const names = [];
  for (const st of map.stacks)
    for (const p of st.parts) {
      const name = shortName(p).replace("+ add", "residual add");
      if (lit.has(p.id) && !names.includes(name)) names.push(name);
    }
  return names.length ? names.join(", ") : "no single part";
}

export async function drawLessonMap(slug, model, text) {
  const slot = document.getElementById("lesson-map");
  if (!slot || !model) return;
  try {
    const map = await postJSONCached("/api/model-map", { model: model.name, text: model.example || text });
    const lit = litParts(map, slug);
    const where = placeName(map, lit);
    const figure = h("span", { class: "lesson-map-figure" });
    render(figure, map, { mini: true, lit });
    const q = new URLSearchParams({ model: model.name, text });
    const link = h(
      "a",
      { href: `/model?${q}`, class: "lesson-map-link" },
      figure,
      h("span", { class: "small" }, `This step: ${where}. Open the whole map of ${model.name} →`),
    );
    const old = slot.querySelector("details");
    const open = old ? old.open : !matchMedia(NARROW).matches;
    const details = h("details", { open }, h("summary", {}, "Where this step sits in the model"), link);
    slot.dataset.lit = lit === "all" ? "all" : [...lit].join(" ");
    slot.replaceChildren(details);
  } catch {
    slot.replaceChildren(); // no map for a model the server cannot describe; the lesson itself goes on
  }
}
