// Step 11 · The KV cache: what is kept per layer, and the measured cost of each step with and without it.
import { checked, fmt, h } from "../lib/dom.js";
import { figure } from "../vis/figure.js";
import { render as linechart } from "../vis/linechart.js";
import { render as renderTokens } from "../vis/tokens.js";

const kb = (bytes) => `${fmt(bytes / 1024, 1)} KB`;
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

export default {
  defaults: { max_tokens: 32, backend: "numpy" },
  code: {
    name: "CausalSelfAttention.__call__",
    highlight: ["layer_past", "return self.c_proj(y), (k, v)"],
    only: true,
    context: 0,
  },
  formula:
    String.raw`\begin{aligned}\text{cache} &= 2 \cdot L \cdot B ` +
    String.raw`\cdot n_h \cdot T_k \cdot d_{\text{head}} \text{ ` +
    String.raw`numbers}\\\text{step with cache} &: 1 \text{ query} \times T_k \text{ keys}\\ ` +
    String.raw`\text{step without} &: T_k \text{ queries} \times T_k \text{ keys}\end{aligned}`,

  controls(ctx) {
    const st = ctx.state();
    const n = h("input", {
      type: "number",
      id: "lesson-n",
      min: 1,
      max: 64,
      value: st.max_tokens,
      "data-key": "max_tokens",
      "aria-label": "new tokens",
      style: "width:5em",
    });
    n.addEventListener("change", () =>
      ctx.set({ max_tokens: Math.max(1, Math.min(64, Math.round(Number(n.value)) || 1)) }),
    );
    const backend = h(
      "select",
      { id: "lesson-backend", "data-key": "backend", "aria-label": "backend" },
      ...["numpy", "torch"].map((b) =>
        h("option", { value: b, selected: b === st.backend }, b === "torch" ? "PyTorch" : "NumPy"),
      ),
    );
    backend.addEventListener("change", () => ctx.set({ backend: backend.value }));
    ctx.controls.append(
      h("label", { for: "lesson-n" }, "New tokens"),
      n,
      h("label", { for: "lesson-backend" }, "Backend"),
      backend,
    );
  },

  async load(state, ctx) {
    const backend = state.backend === "torch" ? "torch" : "numpy";
    return {
      cache: await ctx.api.postJSON("/api/kv-cache", {
        model: state.model,
        text: state.text,
        backend,
        n: state.max_tokens,
      }),
    };
  },

  render({ cache: c }, _state, ctx) {
    const m = ctx.model();
    const tk = c.layers[0].k_shape[2];
    const f = figure(ctx.figures, {
      title: `What is cached: ${c.layers.length} layers × (K, V)`,
      titleAnswer: `, ${kb(c.total_bytes)} in all`,
      caption:
        `The cache ${c.model} (${c.backend}, ${c.dtype}) holds after generating ${c.ids.length} ` +
        `tokens from your ${c.prompt_tokens}-token text: for every layer, the keys and values of ` +
        `all ${tk} tokens fed so far (the last new token is drawn, not yet fed). Shapes are (B, nh, ` +
        "T, hs).",
      name: "kv-cache-shapes",
      data: c.layers,
    });
    f.body.append(
      h(
        "table",
        { class: "data" },
        h(
          "tr",
          {},
          h("th", {}, "layer"),
          h("th", {}, "K"),
          h("th", {}, "V"),
          h("th", { class: "num" }, "bytes"),
        ),
        ...c.layers.map((x, i) =>
          h(
            "tr",
            { "data-layer": i },
            h("td", {}, String(x.layer)),
            h("td", { class: "mono" }, `(${x.k_shape.join(", ")})`),
            h("td", { class: "mono" }, `(${x.v_shape.join(", ")})`),
            h(
              "td",
              { class: "num" },
              checked(
                h("span", { title: `${x.bytes} bytes`, "data-answer": "?" }, x.bytes.toLocaleString("en")),
                `cache.layers.${i}.bytes`,
                x.bytes,
              ),
            ),
          ),
        ),
        h(
          "tr",
          {},
          h("th", { colspan: 3 }, "total"),
          h(
            "th",
            { class: "num" },
            checked(
              h("span", { "data-answer": "?" }, c.total_bytes.toLocaleString("en")),
              "cache.total_bytes",
              c.total_bytes,
            ),
          ),
        ),
      ),
    );
    const text = h("div", { "data-tokens": "" });
    renderTokens(text, c.tokens, { titles: c.tokens.map((_, i) => `new token ${i}: id ${c.ids[i]}`) });
    f.body.append(
      h("p", { class: "small" }, "Greedy continuation:"),
      text,
      h(
        "p",
        { class: "small" },
        "Same tokens with and without the cache: ",
        checked(h("b", {}, c.identical ? "yes" : "no"), "cache.identical", c.identical),
        ".",
      ),
    );

    const pts = (ms) => ms.map((v, i) => [i, v]);
    const totalC = sum(c.cached_ms);
    const totalU = sum(c.uncached_ms);
    const g = figure(ctx.figures, {
      title: `Time per step: ${fmt(totalU / totalC, 1)}× faster with the cache`,
      caption:
        `Wall time of every generation step on this server (${c.backend} twin of ${c.model}, one ` +
        `request, so expect noise). Step 0 runs the whole ${c.prompt_tokens}-token prompt both ways; ` +
        "after that the cached model runs 1 token, the other " +
        `runs ${c.prompt_tokens + 1}, ${c.prompt_tokens + 2}, … tokens again.`,
      name: "kv-cache-timing",
      data: {
        cached_ms: c.cached_ms,
        uncached_ms: c.uncached_ms,
        cached_positions: c.cached_positions,
        uncached_positions: c.uncached_positions,
      },
    });
    linechart(
      g.body,
      [
        { name: "with cache", points: pts(c.cached_ms), markers: true },
        { name: "recompute all", points: pts(c.uncached_ms), markers: true },
      ],
      {
        xLabel: "step",
        yLabel: "ms",
        yMin: 0,
        height: 260,
        readout: g.readout,
        label: "milliseconds per generation step",
      },
    );
    g.body.append(
      h(
        "p",
        { class: "small" },
        `Total: ${fmt(totalC, 1)} ms with the cache, ${fmt(totalU, 1)} ms without, for the same `,
        String(c.ids.length),
        ` tokens (${m.n_layer} layers, context ${m.context}).`,
      ),
    );
  },

  question({ cache: c }) {
    const L = c.layers.length;
    const t = c.total_bytes;
    const [, nh, tk, hs] = c.layers[0].k_shape;
    const r = tk % 4; // the right answer moves with the length
    const values = [t / L, t / 2, t, 2 * t];
    const choices = [...values.slice(r), ...values.slice(0, r)].map(kb);
    return {
      prompt:
        `After ${c.ids.length} new tokens, ${tk} tokens sit in the cache of this ${L}-layer model ` +
        `(${nh} heads of ${hs} numbers, ${c.dtype}). How big is it?`,
      choices,
      answer: choices.indexOf(kb(t)),
      reveal:
        `2 (K and V) × ${L} layers × ${nh} heads × ${tk} tokens × ${hs} numbers ` +
        `× ${c.dtype === "float64" ? 8 : 4} bytes = ${t.toLocaleString("en")} bytes. ` +
        "It grows by one row per layer and head with every token, linearly in the length.",
    };
  },

  prose: ({ cache: c }) =>
    "A decoder generates one token at a time, and every new token attends to all the tokens before " +
    "it. Their keys and values do not change when a token is added — a causal model never lets an " +
    `earlier token see a later one — so they can be computed once and kept.\n\nWith the cache, each ` +
    `step feeds only the newest token: one query against ${c.layers[0].k_shape[2]} kept keys. ` +
    "Without it, the model runs the whole sequence again, so a step costs more the longer the text " +
    "gets, while the cached step stays almost flat. The price is memory: the cache grows with every " +
    "token, layer and head.",
};
