// The whole-model map as a figure, shared by /model and the first lesson step: the map of the chosen model
// with its real shapes (POST /api/model-map), and what each part computed for the reader's text
// (POST /api/trace), shown beside the map when a part is hovered or focused.
import { postJSON, postJSONCached } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { figure } from "./figure.js";
import { liveText, render, shortName } from "./model-map.js";
import { tabulate } from "./table.js";

export async function loadMap(model, text) {
  const [map, trace] = await Promise.all([
    postJSON("/api/model-map", { model, text }),
    postJSONCached("/api/trace", { model, text, layer: 0, head: 0 }),
  ]);
  return { map, trace };
}

// Draw into `parent`; `query` is the reader's state carried into each part's lesson link.
export function mapFigure(parent, { map, trace }, query = "") {
  const parts = map.stacks.flatMap((st) => st.parts.map((p) => ({ part: p, stack: st })));
  const fig = figure(parent, {
    title: `${map.model}: the whole model on one map`,
    name: `model-map-${map.model}`,
    data: { map, trace: { tokens: trace.tokens } },
    caption:
      `Every part of ${map.model} (${map.label.replace(/ \(.*\)$/, "")}) in the order your ${map.T} ` +
      "tokens flow through it, labelled with the shapes of the weights it stores" +
      (parts.some(({ part }) => part.kind.startsWith("add"))
        ? "; the dashed green lines are the residual stream going around each sublayer to its add. "
        : ". ") +
      "Hover or focus a part to see what " +
      "it computed for the last token of your text; Enter (or a click) opens the step that teaches it. " +
      "Arrow keys move between parts.",
  });
  fig.root.classList.add("map-fig");
  const detail = h("div", { class: "map-detail", "aria-live": "polite", id: "map-detail" });
  const map_ = h("div", { class: "map-body" });
  fig.body.append(map_);
  fig.readout.replaceWith(detail);
  const show = (part, stack) => {
    detail.replaceChildren(
      h("strong", {}, part.layer !== null ? `Block ${part.layer} · ${part.label}` : part.label),
      h("span", { class: "mono small" }, ` ${part.shape}`),
      h("p", { class: "live", "data-part": part.id, "data-kind": part.kind }, liveText(part, stack, trace)),
      part.link ? h("p", { class: "small muted" }, `Taught in the step “${stepTitle(part.link)}”.`) : "",
    );
  };
  const draw = () => {
    render(map_, map, {
      width: map_.clientWidth || parent.clientWidth,
      href: (p) => (p.link ? `/learn/${p.link}${query}` : `/learn${query}`),
      onShow: (part, i) => show(part, map.stacks[i]),
    });
  };
  draw();
  show(parts[0].part, parts[0].stack);
  tabulate(map_, () => ({
    caption: "Every part of the map, its shapes and its live value for your text",
    columns: ["part", "short name", "shapes", "live value"],
    rows: parts.map(({ part, stack }) => [
      `${stack.name} · ${part.id}`,
      shortName(part),
      part.shape,
      liveText(part, stack, trace),
    ]),
  }));
  let width = map_.clientWidth;
  const resized = new ResizeObserver(() => {
    if (Math.abs(map_.clientWidth - width) > 20) {
      width = map_.clientWidth;
      draw();
    }
  });
  resized.observe(map_);
  return fig;
}

function stepTitle(slug) {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  return data.lessons.find((x) => x.slug === slug)?.title || slug;
}

// The map of `model` for `text`; when the model cannot read the text (a 422: digits for a translator), the
// map of the model's own example instead, with `fallback` set to it.
export async function loadMapOrExample(model, text) {
  try {
    return { ...(await loadMap(model.name, text)), text };
  } catch (e) {
    if (e.status !== 422 || !model.example || model.example === text) throw e;
    return { ...(await loadMap(model.name, model.example)), text: model.example, fallback: true };
  }
}
