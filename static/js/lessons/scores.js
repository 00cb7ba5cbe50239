// Step · Scaled scores: q·kᵀ/√d_head for one layer and head, masked cells hatched, one cell by hand.
import { postJSONCached } from "../lib/api.js";
import { checkedNumber, fmt, h } from "../lib/dom.js";
import {
  addLayerHeadPickers,
  addPicker,
  clampedLayerHead,
  fillPicker,
  tokenIndexOrLast,
  tokenPickerOptions,
} from "../lib/lesson-controls.js";
import { whichKeyChoices } from "../lib/lesson-questions.js";
import { range } from "../lib/math.js";
import { addWorkedTable, figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";
import { quotedToken } from "../vis/tokens.js";

export default {
  defaults: { layer: 0, head: 0, query: -1, key: 0 },
  code: { name: "CausalSelfAttention.__call__", highlight: ["scores"] },
  formula:
    String.raw`\begin{aligned} s_{ij} &= \frac{q_i \cdot k_j}{\sqrt{d_{` +
    String.raw`\text{head}}}} = \frac{1}{\sqrt{d_{\text{head}}}}` +
    String.raw`\sum_{c=1}^{d_{\text{head}}} q_{ic}\,k_{jc} ` +
    String.raw`\\ s_{ij} &= -\infty \;\text{ if } j > i \end{aligned}`,

  controls(ctx) {
    addLayerHeadPickers(ctx);
    addPicker(ctx, "query", "Query");
    addPicker(ctx, "key", "Key");
  },

  async load(state, ctx) {
    const { layer, head } = clampedLayerHead(ctx, state);
    return postJSONCached("/api/trace", { model: state.model, text: state.text, layer, head });
  },

  render(trace, state, ctx) {
    const T = trace.tokens.length;
    const hs = trace.q[0].length;
    const i = tokenIndexOrLast(state.query, T);
    const j = Math.min(Math.max(0, state.key), T - 1);
    fillPicker("query", tokenPickerOptions(trace.tokens), i);
    fillPicker("key", tokenPickerOptions(trace.tokens), j);
    const f = figure(ctx.figures, {
      title: `Scores q·kᵀ/√d_head (d_head = ${hs}): ${T} × ${T}`,
      answer: true,
      caption:
        `Computed by ${trace.model}, layer ${trace.layer}, head ${trace.head}, on your text. ` +
        "Row = query, column = key. Hatched cells are keys in the future of their query: " +
        "the causal mask sets them to −∞. Click a cell to check it by hand.",
      name: `scores-L${trace.layer}H${trace.head}`,
      data: { tokens: trace.tokens, scores: trace.scores },
    });
    const map = heatmap(
      f.body,
      { matrix: trace.scores, rows: trace.tokens, cols: trace.tokens },
      {
        scale: "diverging",
        values: true,
        readout: f.readout,
        format: (v) => fmt(v, 1),
        describe: (a, b, v) =>
          `query ${a} ${quotedToken(trace.tokens[a])} · ` +
          `key ${b} ${quotedToken(trace.tokens[b])}: ${v === null ? "masked (−∞)" : fmt(v, 4)}`,
        label: `scores of layer ${trace.layer} head ${trace.head}`,
        onClick: (a, b) => ctx.set({ query: a, key: b }),
      },
    );
    map.activate(i, j);

    const q = trace.q[i];
    const k = trace.k[j];
    const dot = q.reduce((s, qc, c) => s + qc * k[c], 0);
    const g = figure(ctx.figures, {
      title:
        `Check one cell: query ${quotedToken(trace.tokens[i])} (${i}) · ` +
        `key ${quotedToken(trace.tokens[j])} (${j})`,
      caption:
        `q_${i} and k_${j} of layer ${trace.layer}, head ${trace.head} (${hs} numbers each). ` +
        `Their dot product, divided by √d_head = √${hs} = ${fmt(Math.sqrt(hs), 3)}, is the cell.`,
      name: "scores-worked",
      data: { q, k },
    });
    const strip = h("div");
    g.body.append(strip);
    heatmap(
      strip,
      {
        matrix: [q, k, q.map((x, c) => x * k[c])],
        rows: [`q_${i}`, `k_${j}`, "q×k"],
        cols: range(hs).map(String),
      },
      {
        scale: "diverging",
        cell: 12,
        readout: g.readout,
        colTitle: "dim",
        label: "query and key vectors",
      },
    );
    const masked = trace.scores[i][j] === null;
    addWorkedTable(g, "by hand, from the rounded vectors shown above", [
      [
        "q · k",
        `${range(3)
          .map((c) => `${fmt(q[c], 3)}×${fmt(k[c], 3)}`)
          .join(" + ")} + … = ${fmt(dot, 4)}`,
      ],
      [`÷ √d_head`, `${fmt(dot, 4)} / ${fmt(Math.sqrt(hs), 4)} = ${fmt(dot / Math.sqrt(hs), 4)}`],
      [
        "the cell",
        masked
          ? h("span", {}, `−∞: key ${j} comes after query ${i}, so the mask replaces the score`)
          : checkedNumber(`trace.scores.${i}.${j}`, trace.scores[i][j]),
      ],
    ]);
  },

  question(trace, state) {
    const T = trace.tokens.length;
    const i = tokenIndexOrLast(state.query, T);
    if (i < 1) return null;
    const row = trace.scores[i];
    const seen = range(i + 1);
    const best = seen.reduce((a, b) => (row[b] > row[a] ? b : a), 0);
    const { choices, answer } = whichKeyChoices(trace.tokens, seen, best);
    return {
      prompt:
        `Look at row ${i} (${quotedToken(trace.tokens[i])}) before hovering: which key gets its ` +
        `highest score in layer ${trace.layer}, head ${trace.head}?`,
      choices,
      answer,
      reveal:
        `Key ${best} ${quotedToken(trace.tokens[best])} scores ${fmt(row[best], 3)}, the highest ` +
        `visible cell in row ${i} (the least blue, or the reddest). After softmax (two steps on) it ` +
        "also gets the most weight.",
    };
  },

  prose: (trace) => {
    const hs = trace.q[0].length;
    return (
      "Each query now meets every key: the dot product q·k is large when the two vectors point the " +
      "same way. All of them at once is one matrix product, Q·Kᵀ, a T × T table with one row per " +
      `query.\n\nWhy divide by √d_head? A dot product of d_head = ${hs} random numbers grows like √d_head; ` +
      "without the division the scores get large, softmax turns them into almost-one-hot weights and " +
      "learning stalls. The hatched upper triangle is the causal mask: a token may not look at " +
      "tokens that come after it, because when the model generates they do not exist yet."
    );
  },
};
