// Loss curves of several models on one chart, in a figure frame: training dashed, validation solid,
// x in steps, tokens or wall time, y in nats per token or bits per character.
import { h } from "../lib/dom.js";
import { figure } from "./figure.js";
import { render as lines, PALETTE } from "./linechart.js";

// x choices: [record key, axis label]; y choices: axis label
export const X_AXES = {
  steps: ["step", "optimiser step"],
  tokens: ["tokens", "training tokens seen"],
  time: ["elapsed_s", "wall time (s)"],
};
export const Y_AXES = { loss: "loss (nats/token)", bpc: "bits per character" };

// nats/token → bits/char with the split's own tokens per character (1 for a character tokenizer)
function bitsPerCharFactor(model, split) {
  const s = model.card?.data?.splits?.[split];
  return s?.chars ? s.tokens / s.chars / Math.LN2 : 1 / Math.LN2;
}

// Legend labels: the names without their shared prefix ("char ", "bpe "), nothing for a single model.
export function legendNames(names) {
  if (names.length < 2) return names.map(() => "");
  let p = names[0];
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  p = p.slice(0, p.lastIndexOf("-") + 1);
  return names.map((n) => `${n.slice(p.length)} `);
}

// Train (dashed) and validation (solid) curves of every model in `logs` ([{model, records}], from
// lib/metrics.js loadMetricsLogs) on one chart; x and y as chosen. Returns the figure.
export function lossCurvesFigure(
  parent,
  logs,
  { x = "steps", y = "loss", name = "loss-curves", panel = "curves", answer = false } = {},
) {
  const have = logs.filter((l) => l.records?.length);
  const [xKey, xLabel] = X_AXES[x] || X_AXES.steps;
  const series = [];
  const short = legendNames(have.map((l) => l.model.name));
  have.forEach(({ model: m, records }, k) => {
    const colour = PALETTE[k % PALETTE.length];
    const pt = (r, key) => [
      r[xKey],
      y === "bpc"
        ? key === "val"
          ? r.val_bpc
          : r.train_loss * bitsPerCharFactor(m, "train")
        : r[`${key}_loss`],
    ];
    const ok = records.filter((r) => Number.isFinite(r[xKey]));
    series.push({ name: `${short[k]}val`, colour, points: ok.map((r) => pt(r, "val")) });
    series.push({
      name: `${short[k]}train`,
      colour,
      dash: "5 4",
      width: 1.5,
      points: ok.map((r) => pt(r, "train")),
    });
  });
  const f = figure(parent, {
    title: `Loss curves: ${Y_AXES[y] || Y_AXES.loss} against ${xLabel}`,
    caption:
      "From each served model's metrics log " +
      `(${have.map((l) => l.model.name).join(", ") || "none shipped"}): one point per evaluation, ` +
      "solid = validation, dashed = training, both on fixed batches. " +
      (y === "bpc"
        ? "Bits per character divide by ln 2 and by each split's characters per token, so char and BPE " +
          "models compare fairly."
        : ""),
    name,
    data: have.map((l) => ({ model: l.model.name, records: l.records })),
    panel,
    answer,
  });
  if (!series.length) f.body.append(h("p", { class: "muted" }, "No served model ships a metrics log."));
  else {
    const svg = lines(f.body, series, {
      xLabel,
      yLabel: Y_AXES[y] || Y_AXES.loss,
      width: 720,
      height: 320,
      readout: f.readout,
      label: "loss curves",
    });
    svg.style.maxWidth = "100%";
    svg.style.height = "auto";
  }
  return f;
}
