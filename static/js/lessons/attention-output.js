// Step · Weights × values: one head's output for one query worked by hand (Σ_j w_ij v_j), every head side
// by side and concatenated, projected by c_proj, and added to the residual stream.
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

const SHOWN = 8; // keys in the worked table (the heaviest weights); the Σ runs over all of them
const DIMS = 2; // value dimensions worked by hand
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

// A by-hand number: shown with `digits` decimals, tagged with the path of the model's number it checks.
const byHand = (value, path, digits = 4) =>
  h("span", { "data-by-hand": path, "data-value": String(value), title: String(value) }, fmt(value, digits));

// The numbers of head `H`'s output for query `i`: visible keys, each key's w·v, its length, the heaviest.
function contributions(trace, i) {
  const w = trace.attention[trace.layer][trace.head][i];
  const keys = range(trace.tokens.length).filter((j) => trace.mask[i][j]);
  const len = keys.map((j) => w[j] * norm(trace.v[j]));
  const best = keys[len.indexOf(Math.max(...len))];
  return { w, keys, length: (j) => w[j] * norm(trace.v[j]), best };
}

export default {
  defaults: { layer: 0, head: 0, query: -1, dim: 0 },
  code: {
    name: "CausalSelfAttention.__call__",
    highlight: ["y = probs @ v", "reshape(B, T, C)", "self.c_proj(y)"],
  },
  formula: ({ out }) =>
    String.raw`\begin{aligned} o^{(h)}_i &= \textstyle\sum_{j} w^{(h)}_{ij}\, v^{(h)}_j ` +
    String.raw`\in \mathbb{R}^{d_\text{head}} \\ a_i &= \big[\,o^{(1)}_i \,\|\, \cdots \,\|\, ` +
    String.raw`o^{(n_h)}_i\big]\, W_O + b_O \in \mathbb{R}^{C},\quad n_h\, d_\text{head} = C \\ ` +
    (out.norm === "pre"
      ? String.raw`x_i &\leftarrow x_i + a_i \quad (a = \operatorname{attn}(\operatorname{ln_1}(x)))`
      : String.raw`x_i &\leftarrow \operatorname{ln_1}(x_i + a_i) \quad (a = \operatorname{attn}(x))`) +
    String.raw`\end{aligned}`,

  controls(ctx) {
    addLayerHeadPickers(ctx);
    addPicker(ctx, "query", "Query");
  },

  async load(state, ctx) {
    const { layer, head } = clampedLayerHead(ctx, state);
    const [trace, out] = await Promise.all([
      postJSONCached("/api/trace", { model: state.model, text: state.text, layer, head }),
      postJSONCached("/api/lessons/attention-output", { model: state.model, text: state.text, layer }),
    ]);
    return { trace, out };
  },

  render({ trace, out }, state, ctx) {
    const T = trace.tokens.length;
    const L = trace.layer;
    const H = trace.head;
    const nh = out.heads.length;
    const hs = out.heads[0][0].length;
    const C = out.concat[0].length;
    const i = tokenIndexOrLast(state.query, T);
    const d = Math.min(Math.max(0, state.dim), C - 1);
    fillPicker("query", tokenPickerOptions(trace.tokens), i);
    const q = `query ${i} ${quotedToken(trace.tokens[i])}`;
    const where = `${trace.model}, layer ${L}, on your text`;

    // 1. one head: Σ_j w_ij v_j, by hand
    const { w, keys, length } = contributions(trace, i);
    const dims = range(Math.min(DIMS, hs));
    const shown = keys.length <= SHOWN ? keys : [...keys].sort((a, b) => w[b] - w[a]).slice(0, SHOWN);
    shown.sort((a, b) => a - b);
    const rest = keys.filter((j) => !shown.includes(j));
    const sum = (js, c) => js.reduce((s, j) => s + w[j] * trace.v[j][c], 0);
    const f = figure(ctx.figures, {
      title: `Head ${H}, ${q}: weights × values, Σ_j w_ij · v_j`,
      caption:
        `${where}, head ${H}. w are ${q}'s attention weights (the softmax step), v_j the values of the ` +
        `keys (the Q/K/V step, ${hs} numbers each: d_head = ${hs}); the first ${dims.length} of the ` +
        `${hs} dimensions are worked here. ‖w·v‖ is the length of a key's whole contribution. By hand ` +
        "uses the rounded numbers shown; the model's output is the server's.",
      name: `weights-values-L${L}H${H}-q${i}`,
      data: { tokens: trace.tokens, weights: w, v: trace.v, output: out.heads[H][i] },
    });
    const head = ["key", "w", ...dims.flatMap((c) => [`v[${c}]`, `w·v[${c}]`]), "‖w·v‖"];
    const row = (j) => [
      `${j} ${quotedToken(trace.tokens[j])}`,
      checkedNumber(`trace.attention.${L}.${H}.${i}.${j}`, w[j]),
      ...dims.flatMap((c) => [
        checkedNumber(`trace.v.${j}.${c}`, trace.v[j][c]),
        fmt(w[j] * trace.v[j][c], 4),
      ]),
      h("span", { "data-answer": "" }, fmt(length(j), 4)),
    ];
    const remainder = rest.length
      ? [
          [
            `the other ${rest.length} keys`,
            fmt(
              rest.reduce((s, j) => s + w[j], 0),
              4,
            ),
            ...dims.flatMap((c) => ["", fmt(sum(rest, c), 4)]),
            "",
          ],
        ]
      : [];
    addWorkedTable(
      f,
      keys.length > shown.length
        ? `the ${shown.length} heaviest of the ${keys.length} keys ${q} can see, then the rest in one row`
        : keys.length === 1
          ? `the one key ${q} can see: itself (later keys are masked: weight 0)`
          : `all ${keys.length} keys ${q} can see (later keys are masked: weight 0)`,
      [
        head,
        ...shown.map(row),
        ...remainder,
        [
          keys.length === 1 ? "Σ over the 1 key" : `Σ over all ${keys.length} keys`,
          fmt(
            keys.reduce((s, j) => s + w[j], 0),
            4,
          ),
          ...dims.flatMap((c) => ["", byHand(sum(keys, c), `out.heads.${H}.${i}.${c}`)]),
          "",
        ],
        [
          `model: head ${H} output`,
          "",
          ...dims.flatMap((c) => ["", checkedNumber(`out.heads.${H}.${i}.${c}`, out.heads[H][i][c])]),
          "",
        ],
      ],
    );

    // 2. every head, side by side: the concatenation
    const g = figure(ctx.figures, {
      title: `All ${nh} heads for ${q}, side by side: ${nh} × ${hs} = ${C} numbers`,
      caption:
        `Each row is one head's output o for ${q} (${where}); row ${H} is the Σ above. Laid end to end ` +
        `(head 0's ${hs} numbers, then head 1's, …) they make one vector of n_h × d_head = ${nh} × ${hs} = ` +
        `${C} = C numbers: the concatenation c_proj reads. Blue negative, red positive. Click a cell to ` +
        "follow its channel below.",
      name: `heads-concat-L${L}-q${i}`,
      data: { heads: out.heads.map((o) => o[i]), concat: out.concat[i] },
    });
    heatmap(
      g.body,
      {
        matrix: out.heads.map((o) => o[i]),
        rows: range(nh).map((k) => `h${k}`),
        cols: range(hs).map(String),
      },
      {
        scale: "diverging",
        cell: Math.max(6, Math.min(16, Math.floor(560 / hs))),
        readout: g.readout,
        rowTitle: "head",
        colTitle: "d_head",
        label: `every head's output for query ${i}`,
        describe: (k, c, v) =>
          `head ${k}, dimension ${c} → channel ${k * hs + c} of the concatenation: ${fmt(v, 4)}`,
        onClick: (k, c) => ctx.set({ dim: k * hs + c }),
      },
    ).activate(Math.floor(d / hs), d % hs);

    // 3. c_proj: one output channel by hand
    const x = out.concat[i];
    const col = out.w_o.map((r) => r[d]);
    const bias = out.b_o ? out.b_o[d] : 0;
    const dot = x.reduce((s, xc, c) => s + xc * col[c], 0);
    const p = figure(ctx.figures, {
      title: `c_proj mixes the heads: channel ${d} of the attention output a for ${q}`,
      caption:
        `a = concatenation · W_O + b_O, with W_O c_proj's ${C} × ${C} weight (${where}). Every output ` +
        `channel reads all ${C} concatenated numbers, so every head reaches every channel. The strip is ` +
        `the whole a for ${q}; click it to pick a channel.`,
      name: `c-proj-L${L}-q${i}`,
      data: { concat: x, w_o_column: col, bias, proj: out.proj[i] },
    });
    heatmap(
      p.body,
      { matrix: [out.proj[i]], rows: [`a_${i}`], cols: range(C).map(String) },
      {
        scale: "diverging",
        cell: Math.max(5, Math.min(10, Math.floor(640 / C))),
        readout: p.readout,
        colTitle: "channel",
        label: `attention output a of query ${i}`,
        describe: (_, c, v) => `a[${c}] = ${fmt(v, 4)}`,
        onClick: (_, c) => ctx.set({ dim: c }),
      },
    ).activate(0, d);
    const terms = range(3).map((c) => `${fmt(x[c], 3)}×${fmt(col[c], 3)}`);
    addWorkedTable(p, `Σ_c concat[c] · W_O[c][${d}] + b_O[${d}]: by hand (rounded numbers) vs the model`, [
      ["", "concat · W_O column", "+ bias", "= by hand", "model"],
      [
        `a[${d}]`,
        `${terms.join(" + ")} + … (${C} terms) = ${fmt(dot, 4)}`,
        out.b_o ? fmt(bias, 4) : "0 (no bias)",
        byHand(dot + bias, `out.proj.${i}.${d}`),
        checkedNumber(`out.proj.${i}.${d}`, out.proj[i][d]),
      ],
    ]);

    // 4. into the residual stream
    const pre = out.norm === "pre";
    const chans = [...new Set([d, ...range(3)])].filter((c) => c < C);
    const xi = out.residual_in[i];
    const ai = out.proj[i];
    const r = figure(ctx.figures, {
      title: pre
        ? `Added to the residual stream: x + attn(ln_1(x)) for ${q}`
        : `Added, then normalised: ln_1(x + attn(x)) for ${q} (a post-LN block)`,
      caption:
        `x is the residual stream entering block ${L}, a the attention output above (${where}). ` +
        `Attention changes ${q}'s vector by ‖a‖ / ‖x‖ = ${fmt(norm(ai), 2)} / ${fmt(norm(xi), 2)} = ` +
        `${fmt(norm(ai) / norm(xi), 2)} of its length. ` +
        (pre
          ? "The sum is what the block's MLP half reads next (through ln_2)."
          : "In a post-LN block the sum goes through ln_1 before anything reads it."),
      name: `residual-L${L}-q${i}`,
      data: { x: xi, a: ai, added: out.added[i], resid_mid: out.resid_mid[i] },
    });
    heatmap(
      r.body,
      {
        matrix: [xi, ai, pre ? out.resid_mid[i] : out.added[i]],
        rows: ["x", "a", "x+a"],
        cols: range(C).map(String),
      },
      {
        scale: "diverging",
        cell: Math.max(5, Math.min(10, Math.floor(640 / C))),
        readout: r.readout,
        colTitle: "channel",
        label: `residual stream of query ${i} before and after attention`,
        describe: (k, c, v) => `${["x", "a", "x + a"][k]}[${c}] = ${fmt(v, 4)}`,
        onClick: (_, c) => ctx.set({ dim: c }),
      },
    ).activate(2, d);
    addWorkedTable(
      r,
      pre
        ? "x (residual in) + a (attention) by hand vs the model's residual after attention"
        : "x + a by hand; the model's residual is ln_1 of the whole sum",
      [
        ["channel", "x", "+ a", "= by hand", pre ? "model" : "model: ln_1"],
        ...chans.map((c) => [
          String(c),
          checkedNumber(`out.residual_in.${i}.${c}`, xi[c]),
          checkedNumber(`out.proj.${i}.${c}`, ai[c]),
          pre ? byHand(xi[c] + ai[c], `out.resid_mid.${i}.${c}`) : fmt(xi[c] + ai[c], 4),
          checkedNumber(`out.resid_mid.${i}.${c}`, out.resid_mid[i][c]),
        ]),
      ],
    );
  },

  question({ trace }, state) {
    const T = trace.tokens.length;
    const i = tokenIndexOrLast(state.query, T);
    if (i < 1) return null;
    const { w, keys, length, best } = contributions(trace, i);
    const heaviest = keys.reduce((a, b) => (w[b] > w[a] ? b : a), keys[0]);
    const { choices, answer } = whichKeyChoices(trace.tokens, keys, best);
    const same = heaviest === best;
    return {
      prompt:
        `The output of head ${trace.head} for query ${i} ${quotedToken(trace.tokens[i])} is the sum of ` +
        "w_ij · v_j over the keys it sees. Which key's term w·v is the longest (contributes most)?",
      choices,
      answer,
      reveal:
        `Key ${best} ${quotedToken(trace.tokens[best])}: ‖w·v‖ = ${fmt(length(best), 3)} ` +
        `(weight ${fmt(w[best], 3)} × value length ${fmt(norm(trace.v[best]), 3)}). ` +
        (same
          ? "It is also the key with the most weight: here the weights decide."
          : `The heaviest weight is key ${heaviest}'s (${fmt(w[heaviest], 3)}), but its value is shorter: ` +
            "a contribution is weight times value, and values differ in length."),
    };
  },

  prose: ({ trace, out }) =>
    "The weights from the softmax step say how much of each earlier token to take; the values say " +
    "what is taken. One head's output for a query is the weighted sum of the value vectors of the keys " +
    `it sees: d_head = ${out.heads[0][0].length} numbers, a blend in which the heavy keys dominate.\n\n` +
    `All ${out.heads.length} heads do this at once, each with its own weights and values. Their outputs ` +
    "are laid end to end (concatenated) into one vector of C numbers, and one more learned matrix, c_proj " +
    "(the output projection W_O), mixes them so that every channel can use what every head found.\n\n" +
    (out.norm === "pre"
      ? "The result is not a replacement: it is added to the residual stream, x + attn(ln_1(x)). "
      : "The result is added to the residual stream and, in this post-LN model, normalised: " +
        "ln_1(x + attn(x)). ") +
    `This is how information moves between tokens; the MLP that follows (next steps) works on each ` +
    `token alone. Layer ${trace.layer} is shown; every layer does the same.`,
};
