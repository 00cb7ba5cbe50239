// Step · Training: every served model's loss curves, its learning-rate schedule and its card's final numbers.
import { checked, fmt, h, segmentedToggle, syncSegmentedToggles } from "../lib/dom.js";
import { loadMetricsLogs, loadSchedule } from "../lib/metrics.js";
import { figure } from "../vis/figure.js";
import { render as lines, PALETTE } from "../vis/linechart.js";
import { legendNames, lossCurvesFigure } from "../vis/loss-curves.js";

export default {
  noText: true,
  defaults: { x: "steps", y: "loss" },
  code: { name: "cross_entropy", only: false },
  formula:
    String.raw`\begin{gathered}\mathcal{L} = -\tfrac{1}{N}\textstyle\sum_i \log p(t_i \mid t_{<i}) ` +
    String.raw`\qquad \text{bpc} = \dfrac{\mathcal{L}}{\ln 2}\cdot\dfrac{\text{tokens}}{\text{chars}}` +
    String.raw`\\
    \eta_s = \begin{cases}\eta\,(s+1)/w & s < w\\ \eta_{\min} + \tfrac12\big(1+\cos` +
    String.raw`\pi\tfrac{s-w}{S-w}\big)(\eta-\eta_{\min}) & s \ge w\end{cases}\end{gathered}`,

  controls(ctx) {
    const s = ctx.state();
    const xs = { steps: "steps", tokens: "tokens", time: "wall time" };
    ctx.controls.append(
      h("span", { class: "small" }, "x"),
      segmentedToggle("x axis", "x", xs, s.x, (k) => ctx.set({ x: k })),
      h("span", { class: "small" }, "y"),
      segmentedToggle("y axis", "y", { loss: "loss", bpc: "bits/char" }, s.y, (k) => ctx.set({ y: k })),
    );
  },

  async load(_state, ctx) {
    const logs = await loadMetricsLogs(ctx.models);
    const schedules = await Promise.all(logs.map((l) => loadSchedule(l.model.name)));
    return { logs, schedules };
  },

  render({ logs, schedules }, state, ctx) {
    syncSegmentedToggles(ctx.controls, state);
    lossCurvesFigure(ctx.figures, logs, { x: state.x, y: state.y, answer: true });

    const lr = figure(ctx.figures, {
      title: "Learning-rate schedule: linear warm-up, then cosine decay",
      caption:
        "lr_at(step) of the training code, evaluated with each model's saved settings " +
        "(card.json → training). " +
        schedules
          .filter(Boolean)
          .map(
            (s) =>
              `${s.model}: peak ${s.lr} after ${s.warmup} warm-up steps, floor ${s.min_lr} at ` +
              `step ${s.decay_steps}`,
          )
          .join("; "),
      name: "lr-schedule",
      data: schedules,
      panel: "schedule",
    });
    const short = legendNames(schedules.map((s) => s?.model || ""));
    const series = schedules.map(
      (s, k) =>
        s && {
          name: short[k] || "lr",
          colour: PALETTE[k % PALETTE.length],
          points: s.steps.map((x, i) => [x, s.lrs[i] * 1e3]),
        },
    );
    const svg = lines(lr.body, series.filter(Boolean), {
      xLabel: "optimiser step",
      yLabel: "learning rate (×10⁻³)",
      width: 720,
      height: 200,
      readout: lr.readout,
      label: "learning-rate schedule",
      yMin: 0,
    });
    svg.style.maxWidth = "100%";
    svg.style.height = "auto";

    const t = figure(ctx.figures, {
      title: "Final numbers from the model cards",
      answer: true,
      caption:
        "card.json of each served model, losses in nats per token: training and validation loss at " +
        "the last evaluation (fixed batches), and the validation split measured whole by the NumPy " +
        "twin after shipping. Gap = validation − training.",
      name: "cards",
      data: ctx.models.map((m) => ({ model: m.name, card: m.card })),
      panel: "cards",
    });
    const cols = [
      "model",
      "tokenizer",
      "steps",
      "train (last eval)",
      "val (last eval)",
      "gap",
      "validation loss (whole split)",
      "ppl",
      "bits/char",
    ];
    const rows = ctx.models.map((m, i) => {
      const c = m.card || {};
      const v = c.validation || {};
      const cardCell = (key, value, d = 4) =>
        h(
          "td",
          { class: "num" },
          value === undefined ? "—" : checked(h("span", {}, fmt(value, d)), `models.${i}.card.${key}`, value),
        );
      return h(
        "tr",
        { "data-model": m.name },
        h("th", {}, m.name),
        h("td", {}, m.tokenizer),
        h(
          "td",
          { class: "num", title: `${(c.tokens ?? 0).toLocaleString()} tokens` },
          (c.steps ?? 0).toLocaleString(),
        ),
        cardCell("train_loss", c.train_loss),
        cardCell("val_loss", c.val_loss),
        h(
          "td",
          { class: "num" },
          c.val_loss !== undefined && c.train_loss !== undefined ? fmt(c.val_loss - c.train_loss, 4) : "—",
        ),
        cardCell("validation.loss", v.loss),
        cardCell("validation.perplexity", v.perplexity, 3),
        cardCell("validation.bits_per_char", v.bits_per_char, 3),
      );
    });
    t.body.append(
      h(
        "table",
        { class: "data", style: "font-size:0.82rem" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            cols.map((c) => h("th", {}, c)),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  },

  question({ logs }, state) {
    const l = logs.find((x) => x.model.name === state.model && x.records?.length);
    if (!l) return null;
    const r = l.records[l.records.length - 1];
    const above = r.val_loss > r.train_loss;
    return {
      prompt:
        `At ${l.model.name}'s last evaluation (step ${r.step}), is the validation loss above or below ` +
        "the training loss?",
      choices: ["above: worse on unseen text", "below: better on unseen text"],
      answer: above ? 0 : 1,
      reveal:
        `Validation ${fmt(r.val_loss, 4)} vs training ${fmt(r.train_loss, 4)} nats/token: ` +
        `a gap of ${fmt(r.val_loss - r.train_loss, 4)}. ` +
        (above
          ? "The model fits the text it trained on a little better than new text: the start of " +
            "over-fitting, held back by dropout and weight decay."
          : "Dropout is on while the training loss is measured, which can make training look harder " +
            "than validation."),
    };
  },

  prose: () =>
    "Training shows the model a window of text and asks it to predict every next token; " +
    "the loss is the average negative log-probability it gave the right one. Every few hundred steps " +
    "the run measures the loss on fixed batches of training text and of held-out validation text: " +
    "those points are the curves. While both fall together the model is learning the language; " +
    "when training keeps falling and validation stalls or rises, the model is memorising its " +
    "training text (over-fitting).\n\nThe learning rate starts tiny and climbs during warm-up, " +
    "because the first updates of a random model are large and noisy; it then decays along a cosine " +
    "so the last steps make fine adjustments.\n\nLoss per token depends on the tokenizer: " +
    "a BPE token covers several characters, so its loss is larger. Bits per character divides that " +
    "out and lets a character model and a BPE model be compared on the same text.",
};
