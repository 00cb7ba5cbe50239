// Step · PyTorch vs NumPy: the same function written twice, and the same numbers from both on the reader's
// text.
import { checked, fmt, h, keyboardScrollable } from "../lib/dom.js";
import { fetchSource } from "../lib/source.js";
import { figure } from "../vis/figure.js";
import { tokenLabel } from "../vis/tokens.js";

const FUNCTIONS = [
  "softmax",
  "layer_norm",
  "gelu",
  "LayerNorm.__call__",
  "CausalSelfAttention.__call__",
  "MLP.__call__",
  "Block.__call__",
  "embed_tokens",
  "GPT.forward",
];
// An nn.Module runs through forward(); its NumPy twin is a plain callable
const torchName = (fn) => fn.replace(/\.__call__$/, ".forward");
const sci = (x) => (x === 0 ? "0" : x.toExponential(2));

export default {
  defaults: { fn: "CausalSelfAttention.__call__", layer: 0, head: 0 },
  code: { module: "explain", name: "compare_traces", only: false },
  formula:
    String.raw`\Delta_{\text{tensor}} = \max_i \big|x_i^{\text{NumPy}} - x_i^{\text{PyTorch}}\big| ` +
    String.raw`\approx 10^{-6}\ \text{(float32)}`,

  controls(ctx) {
    const s = ctx.state();
    const m = ctx.model();
    const pick = (id, key, label, values, value) => {
      const el = h(
        "select",
        { id, "data-key": key, "aria-label": label },
        values.map((v) => h("option", { value: v, selected: String(v) === String(value) }, String(v))),
      );
      el.addEventListener("change", () =>
        ctx.set({ [key]: typeof value === "number" ? Number(el.value) : el.value }),
      );
      ctx.controls.append(h("label", { for: id }, label), el);
    };
    pick("twin-fn", "fn", "Function", FUNCTIONS.includes(s.fn) ? FUNCTIONS : [s.fn, ...FUNCTIONS], s.fn);
    pick("twin-layer", "layer", "Layer", [...Array(m.n_layer).keys()], s.layer);
    pick("twin-head", "head", "Head", [...Array(m.n_head).keys()], s.head);
  },

  async load(state, ctx) {
    const m = ctx.model();
    const text = state.text.slice(0, m.context) || "ROMEO:";
    const layer = Math.min(state.layer, m.n_layer - 1);
    const head = Math.min(state.head, m.n_head - 1);
    const trace = (backend) => ctx.api.postJSON("/api/trace", { model: m.name, text, backend, layer, head });
    const [numpy, torch, compare, srcN, srcT] = await Promise.all([
      trace("numpy"),
      trace("torch"),
      ctx.api.postJSON("/api/compare-backends", { model: m.name, text }),
      fetchSource("numpy", state.fn),
      fetchSource("torch", torchName(state.fn)),
    ]);
    return { numpy, torch, compare, srcN, srcT, layer, head, text, model: m };
  },

  render(d, state, ctx) {
    const { numpy, torch, compare, layer, head, model } = d;
    const T = numpy.tokens.length;
    const who = `${model.name} on your text (${T} tokens)`;

    const src = figure(ctx.figures, {
      title: `${state.fn} (NumPy) and ${torchName(state.fn)} (PyTorch)`,
      caption:
        `The served source of ${d.srcN.name} in ${d.srcN.module} (line ${d.srcN.first_line}) ` +
        `and ${d.srcT.name} in ${d.srcT.module} (line ${d.srcT.first_line}): the same names in the ` +
        "same order, so the two read like a translation.",
      name: "twin-source",
      data: { numpy: d.srcN, torch: d.srcT },
      panel: "source",
    });
    src.body.append(
      h(
        "div",
        { class: "grid cols-2", style: "align-items:start" },
        [
          ["NumPy", d.srcN],
          ["PyTorch", d.srcT],
        ].map(([name, s]) =>
          h(
            "div",
            { "data-twin": name },
            h("h4", { class: "small" }, `${name} · ${s.module}:${s.first_line}`),
            keyboardScrollable(
              h("pre", { class: "code", style: "font-size:0.72rem;max-height:420px" }, s.source),
              `the ${name} source`,
            ),
          ),
        ),
      ),
    );

    const last = T - 1;
    const rowN = numpy.attention[layer][head][last];
    const rowT = torch.attention[layer][head][last];
    const same = figure(ctx.figures, {
      title: `The same numbers: layer ${layer}, head ${head}, last token's attention`,
      answer: true,
      caption:
        `POST /api/trace with backend numpy and with backend torch, ${who}: how much the last ` +
        `token ${JSON.stringify(numpy.tokens[last])} attends to each earlier token, then the five ` +
        "likeliest next tokens. Values are rounded to 4 decimals by the API.",
      name: "twin-values",
      data: {
        numpy: { attention: rowN, next_token: numpy.next_token },
        torch: { attention: rowT, next_token: torch.next_token },
      },
      panel: "values",
    });
    const cell = (backend, path, v, digits = 4) =>
      h("td", { class: "num" }, checked(h("span", {}, fmt(v, digits)), `${backend}.${path}`, v));
    const start = Math.max(0, T - 12);
    const att = [];
    for (let j = start; j < T; j++) {
      const p = `attention.${layer}.${head}.${last}.${j}`;
      att.push(
        h(
          "tr",
          {},
          h("th", { class: "mono" }, `${j} ${tokenLabel(numpy.tokens[j])}`),
          cell("numpy", p, rowN[j]),
          cell("torch", p, rowT[j]),
          h("td", { class: "num" }, sci(Math.abs(rowN[j] - rowT[j]))),
        ),
      );
    }
    const next = numpy.next_token.slice(0, 5).map((c, k) => {
      const t = torch.next_token[k];
      return h(
        "tr",
        {},
        h("th", { class: "mono" }, `${tokenLabel(c.token)} | ${tokenLabel(t.token)}`),
        cell("numpy", `next_token.${k}.prob`, c.prob),
        cell("torch", `next_token.${k}.prob`, t.prob),
        h("td", { class: "num" }, c.id === t.id ? sci(Math.abs(c.prob - t.prob)) : "other token"),
      );
    });
    const head4 = (a) =>
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, a),
          h("th", { class: "num" }, "NumPy"),
          h("th", { class: "num" }, "PyTorch"),
          h("th", { class: "num" }, "|Δ|"),
        ),
      );
    same.body.append(
      h(
        "div",
        { class: "grid cols-2", style: "align-items:start" },
        h(
          "table",
          { class: "data", "data-table": "attention" },
          head4(start ? `key (last ${T - start})` : "key"),
          h("tbody", {}, att),
        ),
        h(
          "table",
          { class: "data", "data-table": "next" },
          head4("next token (np | torch)"),
          h("tbody", {}, next),
        ),
      ),
    );

    const diff = figure(ctx.figures, {
      title: "Max absolute difference per traced tensor",
      caption:
        `POST /api/compare-backends, ${who}: one traced float32 forward per backend, every tensor ` +
        "compared. Differences near 10⁻⁶ are float32 rounding in a different order of operations; " +
        "a bug would show as 10⁻³ or more.",
      name: "twin-diff",
      data: compare,
      panel: "diff",
    });
    const rows = Object.entries(compare.max_abs_diff).map(([k, v]) => {
      const w = v > 0 ? Math.max(2, Math.min(100, (Math.log10(v) + 9) * 14)) : 0; // 1e-9 … 1e-2 on a log axis
      return h(
        "tr",
        { "data-tensor": k },
        h("th", { class: "mono" }, k),
        h(
          "td",
          { class: "num" },
          checked(h("span", { title: String(v) }, sci(v)), `compare.max_abs_diff.${k}`, v),
        ),
        h(
          "td",
          { style: "width:45%" },
          h("div", {
            class: "bar",
            style: `width:${w}%;height:10px;background:var(--accent)`,
            title: `log scale: ${sci(v)}`,
          }),
        ),
      );
    });
    const ms = Object.fromEntries(compare.timings.map((t) => [t.backend, t.ms]));
    diff.body.append(
      h(
        "table",
        { class: "data", "data-table": "diff", style: "width:100%" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, "tensor"),
            h("th", { class: "num" }, "max |NumPy − PyTorch|"),
            h("th", {}, "log scale 10⁻⁹ … 10⁻²"),
          ),
        ),
        h("tbody", {}, rows),
      ),
      h(
        "p",
        { class: "small", "data-timings": "" },
        `One traced forward of ${compare.tokens} tokens: NumPy ${fmt(ms.numpy, 1)} ms, ` +
          `PyTorch ${fmt(ms.torch, 1)} ms (one CPU thread each; the first request after start-up also ` +
          "pays for loading).",
      ),
    );
  },

  question(d) {
    const a = d.numpy.next_token[0];
    const b = d.torch.next_token[0];
    const agree = a.id === b.id;
    return {
      prompt:
        "Greedy decoding takes the likeliest next token. Will NumPy and PyTorch pick the same one " +
        "for your text?",
      choices: ["yes, the same token", "no, they differ"],
      answer: agree ? 0 : 1,
      reveal:
        `NumPy: ${JSON.stringify(a.token)} at ${fmt(a.prob, 4)}; PyTorch: ${JSON.stringify(b.token)} ` +
        `at ${fmt(b.prob, 4)}. The logits differ by at ` +
        `most ${sci(d.compare.max_abs_diff.logits ?? 0)}, far less than the gap between the top two ` +
        "candidates, so the order of the candidates, and the token, is the same. Sampling is shared " +
        "code with a seeded generator, so sampled text matches too.",
    };
  },

  prose: (d) =>
    `The served model exists twice: ${d.srcT.module} is the PyTorch version the model was trained ` +
    `with, ${d.srcN.module} a plain NumPy translation that loads the same weights file. ` +
    "Every class and function has the same name, in the same order, with the same shape comments, " +
    "and the numerics are pinned identically: GELU's tanh form, LayerNorm's biased variance with eps " +
    `inside the square root, softmax after subtracting the maximum, masks as −∞.\n\nSo the same text ` +
    "gives the same numbers, up to float32 rounding: the two libraries add the same products in a " +
    "different order. That is why the differences are about one part in a million and not zero, and " +
    "why the tests compare with a tolerance of 1e-5, tight enough to catch a wrong GELU variant " +
    "(about 4e-5).",
};
