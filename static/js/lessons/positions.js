// Step 3 · Positional encoding: the model's learned table or fixed sinusoids, as a heatmap, as waves,
// and as a position-similarity matrix; a slider sets how many positions are drawn.
import { checkedNumber, debounce, fmt, h } from "../lib/dom.js";
import { fillPicker } from "../lib/lesson-controls.js";
import { range } from "../lib/math.js";
import { addWorkedTable, figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";
import { render as lines } from "../vis/linechart.js";
import { render as chips, quotedToken } from "../vis/tokens.js";

const kindOf = (state, model) =>
  state.table === "sinusoidal" || model.pos !== "learned" ? "sinusoidal" : "learned";

// What the similarity matrix shows, computed: the mean cosine of neighbours against that of all pairs.
function nearFar(sim) {
  const n = sim.length;
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const near = mean(range(n - 1).map((p) => sim[p][p + 1]));
  const all = mean(
    range(n).flatMap((p) =>
      range(n)
        .filter((q) => q !== p)
        .map((q) => sim[p][q]),
    ),
  );
  return (
    `Here neighbours (p, p+1) have a mean cosine of ${fmt(near, 3)} against ${fmt(all, 3)} over all ` +
    `pairs: ${near > all + 0.05 ? "nearby positions look nearby to the model" : "nearness barely shows"}.`
  );
}

export default {
  defaults: { positions: 32, table: "model" },
  code: (state) =>
    state.table === "sinusoidal"
      ? { name: "sinusoidal_positions", highlight: ["angle =", "np.sin", "np.cos"], only: false }
      : { name: "embed_tokens", highlight: ["wpe(positions)", "sinusoidal_positions("], only: false },
  formula: (d) =>
    d.kind === "sinusoidal"
      ? String.raw`\begin{aligned} PE_{p,\,2i} &= \sin\!\left(p / 10000^{2i/C}\right) \\ PE_{p,\,2i+1} ` +
        String.raw`&= \cos\!\left(p / 10000^{2i/C}\right) \end{aligned}`
      : String.raw`\begin{aligned} PE_{p} &= W_{pe}[\,p\,] \;\; (\text{a learned row}) \\ \cos(p, p') ` +
        String.raw`&= \frac{PE_p \cdot PE_{p'}}{\lVert PE_p\rVert\,\lVert PE_{p'}\rVert} \end{aligned}`,

  controls(ctx) {
    const state = ctx.state();
    const n = h("input", {
      type: "range",
      id: "lesson-n",
      min: 4,
      max: ctx.model().context,
      step: 1,
      value: state.positions,
      "data-key": "positions",
      "aria-label": "number of positions",
    });
    const out = h("output", { for: "lesson-n" }, String(state.positions));
    const go = debounce(() => ctx.set({ positions: Number(n.value) }), 150);
    n.addEventListener("input", () => {
      out.textContent = n.value;
      go();
    });
    const table = h("select", {
      id: "lesson-table",
      "data-key": "table",
      "aria-label": "which position table",
    });
    table.addEventListener("change", () => ctx.set({ table: table.value }));
    ctx.controls.append(
      h("label", { for: "lesson-n" }, "Positions"),
      h("span", { class: "row" }, n, out),
      h("label", { for: "lesson-table" }, "Table"),
      table,
    );
  },

  async load(state, ctx) {
    const model = ctx.model();
    const kind = kindOf(state, model);
    fillPicker(
      "table",
      model.pos === "learned"
        ? [
            ["model", "the model's learned table"],
            ["sinusoidal", "sinusoids (for comparison)"],
          ]
        : [["model", "the model's sinusoids"]],
      model.pos === "learned" ? state.table : "model",
    );
    const n = Math.min(Math.max(4, state.positions), model.context);
    const q = new URLSearchParams({ kind, model: model.name, positions: n });
    const [positional, tok] = await Promise.all([
      ctx.api.getJSON(`/api/positional?${q}`),
      ctx.api.postJSON("/api/tokenize", { model: model.name, text: state.text }),
    ]);
    return { kind, positional, tokens: tok.tokens, model };
  },

  render({ kind, positional, tokens, model }, _state, ctx) {
    const V = positional.vectors;
    const n = V.length;
    const C = V[0].length;
    const slider = document.getElementById("lesson-n");
    if (slider) slider.max = model.context;
    const own = kind === "learned" || model.pos !== "learned";
    const whose = own ? `${model.name} uses these` : `${model.name} learned its own; shown for comparison`;
    const what =
      kind === "learned" ? `${model.name}'s learned table wpe` : `sinusoids of width ${C} (${whose})`;

    const f = figure(ctx.figures, {
      title: `Position vectors: ${n} positions × ${C} channels`,
      caption: `${what}. Row p is added to the token at position p. Blue negative, red positive.`,
      name: `positions-${kind}`,
      data: positional,
    });
    const T = Math.min(tokens.length, model.context);
    const strip = h("div", { class: "small" });
    chips(strip, tokens.slice(0, Math.min(T, n)), {
      titles: tokens.map((t, i) => `position ${i}: ${JSON.stringify(t)}`),
    });
    f.body.append(
      h(
        "p",
        { class: "small muted" },
        `Your text: ${T} tokens, positions 0–${T - 1}${T > n ? ` (the first ${n} drawn)` : ""}:`,
      ),
      strip,
    );
    const map = h("div");
    f.body.append(map);
    heatmap(
      map,
      { matrix: V, rows: range(n).map(String), cols: range(C).map(String) },
      {
        scale: "diverging",
        cell: Math.max(4, Math.min(14, Math.floor(640 / C))),
        readout: f.readout,
        rowTitle: "position",
        colTitle: "channel",
        label: "position vectors",
      },
    );

    const dims = [...new Set([0, 1, 2 * Math.floor(C / 16), 2 * Math.floor(C / 4)])];
    const g = figure(ctx.figures, {
      title: "A few channels as waves over position",
      caption:
        `Channels ${dims.join(", ")} of the ${what}, for positions 0–${n - 1}. ` +
        (kind === "sinusoidal"
          ? "Low channels turn fast, high channels slowly: together they spell out the position like " +
            "the hands of a clock."
          : "Learned rows need not be waves; training shaped them."),
      name: `position-waves-${kind}`,
      data: dims.map((d) => ({ channel: d, values: V.map((r) => r[d]) })),
    });
    lines(
      g.body,
      dims.map((d) => ({
        name: `ch ${d}${kind === "sinusoidal" ? (d % 2 ? " cos" : " sin") : ""}`,
        points: V.map((r, p) => [p, r[d]]),
      })),
      {
        xLabel: "position",
        yLabel: "value",
        readout: g.readout,
        height: 240,
        label: "position vector channels as waves",
      },
    );

    const s = figure(ctx.figures, {
      title: `Position similarity: cosine of every pair (${n} × ${n})`,
      answer: true,
      caption:
        `cos(PE_p, PE_p′) of the ${what}. Colour: blue = −1 (opposite), white = 0 (unrelated), dark red ` +
        "= +1 (the same direction); the diagonal, each position with itself, is the darkest red. " +
        nearFar(positional.similarity),
      name: `position-similarity-${kind}`,
      data: positional.similarity,
    });
    heatmap(
      s.body,
      { matrix: positional.similarity, rows: range(n).map(String), cols: range(n).map(String) },
      {
        scale: "diverging",
        min: -1,
        max: 1,
        readout: s.readout,
        rowTitle: "position",
        colTitle: "position",
        label: "position similarity",
        format: (v) => fmt(v, 3),
      },
    );

    const p = Math.min(T, n) - 1;
    const angle = (d) => p / 10000 ** ((d - (d % 2)) / C);
    const rows =
      kind === "sinusoidal"
        ? range(4).map((d) => [
            `PE[${p}][${d}]`,
            `${d % 2 ? "cos" : "sin"}(${p} / 10000^(${d - (d % 2)}/${C})) ` +
              `= ${d % 2 ? "cos" : "sin"}(${fmt(angle(d), 4)})`,
            fmt(d % 2 ? Math.cos(angle(d)) : Math.sin(angle(d)), 4),
            checkedNumber(`positional.vectors.${p}.${d}`, V[p][d]),
          ])
        : range(4).map((d) => [
            `PE[${p}][${d}]`,
            `row ${p} of wpe, channel ${d}`,
            "learned",
            checkedNumber(`positional.vectors.${p}.${d}`, V[p][d]),
          ]);
    addWorkedTable(s, `position ${p} (your last token${p < T - 1 ? " drawn" : ""}), by hand`, [
      ["", "how", "by hand", "the table"],
      ...rows,
      [
        "cos(p, p−1)",
        `similarity of positions ${p} and ${Math.max(0, p - 1)}`,
        "",
        checkedNumber(
          `positional.similarity.${p}.${Math.max(0, p - 1)}`,
          positional.similarity[p][Math.max(0, p - 1)],
        ),
      ],
    ]);
  },

  question({ kind, positional, tokens, model }) {
    const n = positional.vectors.length;
    const p = Math.min(tokens.length, n) - 1;
    if (p < 3) return null;
    const row = positional.similarity[p];
    const best = range(n)
      .filter((j) => j !== p)
      .reduce((a, b) => (row[b] > row[a] ? b : a), p ? 0 : 1);
    const cands = [...new Set([best, p - 1, Math.min(n - 1, p + 1), 0, Math.floor(p / 2)])]
      .filter((j) => j !== p)
      .slice(0, 4)
      .sort((a, b) => a - b);
    return {
      prompt:
        `Your last token sits at position ${p} ${quotedToken(tokens[p])}. Which other position's ` +
        `vector in the ${kind === "learned" ? `learned table of ${model.name}` : "sinusoid table"} is ` +
        "most similar to it (cosine)?",
      choices: cands.map((j) => `position ${j}`),
      answer: cands.indexOf(best),
      reveal:
        `Position ${best}: cosine ${fmt(row[best], 3)}. ` +
        (Math.abs(best - p) <= 1
          ? "A neighbour, as the dark red band along the diagonal promises."
          : "Not a neighbour: this table is less orderly than a clock."),
    };
  },

  prose: ({ kind, model }) =>
    "Attention compares vectors and nothing else, so without help a transformer sees a bag of " +
    `tokens: "dog bites man" and "man bites dog" would look the same. The fix is to add a vector ` +
    `that depends only on the position. ${model.name} uses ` +
    (model.pos === "learned"
      ? `a learned table: one trainable row per position up to its context of ${model.context}.\n\n`
      : "fixed sinusoids: nothing to learn, and any position has a vector.\n\n") +
    (kind === "sinusoidal"
      ? "Each pair of channels is a sine and cosine at its own frequency, from one turn every 6 " +
        "positions down to one in tens of thousands. The similarity matrix shows the result: " +
        "a position's vector is most like its neighbours', and the likeness fades with distance."
      : "A learned table starts random and ends wherever training pushed it. Yet the similarity matrix " +
        "usually shows a dark red band along the diagonal: the model discovered that nearby positions " +
        "should look alike."),
};
