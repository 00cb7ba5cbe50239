// The training lab's live charts: loss (training per step, held-out per evaluation), learning rate,
// gradient norm, tokens/s, held-out exact match, induction score. One or two runs share each chart; a
// run's events only mark the charts dirty and they redraw at most once per animation frame.
import { fmt, h, pct } from "../../lib/dom.js";
import { figure } from "../../vis/figure.js";
import { render as lines, PALETTE } from "../../vis/linechart.js";

const CHARTS = [
  {
    key: "loss",
    title: "Loss",
    y: "loss (nats/token)",
    caption:
      "Cross-entropy of the right next token, lower is better: training loss on each step's batch (thin), " +
      "held-out loss on examples never trained on (thick, at each evaluation).",
    series: [
      ["step", "loss", "training", { width: 1.2 }],
      ["eval", "val_loss", "held-out", { width: 3, markers: true }],
    ],
  },
  {
    key: "accuracy",
    title: "Held-out exact match",
    y: "exact match",
    when: (task) => task !== "shakespeare",
    caption:
      "The share of held-out examples whose whole answer the model gets right, every token of it " +
      "(the most likely token at each answer position is the right one).",
    series: [["eval", "accuracy", "held-out", { width: 2.5, markers: true }]],
    yMin: 0,
    yMax: 1,
  },
  {
    key: "induction",
    title: "Induction score",
    y: "mean attention weight",
    when: (task) => task === "induction",
    caption:
      "For each letter of the second copy, the attention weight a head puts on the letter that came right " +
      "after the same letter in the first copy: what an induction head does to predict the next letter. " +
      "The best head's mean over the second copy, measured on the probe input.",
    series: [["eval", "induction", "best head", { width: 2.5, markers: true }]],
    yMin: 0,
    yMax: 1,
  },
  {
    key: "lr",
    title: "Learning rate",
    y: "learning rate (×10⁻³)",
    scale: 1000,
    caption: "Warm-up raises it from 0, then it decays along a cosine to a tenth of its peak.",
    series: [["step", "lr", "lr", {}]],
  },
  {
    key: "grad_norm",
    title: "Gradient norm",
    y: "‖gradient‖",
    caption:
      "The length of the whole gradient vector at each step (before clipping): large early, calmer later.",
    series: [["step", "grad_norm", "norm", { width: 1.2 }]],
  },
  {
    key: "tokens_per_s",
    title: "Tokens per second",
    y: "tokens/s",
    caption: "Training tokens processed per second at each step, on the server's device.",
    series: [["step", "tokens_per_s", "tokens/s", { width: 1.2 }]],
  },
];

const LETTERS = ["A", "B"];

export function createCharts(root) {
  const figs = new Map();
  // which run is which on every chart, by what differs between them
  const key = h("p", { class: "chart-key", id: "train-chart-key", hidden: true });
  root.before(key);
  const showKey = () => {
    key.hidden = runs.length < 2;
    key.replaceChildren(
      ...runs.flatMap((run, r) => [
        r ? " · " : "",
        h("strong", {}, `${LETTERS[r]}`),
        ` = ${run.label} (${r ? "dashed" : "solid"} lines)`,
      ]),
    );
  };
  let runs = []; // [{label, steps: [], evals: []}]
  let task = null;
  let dirty = false;

  const build = () => {
    root.replaceChildren();
    figs.clear();
    for (const c of CHARTS) {
      if (c.when && !c.when(task)) continue;
      const fig = figure(root, { title: c.title, caption: c.caption, name: `train-${c.key}` });
      fig.root.dataset.chart = c.key;
      fig.body.classList.add("chart");
      figs.set(c.key, { c, fig });
    }
  };

  const value = (record, key) => {
    if (key === "induction") return record.induction_score?.score;
    return record[key];
  };

  const draw = () => {
    dirty = false;
    showKey();
    for (const { c, fig } of figs.values()) {
      const series = [];
      runs.forEach((run, r) => {
        c.series.forEach(([source, key, name, style], i) => {
          const records = source === "step" ? run.steps : run.evals;
          const points = records
            .map((x) => [x.step, (value(x, key) ?? Number.NaN) * (c.scale || 1)])
            .filter((p) => Number.isFinite(p[1]));
          const label = [runs.length > 1 ? LETTERS[r] : "", name].filter(Boolean).join(" ");
          series.push({
            name: label,
            points,
            colour: PALETTE[(2 * r + i) % PALETTE.length],
            dash: r ? "5 3" : null,
            ...style,
          });
        });
      });
      const drawn = series.filter((s) => s.points.length);
      fig.setData(runs.map((run) => ({ label: run.label, steps: run.steps, evals: run.evals })));
      if (!drawn.length) {
        fig.body.replaceChildren(h("p", { class: "muted small" }, "Waiting for the first numbers…"));
        continue;
      }
      const width = Math.max(280, Math.min(640, fig.body.clientWidth || 480));
      const svg = lines(fig.body, drawn, {
        width,
        height: 220,
        xLabel: "step",
        yLabel: c.y,
        label: c.title,
        readout: fig.readout,
        xMin: 0,
        xMax: Math.max(...runs.map((x) => x.total || 1)),
        yMin: c.yMin,
        yMax: c.yMax,
      });
      svg.dataset.points = String(drawn[0].points.length);
      const latest = runs.map((run) => last(run, c)).filter(Boolean);
      if (!fig.body.matches(":hover, :focus-within")) fig.readout.textContent = latest.join(" · ");
    }
  };

  const last = (run, c) => {
    const [source, key] = c.series[0];
    const records = source === "step" ? run.steps : run.evals;
    const x = records.at(-1);
    const v = x && value(x, key);
    if (!Number.isFinite(v)) return null;
    const who = runs.length > 1 ? `${LETTERS[runs.indexOf(run)]} (${run.label}): ` : "";
    const shown =
      c.key === "accuracy" ? pct(v) : c.key === "tokens_per_s" ? fmt(v, 0) : fmt(v, c.scale ? 6 : 4);
    return `${who}step ${x.step}: ${shown}`;
  };

  const schedule = () => {
    if (dirty) return;
    dirty = true;
    requestAnimationFrame(draw);
  };
  new ResizeObserver(() => schedule()).observe(root);

  return {
    // start over for `task` with these runs ([{label, steps, evals, total}], kept by reference)
    reset(newTask, newRuns) {
      task = newTask;
      runs = newRuns;
      build();
      schedule();
    },
    relabel: schedule,
    update: schedule,
  };
}
