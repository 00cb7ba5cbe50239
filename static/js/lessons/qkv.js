// Step 4 · Queries, keys and values: x → q, k, v for one layer and head, and one element checked by hand.
// Also exports the small helpers the attention steps share (pickers, the cached trace, worked tables).
import { checked, fmt, h } from "../lib/dom.js";
import { figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";
import { tokenLabel } from "../vis/tokens.js";

export const range = (n) => Array.from({ length: n }, (_, i) => i);
export const quote = (t) => `“${tokenLabel(t)}”`;
export const at = (i, T) => (i >= 0 && i < T ? i : T - 1); // -1 (the default) means the last token

// A <select> in the lesson controls; its options are filled in render (they depend on model and text).
export function picker(ctx, key, label) {
  const id = `lesson-${key}`;
  const sel = h("select", { id, "data-key": key, "aria-label": label });
  sel.addEventListener("change", () => ctx.set({ [key]: Number(sel.value) }));
  ctx.controls.append(h("label", { for: id }, label), sel);
}
export function fill(key, options, value) {
  const sel = document.getElementById(`lesson-${key}`);
  if (sel) sel.replaceChildren(...options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
}
export const tokenOptions = (tokens) => tokens.map((t, i) => [i, `${i}: ${tokenLabel(t)}`]);

export function layerHead(ctx) {
  picker(ctx, "layer", "Layer");
  picker(ctx, "head", "Head");
}
// The state's layer and head, clamped to the chosen model; the pickers show them.
export function lh(ctx, state) {
  const m = ctx.model();
  const layer = Math.min(Math.max(0, state.layer), m.n_layer - 1);
  const head = Math.min(Math.max(0, state.head), m.n_head - 1);
  fill("layer", range(m.n_layer).map((i) => [i, String(i)]), layer);
  fill("head", range(m.n_head).map((i) => [i, String(i)]), head);
  return { layer, head };
}

// One POST per distinct body: moving the query or key does not refetch.
const cache = new Map();
export function post(ctx, url, body) {
  const key = url + JSON.stringify(body);
  if (!cache.has(key)) {
    if (cache.size > 8) cache.clear();
    cache.set(key, ctx.api.postJSON(url, body).catch((e) => (cache.delete(key), Promise.reject(e))));
  }
  return cache.get(key);
}

// A small "check it by hand" table under a figure's body: rows of [label, content...].
export function worked(fig, title, rows) {
  const table = h("table", { class: "data worked" },
    h("caption", { class: "small muted" }, title),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("th", { scope: "row", style: "white-space:nowrap" }, r[0]), ...r.slice(1).map((c) => h("td", { class: "num" }, c))))));
  fig.root.querySelector("figcaption").before(h("div", { class: "body" }, table));
  return table;
}
export const num = (path, v, d = 4) => checked(h("span", { title: String(v) }, fmt(v, d)), path, v);

// "Which key …" choices: the answer plus up to three other visible keys, in position order.
export function keyChoices(tokens, candidates, answer) {
  const others = candidates.filter((j) => j !== answer);
  const pick = [answer, ...others.filter((_, n) => n % Math.max(1, Math.floor(others.length / 3)) === 0).slice(0, 3)];
  pick.sort((a, b) => a - b);
  return { choices: pick.map((j) => `${tokenLabel(tokens[j])} (token ${j})`), answer: pick.indexOf(answer) };
}

function terms(x, w, j, n = 3) {
  const parts = range(Math.min(n, x.length)).map((c) => `${fmt(x[c], 3)}×${fmt(w[c][j], 3)}`);
  return `${parts.join(" + ")} + … (${x.length} terms)`;
}

export default {
  defaults: { layer: 0, head: 0, token: -1, dim: 0 },
  code: { name: "CausalSelfAttention.__call__", highlight: ["c_attn(x)", "reshape(B, T, nh, hs)"] },
  formula: String.raw`q_t = x_t W_Q + b_Q,\quad k_t = x_t W_K + b_K,\quad v_t = x_t W_V + b_V \qquad x_t \in \mathbb{R}^{C},\; q_t, k_t, v_t \in \mathbb{R}^{h_s}`,

  controls(ctx) {
    layerHead(ctx);
    picker(ctx, "token", "Token");
  },

  async load(state, ctx) {
    const { layer, head } = lh(ctx, state);
    const body = { model: state.model, text: state.text, layer, head };
    const [trace, qkv] = await Promise.all([post(ctx, "/api/trace", body), post(ctx, "/api/lessons/qkv", body)]);
    return { trace, qkv };
  },

  render({ trace, qkv }, state, ctx) {
    const T = trace.tokens.length;
    const t = at(state.token, T);
    const hs = trace.q[0].length;
    const j = Math.min(Math.max(0, state.dim), hs - 1);
    fill("token", tokenOptions(trace.tokens), t);
    const where = `${trace.model}, layer ${trace.layer}, head ${trace.head}, on your text (${T} tokens)`;
    const f = figure(ctx.figures, {
      title: `Q | K | V: three T × hs matrices side by side (${T} × ${hs} each)`,
      caption: `Computed by ${where}. Blue is negative, red positive. Click a cell to check it by hand below; hover or focus for values.`,
      name: "qkv",
      data: { tokens: trace.tokens, q: trace.q, k: trace.k, v: trace.v },
    });
    // c_attn's output for this head, as the model splits it: columns q0…, then k0…, then v0…
    const parts = ["q", "k", "v"];
    const el = h("div", { "data-matrix": "qkv" });
    f.body.append(el);
    heatmap(el, { matrix: trace.q.map((r, i) => [...r, ...trace.k[i], ...trace.v[i]]), rows: trace.tokens,
      cols: parts.flatMap((p) => range(hs).map((c) => `${p}${c}`)) }, {
      scale: "diverging", cell: Math.max(4, Math.min(10, Math.floor(600 / (3 * hs)))), readout: f.readout, label: `q, k and v of layer ${trace.layer} head ${trace.head}`,
      describe: (i, c, v) => `${parts[Math.floor(c / hs)]}[${i}][${c % hs}] of ${quote(trace.tokens[i])} = ${fmt(v, 4)}`,
      onClick: (i, c) => ctx.set({ token: i, dim: c % hs }),
    }).activate(t, j);

    const g = figure(ctx.figures, {
      title: `Check one number: q, k, v of ${quote(trace.tokens[t])} (token ${t}), dimension ${j}`,
      caption: `x is what layer ${trace.layer}'s attention reads (${qkv.norm === "pre" ? "the residual stream after LayerNorm ln_1" : "the residual stream itself, post-LN"}); ` +
        `W are head ${trace.head}'s ${hs} columns of c_attn. Each element is a dot product of x_t with one column, plus a bias.`,
      name: "qkv-worked",
      data: { x: qkv.x[t], w_q: qkv.w_q, b_q: qkv.b_q },
    });
    const strip = h("div");
    g.body.append(strip);
    heatmap(strip, { matrix: [qkv.x[t]], rows: [`x_${t}`], cols: qkv.x[t].map((_, c) => String(c)) }, {
      scale: "diverging", cell: 5, readout: g.readout, label: `x of token ${t}`, colTitle: "channel",
    });
    const rows = ["q", "k", "v"].map((p) => {
      const w = qkv[`w_${p}`];
      const b = qkv[`b_${p}`];
      const x = qkv.x[t];
      const byHand = x.reduce((s, xc, c) => s + xc * w[c][j], 0) + (b ? b[j] : 0);
      return [`${p}[${t}][${j}]`, terms(x, w, j), b ? fmt(b[j], 4) : "0", fmt(byHand, 4), num(`trace.${p}.${t}.${j}`, trace[p][t][j])];
    });
    worked(g, "Σ_c x[c]·W[c][j]  +  bias  =  by hand (from the rounded numbers)  vs  the model", [
      ["", "x · W column", "+ bias", "= by hand", "model"], ...rows,
    ]);
  },

  question({ trace }, state) {
    const T = trace.tokens.length;
    const t = at(state.token, T);
    if (t < 1) return null;
    const row = trace.scores[t];
    const seen = range(t + 1);
    const best = seen.reduce((a, b) => (row[b] > row[a] ? b : a), 0);
    const { choices, answer } = keyChoices(trace.tokens, seen, best);
    return {
      prompt: `Next step compares queries with keys. Which key will the query of ${quote(trace.tokens[t])} (token ${t}) match best, in layer ${trace.layer}, head ${trace.head}?`,
      choices, answer,
      reveal: `q_${t}·k_${best}/√${trace.q[0].length} = ${fmt(row[best], 3)} is the largest score in row ${t}. Nothing in the tokens' letters says so: W_Q and W_K were learned, and they decide what matches.`,
    };
  },

  prose: ({ trace, qkv }) =>
    `After the embeddings, every token is one vector x of ${qkv.x[0].length} numbers. Attention makes three new vectors from it with three learned matrices: ` +
    `a query (what this token is looking for), a key (what it offers to others) and a value (what it passes on if chosen). ` +
    `One matrix multiply, c_attn, makes all three for all heads at once; the reshape splits them into ${trace.attention[0].length} heads of ${trace.q[0].length} numbers each.\n\n` +
    "Nothing has mixed between tokens yet: row t of Q, K and V depends only on token t. The mixing starts in the next step, when every query meets every key.",
};
