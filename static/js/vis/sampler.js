// What the sampler did: the next-token distribution after each stage (raw model → temperature →
// top-k → top-p), the same tokens in every column; a token a filter removed is hatched and marked "cut".
// res: the /api/sampler response. options: {skip: Set of stage names not to draw, vocab, check: path prefix}
import { checked, fmt, h } from "../lib/dom.js";
import { render as bars } from "./bars.js";
import { tabulate } from "./table.js";
import { tokenLabel } from "./tokens.js";

export const STAGE_NAMES = {
  model: "raw model",
  penalty: "repetition penalty",
  temperature: "temperature",
  top_k: "top-k",
  top_p: "top-p",
};

export function render(el, res, options = {}) {
  const skip = options.skip || new Set();
  const prefix = options.check || "sampler";
  const max = Math.max(...res.stages.flatMap((st) => st.probs), 1e-12);
  const cols = [];
  res.stages.forEach((st, k) => {
    if (skip.has(st.name)) return;
    const prev = k ? res.stages[k - 1].probs : st.probs;
    const items = res.tokens.map((token, i) => {
      const p = st.probs[i];
      const cutHere = p === 0 && prev[i] > 0;
      const removed = p === 0 ? (cutHere ? STAGE_NAMES[st.name] : "an earlier filter") : null;
      return {
        token,
        prob: cutHere ? prev[i] : p,
        removed,
        title: `${JSON.stringify(token)}: ${removed ? `removed by ${removed} (was ${prev[i]})` : p}`,
      };
    });
    const list = h("div", { class: "stage-bars" });
    const title = k ? `after ${STAGE_NAMES[st.name]}` : STAGE_NAMES[st.name];
    bars(list, items, { max, label: `${title}: probabilities`, digits: 1 });
    cols.push(
      h(
        "section",
        { class: "stage", "data-stage": st.name },
        h("h4", { title }, k ? `→ ${STAGE_NAMES[st.name].replace("repetition ", "")}` : title),
        h(
          "p",
          { class: "small mono stats" },
          "kept ",
          checked(
            h("b", { class: "kept", title: `${st.kept} tokens have probability > 0` }, String(st.kept)),
            `${prefix}.stages.${k}.kept`,
            st.kept,
          ),
          options.vocab ? `/${options.vocab}` : "",
          h("br"),
          "H ",
          checked(
            h(
              "span",
              { class: "entropy", title: `entropy ${st.entropy_bits} bits` },
              fmt(st.entropy_bits, 2),
            ),
            `${prefix}.stages.${k}.entropy_bits`,
            st.entropy_bits,
          ),
          " bits",
        ),
        list,
      ),
    );
  });
  const shown = res.stages.filter((st) => !skip.has(st.name));
  const stages = tabulate(h("div", { class: "stages" }, cols), () => ({
    caption: "probability of each token after each stage of the sampler (0 = cut)",
    columns: ["token", ...shown.map((st) => STAGE_NAMES[st.name])],
    rows: [
      ...res.tokens.map((t, i) => [tokenLabel(t), ...shown.map((st) => st.probs[i])]),
      ["tokens kept", ...shown.map((st) => st.kept)],
      ["entropy (bits)", ...shown.map((st) => st.entropy_bits)],
    ],
  }));
  el.replaceChildren(stages);
}
