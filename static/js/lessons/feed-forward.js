// Step 9 · Feed-forward, residual stream, LayerNorm, pre-LN vs post-LN.
import { checked, fmt, h } from "../lib/dom.js";
import { cardValidationLoss, loadMetrics } from "../lib/metrics.js";
import { figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";
import { render as linechart } from "../vis/linechart.js";
import { quotedToken, tokenLabel } from "../vis/tokens.js";

const NORM = { pre: "pre-LN", post: "post-LN" };
const boldNumber = (path, v, digits = 3) =>
  checked(h("b", { class: "mono", title: String(v) }, fmt(v, digits)), path, v);

function select(ctx, key, label, options) {
  const el = h(
    "select",
    { id: `lesson-${key}`, "data-key": key, "aria-label": label },
    ...options.map(([v, text]) => h("option", { value: v, selected: v === ctx.state()[key] }, text)),
  );
  el.addEventListener("change", () =>
    ctx.set({ [key]: /^-?\d+$/.test(el.value) ? Number(el.value) : el.value }),
  );
  ctx.controls.append(h("label", { for: el.id }, label), el);
  return el;
}

export default {
  defaults: { layer: 0, mlp: "active" },
  code: {
    name: "Block.__call__",
    highlight: ["x = x + a", "x = x + m", "self.ln_1(x + a)", "self.ln_2(x + m)"],
    only: false,
  },
  formula:
    String.raw`\begin{aligned}\text{pre-LN: } & x \leftarrow x + \operatorname{Attn}(` +
    String.raw`\operatorname{LN}_1 x)\\ & x \leftarrow x + \operatorname{MLP}(\operatorname{LN}_2 x)` +
    String.raw`\\\text{post-LN: } & x \leftarrow \operatorname{LN}_1(x + \operatorname{Attn}\,x)\\ & ` +
    String.raw`x \leftarrow \operatorname{LN}_2(x + \operatorname{MLP}\,x)\\\operatorname{LN}(x) &= ` +
    String.raw`\gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta\\ ` +
    String.raw`\operatorname{MLP}(x) &= \operatorname{act}(x W_1 + b_1)\, W_2 + b_2\end{aligned}`,

  controls(ctx) {
    ctx.layerSelect = select(ctx, "layer", "LayerNorm of block", []);
    select(ctx, "mlp", "MLP measure", [
      ["active", "fraction of units > 0"],
      ["mean", "mean activation"],
    ]);
  },

  async load(state, ctx) {
    const m = ctx.model();
    const layer = Math.min(Math.max(0, state.layer), m.n_layer - 1);
    // curves compare only on the same data and vocabulary: language models with the chosen model's tokenizer
    const chosen = ctx.model();
    const gpts = ctx.models.filter(
      (x) => x.architecture === "gpt" && (x.task ?? "lm") === "lm" && x.tokenizer === chosen.tokenizer,
    );
    const [trace, layernorm, ...logs] = await Promise.all([
      ctx.api.postJSON("/api/trace", { model: state.model, text: state.text }),
      ctx.api.postJSON("/api/layernorm", { model: state.model, text: state.text, layer }),
      ...gpts.map((x) => loadMetrics(x)),
    ]);
    return { trace, layernorm, metrics: logs, gpts };
  },

  render(data, state, ctx) {
    const { trace, layernorm: ln, gpts } = data;
    const m = ctx.model();
    const T = trace.tokens.length;
    const L = trace.mlp_mean.length;
    ctx.layerSelect.replaceChildren(
      ...trace.mlp_mean.map((_, l) => h("option", { value: l, selected: l === ln.layer }, `block ${l}`)),
    );

    // residual stream norm through the blocks
    const r = figure(ctx.figures, {
      title: "The residual stream, block by block",
      answer: true,
      caption:
        `‖x‖ of the residual stream in ${trace.model} (${NORM[m.norm]}) on your text: ` +
        `0 = token + position embedding, then after each of the ${L} blocks. Each block adds its ` +
        "attention and MLP output to this running sum.",
      name: "residual-norm",
      data: { tokens: trace.tokens, residual_norm: trace.residual_norm },
    });
    const normsOf = (t) => trace.residual_norm.map((row, l) => [l, row[t]]);
    const mean = trace.residual_norm.map((row, l) => [l, row.reduce((a, b) => a + b, 0) / T]);
    linechart(
      r.body,
      [
        { name: `last ${quotedToken(trace.tokens[T - 1])}`, points: normsOf(T - 1), markers: true },
        { name: `first ${quotedToken(trace.tokens[0])}`, points: normsOf(0), dash: "5 3" },
        { name: "mean of tokens", points: mean, dash: "2 3" },
      ],
      {
        xLabel: "block (0 = embeddings)",
        yLabel: "‖x‖",
        readout: r.readout,
        height: 240,
        yMin: 0,
        label: "residual stream norm per block",
      },
    );
    r.body.append(
      h(
        "p",
        { class: "small" },
        `Last token: ‖x‖ = `,
        boldNumber(`trace.residual_norm.0.${T - 1}`, trace.residual_norm[0][T - 1]),
        " after the embeddings, ",
        boldNumber(`trace.residual_norm.${L}.${T - 1}`, trace.residual_norm[L][T - 1]),
        ` after block ${L - 1}.`,
      ),
    );

    // MLP activity
    const key = state.mlp === "mean" ? "mlp_mean" : "mlp_active";
    const f = figure(ctx.figures, {
      title:
        key === "mlp_mean" ? "MLP: mean activation per token" : "MLP: fraction of hidden units that fire",
      caption:
        `The ${4 * m.n_embd} hidden units of each block's MLP (${m.activation}) in ${trace.model}, ` +
        "on every token of your text. " +
        (key === "mlp_mean"
          ? "Mean of the activations (red above 0, blue below)."
          : "Share of units whose activation is above 0."),
      name: key,
      data: { tokens: trace.tokens, [key]: trace[key] },
    });
    heatmap(
      f.body,
      { matrix: trace[key], rows: trace[key].map((_, l) => `block\u00a0${l}`), cols: trace.tokens },
      {
        scale: key === "mlp_mean" ? "diverging" : "viridis",
        min: 0,
        max: key === "mlp_mean" ? undefined : 1,
        readout: f.readout,
        rowTitle: "",
        colTitle: "token",
        label: key,
        cell: Math.max(10, Math.min(24, Math.floor(640 / T))),
      },
    );

    // LayerNorm worked through on one vector
    const lnInput =
      ln.norm === "pre"
        ? "pre-LN: the residual stream entering the block"
        : "post-LN: the stream plus the attention output";
    const g = figure(ctx.figures, {
      title:
        `LayerNorm by hand: block ${ln.layer}'s ln_1 on ${tokenLabel(ln.token)} ` +
        `(position ${ln.position})`,
      caption:
        `The ${ln.input.length} numbers ${trace.model} feeds block ${ln.layer}'s first LayerNorm for ` +
        `the last token (${lnInput}), normalised to mean 0 and variance 1, then scaled by γ and ` +
        "shifted by β. Hover for each channel.",
      name: `layernorm-L${ln.layer}`,
      data: ln,
    });
    const ch = (v) => v.map((y, c) => [c, y]);
    linechart(
      g.body,
      [
        { name: "x (input)", points: ch(ln.input) },
        { name: "(x − μ)/σ", points: ch(ln.normalised), width: 1 },
        { name: "γ·x̂ + β", points: ch(ln.output), width: 1, dash: "4 2" },
      ],
      {
        xLabel: "channel",
        yLabel: "value",
        readout: g.readout,
        height: 240,
        label: "LayerNorm input and output per channel",
      },
    );
    g.body.append(
      h(
        "p",
        { class: "small" },
        "μ = ",
        boldNumber("layernorm.mean", ln.mean, 4),
        " · σ² = ",
        boldNumber("layernorm.var", ln.var, 4),
        " · σ = √(σ² + ",
        String(ln.eps),
        ") = ",
        boldNumber("layernorm.std", ln.std, 4),
        " → normalised: mean ",
        boldNumber("layernorm.normalised_mean", ln.normalised_mean, 4),
        ", variance ",
        boldNumber("layernorm.normalised_var", ln.normalised_var, 4),
        ".",
      ),
    );

    // training curves of the served models
    const series = [];
    const rows = [];
    data.metrics.forEach((log, i) => {
      if (!log?.records.length) return;
      const model = gpts[i];
      const recs = log.records.filter((x) => Number.isFinite(x.val_loss));
      const last = recs.length - 1;
      const twin = gpts.filter((x, j) => data.metrics[j] && x.norm === model.norm).length > 1;
      series.push({
        name: twin ? model.name.slice(0, 16) : NORM[model.norm] || model.norm,
        points: recs.map((x) => [x.step, x.val_loss]),
      });
      rows.push(
        h(
          "li",
          {},
          `${model.name}, ${NORM[model.norm] || model.norm}: validation loss `,
          cardValidationLoss(model.card) === undefined ? "—" : fmt(cardValidationLoss(model.card), 4),
          " nats (model card, whole split); the curve ends at ",
          boldNumber(
            `metrics.${i}.records.${log.records.indexOf(recs[last])}.val_loss`,
            recs[last].val_loss,
            4,
          ),
          ` at the last evaluation (step ${recs[last].step}, fixed batches)`,
        ),
      );
    });
    if (series.length) {
      const norms = new Set(gpts.filter((_, i) => data.metrics[i]).map((x) => x.norm));
      const c = figure(ctx.figures, {
        title:
          norms.size > 1
            ? "Training: pre-LN and post-LN side by side"
            : `Training curve (${[...norms].map((x) => NORM[x]).join(", ")} only)`,
        caption:
          "Validation loss (nats per token) against training step, from the metrics log of each " +
          `served ${data.gpts[0]?.tokenizer ?? ""}-level language model (the same data and ` +
          "vocabulary, so the curves compare). " +
          (norms.size > 1
            ? "Where LayerNorm sits changes how fast and how stably a model trains."
            : `Only ${[...norms].map((x) => NORM[x]).join(" and ")} models are served now, so there is ` +
              "no other variant to compare with."),
        name: "loss-curves",
        data: data.metrics,
      });
      linechart(c.body, series, {
        xLabel: "step",
        yLabel: "validation loss",
        readout: c.readout,
        height: 240,
        label: "validation loss curves",
      });
      c.body.append(h("ul", { class: "small" }, rows));
    }
  },

  question({ trace, gpts }) {
    const T = trace.tokens.length;
    const L = trace.residual_norm.length - 1;
    const a = trace.residual_norm[0][T - 1];
    const b = trace.residual_norm[L][T - 1];
    const pre = gpts.find((x) => x.name === trace.model)?.norm !== "post";
    return {
      prompt:
        "From the embeddings to the output of the last block, what happens to the size ‖x‖ of the " +
        "last token's residual vector?",
      choices: ["it grows", "it shrinks", "it stays about the same"],
      answer: b > 1.1 * a ? 0 : b < a / 1.1 ? 1 : 2,
      reveal:
        `It goes from ${fmt(a, 3)} to ${fmt(b, 3)} (× ${fmt(b / a, 2)}). ` +
        (pre
          ? "In a pre-LN model every block adds its output to the stream and nothing normalises the " +
            "stream itself, so it tends to grow; the final LayerNorm rescales it before the output " +
            "layer."
          : "In a post-LN model every block ends with a LayerNorm, which pulls the size back to about " +
            "√C times the gain γ."),
    };
  },

  prose: (data) =>
    "After attention, each block runs a feed-forward network (MLP) on every token separately: " +
    `a matrix widens the vector to ${4 * data.layernorm.input.length} numbers (4C), an activation ` +
    "(GELU or ReLU) zeroes or bends the negative ones, and a second matrix brings it back to C " +
    `= ${data.layernorm.input.length}. The heatmap shows how much of that hidden layer fires for ` +
    `each token.\n\nNeither attention nor the MLP replaces the token's vector: each adds its output ` +
    "to it. This running sum is the residual stream, and it lets information pass through many " +
    "blocks unchanged. LayerNorm rescales a vector to mean 0 and variance 1 (then applies a learned " +
    "γ and β). Pre-LN (GPT-2) normalises the input of each sub-layer and leaves the stream itself " +
    "alone; post-LN (the 2017 paper) normalises the stream after each addition, which is harder to " +
    "train deep without a learning-rate warm-up.",
};
