// Step 4 · Queries, keys and values: x → q, k, v for one layer and head, and one element checked by hand.
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

function terms(x, w, j, n = 3) {
  const parts = range(Math.min(n, x.length)).map((c) => `${fmt(x[c], 3)}×${fmt(w[c][j], 3)}`);
  return `${parts.join(" + ")} + … (${x.length} terms)`;
}

export default {
  defaults: { layer: 0, head: 0, token: -1, dim: 0 },
  code: { name: "CausalSelfAttention.__call__", highlight: ["c_attn(x)", "reshape(B, T, nh, hs)"] },
  formula:
    String.raw`q_t = x_t W_Q + b_Q,\quad k_t = x_t W_K + b_K,\quad v_t = x_t W_V + b_V \qquad x_t \in ` +
    String.raw`\mathbb{R}^{C},\; q_t, k_t, v_t \in \mathbb{R}^{d_{\text{head}}}`,

  controls(ctx) {
    addLayerHeadPickers(ctx);
    addPicker(ctx, "token", "Token");
  },

  async load(state, ctx) {
    const { layer, head } = clampedLayerHead(ctx, state);
    const body = { model: state.model, text: state.text, layer, head };
    const [trace, qkv] = await Promise.all([
      postJSONCached("/api/trace", body),
      postJSONCached("/api/lessons/qkv", body),
    ]);
    return { trace, qkv };
  },

  render({ trace, qkv }, state, ctx) {
    const T = trace.tokens.length;
    const t = tokenIndexOrLast(state.token, T);
    const hs = trace.q[0].length;
    const j = Math.min(Math.max(0, state.dim), hs - 1);
    fillPicker("token", tokenPickerOptions(trace.tokens), t);
    const where = `${trace.model}, layer ${trace.layer}, head ${trace.head}, on your text (${T} tokens)`;
    const f = figure(ctx.figures, {
      title: `Q | K | V: three T × d_head matrices side by side (${T} × ${hs} each)`,
      caption:
        `Computed by ${where}. Blue is negative, red positive. Click a cell to check it by hand below; ` +
        "hover or focus for values.",
      name: "qkv",
      data: { tokens: trace.tokens, q: trace.q, k: trace.k, v: trace.v },
    });
    // c_attn's output for this head, as the model splits it: columns q0…, then k0…, then v0…
    const parts = ["q", "k", "v"];
    const el = h("div", { "data-matrix": "qkv" });
    f.body.append(el);
    heatmap(
      el,
      {
        matrix: trace.q.map((r, i) => [...r, ...trace.k[i], ...trace.v[i]]),
        rows: trace.tokens,
        cols: parts.flatMap((p) => range(hs).map((c) => `${p}${c}`)),
      },
      {
        scale: "diverging",
        cell: Math.max(4, Math.min(10, Math.floor(600 / (3 * hs)))),
        readout: f.readout,
        label: `q, k and v of layer ${trace.layer} head ${trace.head}`,
        describe: (i, c, v) =>
          `${parts[Math.floor(c / hs)]}[${i}][${c % hs}] of ${quotedToken(trace.tokens[i])} = ${fmt(v, 4)}`,
        onClick: (i, c) => ctx.set({ token: i, dim: c % hs }),
      },
    ).activate(t, j);

    const reads =
      qkv.norm === "pre" ? "the residual stream after LayerNorm ln_1" : "the residual stream itself, post-LN";
    const g = figure(ctx.figures, {
      title: `Check one number: q, k, v of ${quotedToken(trace.tokens[t])} (token ${t}), dimension ${j}`,
      caption:
        `x is what layer ${trace.layer}'s attention reads (${reads}); W are head ${trace.head}'s ${hs} ` +
        "columns of c_attn. Each element is a dot product of x_t with one column, plus a bias.",
      name: "qkv-worked",
      data: { x: qkv.x[t], w_q: qkv.w_q, b_q: qkv.b_q },
    });
    const strip = h("div");
    g.body.append(strip);
    heatmap(
      strip,
      { matrix: [qkv.x[t]], rows: [`x_${t}`], cols: qkv.x[t].map((_, c) => String(c)) },
      {
        scale: "diverging",
        cell: 5,
        readout: g.readout,
        label: `x of token ${t}`,
        colTitle: "channel",
      },
    );
    const rows = ["q", "k", "v"].map((p) => {
      const w = qkv[`w_${p}`];
      const b = qkv[`b_${p}`];
      const x = qkv.x[t];
      const byHand = x.reduce((s, xc, c) => s + xc * w[c][j], 0) + (b ? b[j] : 0);
      return [
        `${p}[${t}][${j}]`,
        terms(x, w, j),
        b ? fmt(b[j], 4) : "0",
        fmt(byHand, 4),
        checkedNumber(`trace.${p}.${t}.${j}`, trace[p][t][j]),
      ];
    });
    addWorkedTable(g, "Σ_c x[c]·W[c][j]  +  bias  =  by hand (from the rounded numbers)  vs  the model", [
      ["", "x · W column", "+ bias", "= by hand", "model"],
      ...rows,
    ]);
  },

  question({ trace }, state) {
    const T = trace.tokens.length;
    const t = tokenIndexOrLast(state.token, T);
    if (t < 1) return null;
    const row = trace.scores[t];
    const seen = range(t + 1);
    const best = seen.reduce((a, b) => (row[b] > row[a] ? b : a), 0);
    const { choices, answer } = whichKeyChoices(trace.tokens, seen, best);
    return {
      prompt:
        "Next step compares queries with keys. Which key will the query " +
        `of ${quotedToken(trace.tokens[t])} (token ${t}) match best, in layer ${trace.layer}, ` +
        `head ${trace.head}?`,
      choices,
      answer,
      reveal:
        `q_${t}·k_${best}/√d_head = ${fmt(row[best], 3)} is the largest score in ` +
        `row ${t}. Nothing in the tokens' letters says so: W_Q and W_K were learned, and they decide ` +
        "what matches.",
    };
  },

  prose: ({ trace, qkv }) =>
    `After the embeddings, every token is one vector x of ${qkv.x[0].length} numbers. ` +
    "Attention makes three new vectors from it with three learned matrices: a query (what this token " +
    "is looking for), a key (what it offers to others) and a value (what it passes on if chosen). " +
    "One matrix multiply, c_attn, makes all three for all heads at once; the reshape splits them " +
    `into ${trace.attention[0].length} heads of ${trace.q[0].length} numbers each.\n\nNothing has ` +
    "mixed between tokens yet: row t of Q, K and V depends only on token t. The mixing starts in the " +
    "next step, when every query meets every key.",
};
