// Step · Training: every served model's loss curves, its learning-rate schedule and its card's final numbers.
import { getJSON } from "../lib/api.js";
import { checked, fmt, h } from "../lib/dom.js";
import { figure } from "../vis/figure.js";
import { PALETTE, render as lines } from "../vis/linechart.js";

export const X = { steps: ["step", "optimiser step"], tokens: ["tokens", "training tokens seen"], time: ["elapsed_s", "wall time (s)"] };
export const Y = { loss: "loss (nats/token)", bpc: "bits per character" };
const cache = new Map();
const once = (url) => cache.get(url) || cache.set(url, getJSON(url).catch(() => null)).get(url);

// Every served language model's metrics log (null where none is shipped): [{model, records}].
// Task models (numbers to words) train on another loss, so their curves would not compare.
export async function loadLogs(models) {
  const gpts = models.filter((m) => (m.task ?? m.card?.task ?? "lm") === "lm" && m.architecture !== "encoder");
  const logs = await Promise.all(gpts.map((m) => once(`/api/models/${encodeURIComponent(m.name)}/metrics`)));
  return gpts.map((m, i) => ({ model: m, records: logs[i]?.records || null }));
}

// nats/token → bits/char with the split's own tokens per character (1 for a character tokenizer)
function perChar(m, split) {
  const s = m.card?.data?.splits?.[split];
  return s?.chars ? s.tokens / s.chars / Math.LN2 : 1 / Math.LN2;
}

// Train (dashed) and validation (solid) curves of every model on one chart; x and y as chosen.
export function curves(parent, logs, { x = "steps", y = "loss", name = "loss-curves", panel = "curves" } = {}) {
  const have = logs.filter((l) => l.records?.length);
  const [xKey, xLabel] = X[x] || X.steps;
  const series = [];
  const short = shortNames(have.map((l) => l.model.name));
  have.forEach(({ model: m, records }, k) => {
    const colour = PALETTE[k % PALETTE.length];
    const pt = (r, key) => [r[xKey], y === "bpc" ? (key === "val" ? r.val_bpc : r.train_loss * perChar(m, "train")) : r[`${key}_loss`]];
    const ok = records.filter((r) => Number.isFinite(r[xKey]));
    series.push({ name: `${short[k]}val`, colour, points: ok.map((r) => pt(r, "val")) });
    series.push({ name: `${short[k]}train`, colour, dash: "5 4", width: 1.5, points: ok.map((r) => pt(r, "train")) });
  });
  const f = figure(parent, {
    title: `Loss curves: ${Y[y] || Y.loss} against ${xLabel}`,
    caption: `From each served model's metrics log (${have.map((l) => l.model.name).join(", ") || "none shipped"}): one point per evaluation, ` +
      "solid = validation, dashed = training, both on fixed batches. " +
      (y === "bpc" ? "Bits per character divide by ln 2 and by each split's characters per token, so char and BPE models compare fairly." : ""),
    name,
    data: have.map((l) => ({ model: l.model.name, records: l.records })),
    panel,
  });
  if (!series.length) f.body.append(h("p", { class: "muted" }, "No served model ships a metrics log."));
  else {
    const svg = lines(f.body, series, { xLabel, yLabel: Y[y] || Y.loss, width: 720, height: 320, readout: f.readout, label: "loss curves" });
    svg.style.maxWidth = "100%";
    svg.style.height = "auto";
  }
  return f;
}

// Legend labels: the names without their shared prefix ("char ", "bpe "), nothing for a single model.
export function shortNames(names) {
  if (names.length < 2) return names.map(() => "");
  let p = names[0];
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  p = p.slice(0, p.lastIndexOf("-") + 1);
  return names.map((n) => `${n.slice(p.length)} `);
}

// A segmented toggle that writes one state key.
export function toggle(label, key, options, value, onPick) {
  return h("div", { class: "segmented", role: "group", "aria-label": label },
    Object.entries(options).map(([k, text]) => h("button", { type: "button", "aria-pressed": String(k === value), "data-key": key,
      "data-value": k, "aria-label": `${label}: ${text}`, onclick: () => onPick(k) }, text)));
}

export default {
  noText: true,
  defaults: { x: "steps", y: "loss" },
  code: { name: "cross_entropy", only: false },
  formula: String.raw`\begin{gathered}\mathcal{L} = -\tfrac{1}{N}\textstyle\sum_i \log p(t_i \mid t_{<i}) \qquad \text{bpc} = \dfrac{\mathcal{L}}{\ln 2}\cdot\dfrac{\text{tokens}}{\text{chars}}\\
    \eta_s = \begin{cases}\eta\,(s+1)/w & s < w\\ \eta_{\min} + \tfrac12\big(1+\cos\pi\tfrac{s-w}{S-w}\big)(\eta-\eta_{\min}) & s \ge w\end{cases}\end{gathered}`,

  controls(ctx) {
    const s = ctx.state();
    const xs = { steps: "steps", tokens: "tokens", time: "wall time" };
    ctx.controls.append(h("span", { class: "small" }, "x"), toggle("x axis", "x", xs, s.x, (k) => ctx.set({ x: k })),
      h("span", { class: "small" }, "y"), toggle("y axis", "y", { loss: "loss", bpc: "bits/char" }, s.y, (k) => ctx.set({ y: k })));
  },

  async load(state, ctx) {
    const logs = await loadLogs(ctx.models);
    const schedules = await Promise.all(logs.map((l) => once(`/api/models/${encodeURIComponent(l.model.name)}/schedule`)));
    return { logs, schedules };
  },

  render({ logs, schedules }, state, ctx) {
    for (const b of ctx.controls.querySelectorAll("[data-value]")) b.setAttribute("aria-pressed", String(state[b.dataset.key] === b.dataset.value));
    curves(ctx.figures, logs, { x: state.x, y: state.y });

    const lr = figure(ctx.figures, {
      title: "Learning-rate schedule: linear warm-up, then cosine decay",
      caption: "lr_at(step) of the training code, evaluated with each model's saved settings (card.json → training). " +
        schedules.filter(Boolean).map((s) => `${s.model}: peak ${s.lr} after ${s.warmup} warm-up steps, floor ${s.min_lr} at step ${s.decay_steps}`).join("; "),
      name: "lr-schedule",
      data: schedules,
      panel: "schedule",
    });
    const short = shortNames(schedules.map((s) => s?.model || ""));
    const series = schedules.map((s, k) => s && { name: short[k] || "lr", colour: PALETTE[k % PALETTE.length], points: s.steps.map((x, i) => [x, s.lrs[i] * 1e3]) });
    const svg = lines(lr.body, series.filter(Boolean), { xLabel: "optimiser step", yLabel: "learning rate (×10⁻³)", width: 720, height: 200,
      readout: lr.readout, label: "learning-rate schedule", yMin: 0 });
    svg.style.maxWidth = "100%";
    svg.style.height = "auto";

    const t = figure(ctx.figures, {
      title: "Final numbers from the model cards",
      caption: "card.json of each served model, losses in nats per token: training and validation loss at the last evaluation (fixed batches), and the " +
        "validation split measured whole by the NumPy twin after shipping. Gap = validation − training.",
      name: "cards",
      data: ctx.models.map((m) => ({ model: m.name, card: m.card })),
      panel: "cards",
    });
    const cols = ["model", "tokenizer", "steps", "train", "val", "gap", "val (split)", "ppl", "bits/char"];
    const rows = ctx.models.map((m, i) => {
      const c = m.card || {};
      const v = c.validation || {};
      const num = (key, value, d = 4) => h("td", { class: "num" }, value === undefined ? "—" : checked(h("span", {}, fmt(value, d)), `models.${i}.card.${key}`, value));
      return h("tr", { "data-model": m.name }, h("th", {}, m.name), h("td", {}, m.tokenizer),
        h("td", { class: "num", title: `${(c.tokens ?? 0).toLocaleString()} tokens` }, (c.steps ?? 0).toLocaleString()),
        num("train_loss", c.train_loss), num("val_loss", c.val_loss),
        h("td", { class: "num" }, c.val_loss !== undefined && c.train_loss !== undefined ? fmt(c.val_loss - c.train_loss, 4) : "—"),
        num("validation.loss", v.loss), num("validation.perplexity", v.perplexity, 3), num("validation.bits_per_char", v.bits_per_char, 3));
    });
    t.body.append(h("table", { class: "data", style: "font-size:0.82rem" }, h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))), h("tbody", {}, rows)));
  },

  question({ logs }, state, ctx) {
    const l = logs.find((x) => x.model.name === state.model && x.records?.length);
    if (!l) return null;
    const r = l.records[l.records.length - 1];
    const above = r.val_loss > r.train_loss;
    return {
      prompt: `At ${l.model.name}'s last evaluation (step ${r.step}), is the validation loss above or below the training loss?`,
      choices: ["above: worse on unseen text", "below: better on unseen text"],
      answer: above ? 0 : 1,
      reveal: `Validation ${fmt(r.val_loss, 4)} vs training ${fmt(r.train_loss, 4)} nats/token: a gap of ${fmt(r.val_loss - r.train_loss, 4)}. ` +
        (above ? "The model fits the text it trained on a little better than new text: the start of over-fitting, held back by dropout and weight decay."
          : "Dropout is on while the training loss is measured, which can make training look harder than validation."),
    };
  },

  prose: () =>
    "Training shows the model a window of text and asks it to predict every next token; the loss is the average negative log-probability " +
    "it gave the right one. Every few hundred steps the run measures the loss on fixed batches of training text and of held-out validation " +
    "text: those points are the curves. While both fall together the model is learning the language; when training keeps falling and " +
    "validation stalls or rises, the model is memorising its training text (over-fitting).\n\n" +
    "The learning rate starts tiny and climbs during warm-up, because the first updates of a random model are large and noisy; it then " +
    "decays along a cosine so the last steps make fine adjustments.\n\n" +
    "Loss per token depends on the tokenizer: a BPE token covers several characters, so its loss is larger. Bits per character divides " +
    "that out and lets a character model and a BPE model be compared on the same text.",
};
