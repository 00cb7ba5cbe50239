// Step 8 · Multi-head attention: every head of one layer side by side, what each looks at, how they are
// joined.
import { checked, fmt, h } from "../lib/dom.js";
import { range } from "../lib/math.js";
import { figure } from "../vis/figure.js";
import { HEAD_COLOURS, render as headview } from "../vis/headview.js";
import { render as heatmap } from "../vis/heatmap.js";
import { s, svgRoot } from "../vis/svg.js";
import { quotedToken } from "../vis/tokens.js";

const KINDS = {
  previous: "the previous token",
  self: "itself",
  first: "the first token",
  same: "earlier copies of its own token",
};

// Mean weight a head puts on the previous token, itself, the first token, and earlier copies of the
// query's own token, over the queries that have such a key (query 0 sees only itself and is left out).
export function patterns(A, ids) {
  const sums = { previous: [0, 0], self: [0, 0], first: [0, 0], same: [0, 0] };
  const add = (k, v) => {
    sums[k][0] += v;
    sums[k][1] += 1;
  };
  for (let i = 1; i < ids.length; i++) {
    add("previous", A[i][i - 1]);
    add("self", A[i][i]);
    add("first", A[i][0]);
    const copies = range(i).filter((j) => ids[j] === ids[i]);
    const weight = copies.reduce((w, j) => w + A[i][j], 0);
    if (copies.length) add("same", weight);
  }
  const out = Object.entries(sums)
    .filter(([, [, n]]) => n)
    .map(([k, [sum, n]]) => ({ kind: k, mean: sum / n }));
  return out.sort((a, b) => b.mean - a.mean);
}

function select(ctx, key, label) {
  const el = h("select", { id: `lesson-${key}`, "data-key": key, "aria-label": label });
  el.addEventListener("change", () => ctx.set({ [key]: Number(el.value) }));
  ctx.controls.append(h("label", { for: el.id }, label), el);
}

function fillSelect(key, options, value) {
  const el = document.getElementById(`lesson-${key}`);
  el.replaceChildren(...options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
}

export default {
  defaults: { layer: 0, head: -1 },
  code: {
    name: "CausalSelfAttention.__call__",
    highlight: ["reshape(B, T, nh, hs)", "reshape(B, T, C)", "self.c_proj(y)"],
    only: false,
  },
  formula:
    String.raw`\begin{aligned}\text{head}_i &= \operatorname{softmax}\!\Big(\tfrac{Q_i K_i^{\top}}{` +
    String.raw`\sqrt{d_{\text{head}}}} + M\Big) V_i \in \mathbb{R}^{T` +
    String.raw`\times d_{\text{head}}}\\\operatorname{MultiHead}(X) &= ` +
    String.raw`\big[\text{head}_1 \,\|\, \cdots \,\|\, \text{head}_{n_h}\big]\, W_O \in \mathbb{R}^{T` +
    String.raw`\times C}\end{aligned}`,

  controls(ctx) {
    select(ctx, "layer", "Layer");
    select(ctx, "head", "Head view");
  },

  async load(state, ctx) {
    const layer = Math.min(Math.max(0, state.layer), ctx.model().n_layer - 1);
    return ctx.api.postJSON("/api/trace", { model: state.model, text: state.text, layer });
  },

  render(trace, state, ctx) {
    const m = ctx.model();
    const L = trace.layer;
    const A = trace.attention[L];
    const nh = A.length;
    const T = trace.tokens.length;
    const hs = m.n_embd / nh;
    fillSelect(
      "layer",
      trace.attention.map((_, l) => [l, `layer ${l}`]),
      L,
    );
    fillSelect(
      "head",
      [[-1, "all heads"], ...A.map((_, k) => [k, `head ${k}`])],
      state.head < nh ? state.head : -1,
    );
    const found = A.map((a) => patterns(a, trace.ids));

    const f = figure(ctx.figures, {
      title: `Layer ${L}: all ${nh} heads side by side`,
      answer: true,
      caption:
        `Attention weights of ${trace.model}, layer ${L}, every head, on your text (row = query, ` +
        "column = key; hatched = masked future). Under each map: the key the last token attends to " +
        "most, and the pattern the head follows most on average. Click a map to follow that head " +
        "below.",
      name: `heads-L${L}`,
      data: { tokens: trace.tokens, attention: A, patterns: found },
    });
    const cell = Math.max(4, Math.min(14, Math.floor(140 / T)));
    const grid = h("div", {
      class: "grid",
      "data-heads": nh,
      style: "grid-template-columns:repeat(auto-fill,minmax(170px,1fr))",
    });
    f.body.style.maxHeight = "none";
    A.forEach((a, k) => {
      const box = h("div", { "data-head": k });
      const map = h("div");
      heatmap(
        map,
        { matrix: a, rows: trace.tokens, cols: trace.tokens },
        {
          mask: trace.mask,
          min: 0,
          max: 1,
          cell,
          readout: f.readout,
          rowTitle: `head ${k} query`,
          colTitle: "key",
          label: `layer ${L} head ${k} attention`,
          onClick: () => ctx.set({ head: k }),
        },
      );
      const last = a[T - 1];
      const best = last.reduce((b, w, j) => (w > last[b] ? j : b), 0);
      const top = found[k][0];
      box.append(
        h(
          "h4",
          {},
          h("span", {
            class: "swatch",
            style:
              "display:inline-block;width:12px;height:12px;" +
              `background:${HEAD_COLOURS[k % HEAD_COLOURS.length]}`,
          }),
          ` head ${k}`,
        ),
        map,
        h(
          "p",
          { class: "small" },
          `last token ${quotedToken(trace.tokens[T - 1])} → ${quotedToken(trace.tokens[best])} `,
          checked(
            h("b", { class: "mono" }, fmt(last[best], 3)),
            `trace.attention.${L}.${k}.${T - 1}.${best}`,
            last[best],
          ),
        ),
        h(
          "p",
          { class: "small muted", "data-pattern": top?.kind || "" },
          top
            ? `mostly ${KINDS[top.kind]} ` +
                `(mean ${fmt(top.mean, 2)})${top.mean < 0.3 ? ", but spread out" : ""}`
            : "one token: nothing to compare",
        ),
      );
      grid.append(box);
    });
    f.body.append(grid);

    const shown = state.head >= 0 && state.head < nh ? [state.head] : A.map((_, k) => k);
    const g = figure(ctx.figures, {
      title:
        shown.length > 1 ? `Head view: layer ${L}, all heads` : `Head view: layer ${L}, head ${shown[0]}`,
      caption:
        `${trace.model}, layer ${L}, on your text. Each query (left) is joined to the keys (right) ` +
        "it attends to; line opacity = weight, one colour per head. Hover or focus a token on the " +
        "left to isolate its lines.",
      name: `headview-L${L}`,
      answer: true,
      data: { tokens: trace.tokens, attention: A, heads: shown },
    });
    g.body.style.maxHeight = "none"; // every token in view, however long the text (the page scrolls)
    headview(
      g.body,
      { tokens: trace.tokens, attention: A, heads: shown },
      { readout: g.readout, pinned: T - 1 },
    );

    const c = figure(ctx.figures, {
      title: "Concatenate, then project",
      caption:
        `Shapes in ${trace.model} for your ${T} tokens: ${nh} heads each return T × d_head = ${T} ` +
        `× ${hs}; side by side they make T × nh·d_head = ${T} × ${nh * hs}, and c_proj (W_O, ${m.n_embd} ` +
        `× ${m.n_embd}) maps that back to T × C = ${T} × ${m.n_embd}.`,
      name: "concat-project",
      data: { tokens: T, heads: nh, head_size: hs, concatenated: nh * hs, channels: m.n_embd },
    });
    c.body.append(shapes(nh, T, hs, m.n_embd));
  },

  question(trace) {
    const A = trace.attention[trace.layer];
    if (trace.tokens.length < 3 || A.length < 2) return null;
    const prev = A.map((a) => patterns(a, trace.ids).find((p) => p.kind === "previous").mean);
    const best = prev.reduce((b, v, k) => (v > prev[b] ? k : b), 0);
    // the brightest cell just below the diagonal of that head's map, named from the numbers
    const below = range(trace.tokens.length).slice(1);
    const q = below.reduce((a, i) => (A[best][i][i - 1] > A[best][a][a - 1] ? i : a), 1);
    const tok = (i) => quotedToken(trace.tokens[i]);
    return {
      prompt: `Which head of layer ${trace.layer} puts the most weight on the token just before each query?`,
      choices: A.map((_, k) => `head ${k}`),
      answer: best,
      reveal:
        `Head ${best}: on average ${fmt(prev[best], 3)} of each query's weight goes to the previous ` +
        `token (the others: ${prev.map((v, k) => `head ${k} ${fmt(v, 2)}`).join(", ")}). ` +
        `In head ${best}'s map the cells just below the diagonal are that pattern; the brightest of them ` +
        `(the most yellow) is query ${q} ${tok(q)} → key ${q - 1} ${tok(q - 1)}, weight ` +
        `${fmt(A[best][q][q - 1], 3)}.`,
    };
  },

  prose: (trace, state) => {
    const A = trace.attention[trace.layer];
    return (
      "One attention head can only follow one pattern of weights at a time. A layer therefore " +
      `runs ${A.length} heads in parallel, each with its own slices of W_q, W_k and W_v, so one can ` +
      "look back one token while another looks for the start of the text or for earlier copies of " +
      `the same character.\n\nEach head returns a small vector per token (d_head numbers). ` +
      "The heads' outputs are laid side by side — concatenated — into one vector of C numbers per " +
      "token, and one more learned matrix (c_proj) mixes them before the result is added to the " +
      "residual stream. The labels under each map are measured on your text; change the layer " +
      `(now ${state.layer}) to see other heads.`
    );
  },
};

// Boxes for the shapes: nh heads T × hs → T × nh·hs → · W_O → T × C.
function shapes(nh, T, hs, C) {
  const w = 620;
  const svg = svgRoot(w, 120, "concatenation and projection shapes");
  const unit = 150 / (nh * hs);
  let x = 4;
  for (let k = 0; k < nh; k++) {
    svg.append(
      s("rect", {
        x,
        y: 20,
        width: hs * unit,
        height: 70,
        fill: HEAD_COLOURS[k % HEAD_COLOURS.length],
        "fill-opacity": 0.75,
      }),
      s("text", { x: x + (hs * unit) / 2, y: 14, "text-anchor": "middle" }, `h${k}`),
    );
    x += hs * unit + 4;
  }
  svg.append(s("text", { x: 4, y: 108 }, `${nh} × (${T} × ${hs})`));
  const arrow = (x0, label) =>
    svg.append(
      s("text", { x: x0, y: 60, "text-anchor": "middle" }, "→"),
      s("text", { x: x0, y: 108, "text-anchor": "middle" }, label),
    );
  arrow(x + 20, "concat");
  const cx = x + 44;
  for (let k = 0; k < nh; k++) {
    svg.append(
      s("rect", {
        x: cx + k * hs * unit,
        y: 20,
        width: hs * unit,
        height: 70,
        fill: HEAD_COLOURS[k % HEAD_COLOURS.length],
        "fill-opacity": 0.75,
      }),
    );
  }
  svg.append(s("text", { x: cx, y: 108 }, `${T} × ${nh * hs}`));
  arrow(cx + 150 + 30, "· W_O");
  const px = cx + 150 + 60;
  svg.append(
    s("rect", { x: px, y: 20, width: C * unit, height: 70, fill: "#31688e", "fill-opacity": 0.85 }),
    s("text", { x: px, y: 108 }, `${T} × ${C} (T × C)`),
  );
  return svg;
}
