// Step 7 · Softmax: one query's scores become weights that sum to one; the whole T × T weight matrix.
import { postJSONCached } from "../lib/api.js";
import { checkedNumber, fmt, h, pct } from "../lib/dom.js";
import {
  addLayerHeadPickers,
  addPicker,
  clampedLayerHead,
  fillPicker,
  tokenIndexOrLast,
  tokenPickerOptions,
} from "../lib/lesson-controls.js";
import { range } from "../lib/math.js";
import { render as bars } from "../vis/bars.js";
import { addWorkedTable, figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";
import { quotedToken } from "../vis/tokens.js";

const SHOWN = 8; // keys in the worked table (the highest scores); the sum runs over all of them
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

export default {
  defaults: { layer: 0, head: 0, query: -1 },
  code: { name: "softmax", highlight: ["np.exp", "return e /", "np.max"] },
  formula:
    String.raw`\begin{aligned} w_{ij} &= \frac{e^{\,s_{ij} - m_i}}{\sum_{j'} e^{\,s_{ij'} - m_i}}, ` +
    String.raw`\quad m_i = \max_{j} s_{ij} \\ e^{-\infty} &= 0, \quad \textstyle\sum_j w_{ij} = 1 ` +
    String.raw`\end{aligned}`,

  controls(ctx) {
    addLayerHeadPickers(ctx);
    addPicker(ctx, "query", "Query");
  },

  async load(state, ctx) {
    const { layer, head } = clampedLayerHead(ctx, state);
    return postJSONCached("/api/trace", { model: state.model, text: state.text, layer, head });
  },

  render(trace, state, ctx) {
    const T = trace.tokens.length;
    const L = trace.layer;
    const H = trace.head;
    const i = tokenIndexOrLast(state.query, T);
    fillPicker("query", tokenPickerOptions(trace.tokens), i);
    const scores = trace.scores[i];
    const weights = trace.attention[L][H][i];
    const where = `${trace.model}, layer ${L}, head ${H}, on your text`;

    const f = figure(ctx.figures, {
      title: `Query ${i} ${quotedToken(trace.tokens[i])}: scores → weights`,
      answer: true,
      caption:
        `Row ${i} of the score table and its softmax (${where}). Keys after the query are masked: ` +
        "score −∞, weight exactly 0.",
      name: `softmax-row-${i}`,
      data: { tokens: trace.tokens, scores, weights },
    });
    const items = trace.tokens.map((t, j) => ({
      token: t,
      prob: weights[j],
      removed: scores[j] === null ? "the causal mask" : null,
      title: `key ${j} ${JSON.stringify(t)}: score ${fmt(scores[j], 4)} → weight ${weights[j]}`,
    }));
    bars(f.body, items, { label: `attention weights of query ${i}` });

    const seen = range(T).filter((j) => scores[j] !== null);
    const m = Math.max(...seen.map((j) => scores[j]));
    const e = (j) => Math.exp(scores[j] - m);
    const Z = seen.reduce((s, j) => s + e(j), 0);
    const top = [...seen].sort((a, b) => scores[b] - scores[a]).slice(0, SHOWN);
    const rest = seen.filter((j) => !top.includes(j));
    const g = figure(ctx.figures, {
      title: "Check the weights by hand: exp(s − max) / Σ",
      answer: true,
      caption:
        `The ${top.length} highest of the ${seen.length} visible scores of query ${i}` +
        (rest.length ? `, then the other ${rest.length} summed in one row` : "") +
        `; max = ${fmt(m, 4)}, Σ over all ${seen.length} keys = ${fmt(Z, 4)}. By hand uses the rounded ` +
        "scores; the model's weight is the API's.",
      name: "softmax-worked",
      data: { scores, weights },
    });
    addWorkedTable(g, `query ${i} ${quotedToken(trace.tokens[i])}, layer ${L}, head ${H}`, [
      ["key", "score s", "s − max", "exp(s − max)", "÷ Σ (by hand)", "model's weight"],
      ...top.map((j) => [
        `${j} ${quotedToken(trace.tokens[j])}`,
        checkedNumber(`trace.scores.${i}.${j}`, scores[j]),
        fmt(scores[j] - m, 4),
        fmt(e(j), 4),
        fmt(e(j) / Z, 4),
        checkedNumber(`trace.attention.${L}.${H}.${i}.${j}`, weights[j]),
      ]),
      // the rows above are the top few; the rest of the keys, summed, so that the Σ row adds up on the page
      ...(rest.length
        ? [
            [
              `the other ${rest.length} key${rest.length > 1 ? "s" : ""}`,
              "",
              "",
              fmt(sum(rest.map(e)), 4),
              fmt(sum(rest.map(e)) / Z, 4),
              fmt(sum(rest.map((j) => weights[j])), 4),
            ],
          ]
        : []),
      [
        `Σ over all ${seen.length} keys`,
        "",
        "",
        fmt(Z, 4),
        fmt(sum(seen.map(e)) / Z, 4),
        fmt(sum(weights), 4),
      ],
    ]);

    const w = figure(ctx.figures, {
      title: `All weights: ${T} × ${T}, every row sums to 1`,
      answer: true,
      caption:
        `softmax of every row of the score table (${where}). Viridis: dark = little weight, yellow = ` +
        "much. Hatched = masked. Click a row to pick the query.",
      name: `weights-L${L}H${H}`,
      data: { tokens: trace.tokens, attention: trace.attention[L][H] },
    });
    const map = heatmap(
      w.body,
      { matrix: trace.attention[L][H], rows: trace.tokens, cols: trace.tokens },
      {
        scale: "viridis",
        min: 0,
        max: 1,
        mask: trace.mask,
        values: true,
        readout: w.readout,
        rowTitle: "query",
        colTitle: "key",
        label: `attention weights of layer ${L} head ${H}`,
        format: (v) => (v < 0.005 ? "0" : fmt(v, 2)),
        describe: (a, b, v) =>
          `query ${a} ${quotedToken(trace.tokens[a])} → ` +
          `key ${b} ${quotedToken(trace.tokens[b])}: ${v === null ? "masked: weight exactly 0" : fmt(v, 4)}`,
        onClick: (a) => ctx.set({ query: a }),
      },
    );
    map.activate(i, weights.indexOf(Math.max(...weights)));
    const sums = trace.attention[L][H].map((r) => r.reduce((a, b) => a + b, 0));
    w.root
      .querySelector("figcaption")
      .before(
        h(
          "p",
          { class: "small mono", "data-row-sums": "" },
          `row sums: ${sums.map((x) => x.toFixed(3)).join(" ")}`,
        ),
      );
  },

  question(trace, state) {
    const T = trace.tokens.length;
    const i = tokenIndexOrLast(state.query, T);
    if (i < 1) return null;
    const wts = trace.attention[trace.layer][trace.head][i];
    const best = Math.max(...wts);
    const bins = ["under 25%", "25–50%", "50–90%", "over 90%"];
    const answer = best < 0.25 ? 0 : best < 0.5 ? 1 : best < 0.9 ? 2 : 3;
    const j = wts.indexOf(best);
    return {
      prompt:
        `Query ${i} ${quotedToken(trace.tokens[i])} can see ${i + 1} keys. How much of its weight will ` +
        "its favourite key get?",
      choices: bins,
      answer,
      reveal:
        `Key ${j} ${quotedToken(trace.tokens[j])} gets ${pct(best, 1)}. A score gap of d between two ` +
        "keys becomes a weight ratio of e^d: a gap of 3 already means twenty times more weight, so a " +
        "few points of score decide a lot.",
    };
  },

  prose: (trace) =>
    "Scores can be any real number; weights must be positive and sum to one, so that the output is " +
    "an average of the value vectors. Softmax does both: exponentiate, then divide by the sum. " +
    "Subtracting the row's maximum first changes nothing mathematically (it cancels) but keeps exp " +
    `from overflowing; a masked score of −∞ becomes exp(−∞) = 0, exactly.\n\nThe order of the keys ` +
    "is kept, only the gaps are stretched. Each row of the weight matrix is now a recipe: " +
    `how much of each earlier token's value to mix into this one in layer ${trace.layer}, ` +
    `head ${trace.head}.`,
};
