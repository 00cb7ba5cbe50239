// /compare: `playground compare`'s measured table (GET /api/compare-table), then one table over every served
// model with both backends measured live, and all loss curves on one chart.
import { getJSON, postJSON } from "../lib/api.js";
import { checked, debounce, fmt, h, pct, segmentedToggle, syncSegmentedToggles } from "../lib/dom.js";
import { loadMetricsLogs } from "../lib/metrics.js";
import { applyTeacherPresets, pageData, readState, writeState } from "../lib/state.js";
import { figure } from "../vis/figure.js";
import { lossCurvesFigure } from "../vis/loss-curves.js";

const { models } = pageData();
const controls = document.getElementById("compare-controls");
const figures = document.getElementById("compare-figures");
const errorBox = document.getElementById("compare-error");
const defaults = { text: "ROMEO: But soft, what light through yonder window breaks?", x: "tokens", y: "bpc" };
let state = readState(defaults);
const set = (patch) => {
  state = { ...state, ...patch };
  writeState(state, defaults);
};

const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
const int = (v) => (v === undefined ? "—" : Number(v).toLocaleString());
// The table's rows, data-driven: {label, text(m)} or {label, path, digits} (a checked number from the model's
// /api/models entry).
const ROWS = [
  { label: "architecture", text: (m) => m.architecture },
  {
    label: "layers × heads × width",
    text: (m) =>
      m.n_hidden
        ? `${m.n_layer} LSTM layers × ${m.n_hidden} units`
        : `${m.n_layer} × ${m.n_head} × ${m.n_embd}`,
  },
  { label: "LayerNorm", text: (m) => (m.norm ? `${m.norm}-LN` : "–") },
  { label: "positions", text: (m) => m.pos ?? "–" },
  { label: "activation", text: (m) => m.activation ?? "–" },
  { label: "parameters", path: "parameters", format: int },
  { label: "tokenizer", text: (m) => `${m.tokenizer}, ${m.vocab_size} tokens` },
  { label: "context", text: (m) => `${m.context} tokens` },
  { label: "training steps", path: "card.steps", format: int },
  { label: "training tokens", path: "card.tokens", format: int },
  { label: "validation loss (nats/token)", path: "card.validation.loss", digits: 4 },
  { label: "validation perplexity", path: "card.validation.perplexity", digits: 3 },
  { label: "validation bits per char", path: "card.validation.bits_per_char", digits: 3 },
  { label: "held-out exact match (numbers)", path: "card.accuracy.test.exact_match", digits: 4 },
];

const input = h("input", {
  type: "text",
  id: "compare-text",
  value: state.text,
  size: 44,
  maxlength: 400,
  "data-key": "text",
  style: "max-width:100%",
  "aria-label": "text for the backend measurement",
});
input.addEventListener(
  "input",
  debounce(() => set({ text: input.value }), 300),
);
const measureAll = h(
  "button",
  {
    type: "button",
    id: "measure-all",
    "data-key": "measure",
    title: "measure both backends of every model",
    onclick: () => {
      for (const [i, m] of models.entries()) measure(m, i);
    },
  },
  "Measure all backends",
);
controls.append(h("label", { for: "compare-text" }, "Text for the backends"), input, measureAll);
applyTeacherPresets();

// What a model reads: the text above, but a numbers model reads digits ("4012" for the encoder-decoder's
// source, "4012=" for a GPT on numbers), so it gets the example its vocabulary reads (from /api/models).
function inputFor(m) {
  if (m.task === "numbers") return m.example ? { text: m.example, own: true } : null;
  return { text: state.text.slice(0, m.context) || m.example || "ROMEO:", own: false };
}

const cells = [];
async function measure(m, i) {
  const box = cells[i];
  if (!box) return;
  const input = inputFor(m);
  if (!input) {
    box.replaceChildren(
      h("span", { class: "muted small" }, "skipped: a numbers model, and no digits its vocabulary reads"),
    );
    box.dataset.measured = "skipped";
    return;
  }
  const { text } = input;
  box.replaceChildren(h("span", { class: "muted small" }, "measuring…"));
  try {
    const r = await postJSON("/api/compare-backends", { model: m.name, text });
    const ms = Object.fromEntries(r.timings.map((t) => [t.backend, t.ms]));
    const [worst, diff] = Object.entries(r.max_abs_diff).reduce((a, b) => (b[1] > a[1] ? b : a), ["", -1]);
    box.replaceChildren(
      h("span", { class: "mono" }, `NumPy ${fmt(ms.numpy, 1)} ms · PyTorch ${fmt(ms.torch, 1)} ms`),
      h(
        "p",
        { class: "small" },
        "max |Δ| ",
        checked(
          h("span", { class: "mono", title: String(diff) }, diff.toExponential(2)),
          `backends.${m.name}.max_abs_diff.${worst}`,
          diff,
        ),
        ` in ${worst}, logits `,
        checked(
          h("span", { class: "mono" }, r.max_abs_diff.logits?.toExponential(2) ?? "—"),
          `backends.${m.name}.max_abs_diff.logits`,
          r.max_abs_diff.logits,
        ),
        ` (${r.tokens} tokens)`,
      ),
      ...(input.own
        ? [h("p", { class: "muted small", "data-input": text }, `on “${text}”: a numbers model reads digits`)]
        : []),
    );
    box.dataset.measured = "1";
  } catch (e) {
    box.replaceChildren(h("span", { class: "error small" }, `skipped: ${e.message || String(e)}`));
    box.dataset.measured = "skipped";
  }
}

function table(parent) {
  const f = figure(parent, {
    title: `${models.length} served model${models.length === 1 ? "" : "s"}`,
    caption:
      "From /api/models: each model's config and card.json (validation measured once, over the whole " +
      "validation split, by the NumPy twin). The backends row runs one traced float32 forward per " +
      "backend on the text above when you ask.",
    name: "compare-models",
    data: models,
    panel: "table",
  });
  const body = ROWS.map((row) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, row.label),
      models.map((m, i) => {
        if (row.text) return h("td", {}, row.text(m));
        const v = get(m, row.path);
        const shown = v === undefined ? "—" : row.format ? row.format(v) : fmt(v, row.digits ?? 3);
        return h(
          "td",
          { class: "num" },
          v === undefined ? shown : checked(h("span", {}, shown), `models.${i}.${row.path}`, v),
        );
      }),
    ),
  );
  const backends = h(
    "tr",
    { "data-row": "backends" },
    h("th", { scope: "row" }, "backends (live)"),
    models.map((m, i) => {
      const box = h(
        "div",
        { "data-backends": m.name },
        h(
          "button",
          {
            type: "button",
            class: "secondary small",
            "aria-label": `measure ${m.name}`,
            title: `measure both backends of ${m.name}`,
            "data-key": "measure",
            onclick: () => measure(m, i),
          },
          "measure",
        ),
      );
      cells[i] = box;
      return h("td", { class: "backends" }, box);
    }),
  );
  f.body.append(
    h(
      "table",
      { class: "data compare" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, h("span", { class: "visually-hidden" }, "model")),
          models.map((m) => h("th", { scope: "col", "data-model": m.name }, m.name)),
        ),
      ),
      h("tbody", {}, body, backends),
    ),
  );
}

// The measured table: one row per served model, every number as compare.json holds it.
const QUALITY = {
  lm: [
    ["val_loss", "loss ", (v) => fmt(v, 4)],
    ["val_ppl", "ppl ", (v) => fmt(v, 3)],
    ["val_bpc", "", (v) => `${fmt(v, 3)} bits/char`],
  ],
  mlm: [
    ["masked_accuracy", "masked top-1 ", (v) => pct(v, 2)],
    ["masked_top5", "top-5 ", (v) => pct(v, 1)],
    ["masked_loss", "loss ", (v) => fmt(v, 4)],
  ],
  numbers: [["exact_match", "exact match ", (v) => pct(v, 2)]],
};

// Text standing for an API number: the exact value on hover, marked for the browser tests.
function checkedText(text, path, value, title = String(value)) {
  return checked(h("span", { title }, text), path, value);
}

function measuredTable(parent, t) {
  const when = t.generated.slice(0, 10);
  const whats = [
    ...new Set(t.rows.flatMap((r) => r.speeds.map((s) => `${r.architecture} ${r.task}: ${s.what}`))),
  ];
  const f = figure(parent, {
    title:
      `Measured: ${t.rows.length} served ` +
      `model${t.rows.length === 1 ? "" : "s"}, ${t.backends.join(" and ")}`,
    caption:
      `From models/zoo/compare.json, written by playground compare on ${t.machine.cpu} ` +
      `(${t.machine.cores} cores) on ${when}; ` +
      `each model and backend in a fresh interpreter with ${t.settings.threads} ` +
      `thread${t.settings.threads === 1 ? "" : "s"}. Quality from each card. tokens/s ` +
      `counts ${whats.join("; ")}.` +
      (t.missing.length ? ` Not in the table (shipped after it was measured): ${t.missing.join(", ")}.` : ""),
    name: "compare-measured",
    data: t,
    panel: "measured",
  });
  const head = [
    ["model"],
    ["architecture"],
    ["parameters"],
    ["quality"],
    ...t.backends.map((b) => [b, "tokens/s"]),
    ...t.backends.map((b) => [b, "peak MiB"]),
    ["files", "MB"],
  ];
  const show = (r) =>
    (f.readout.textContent =
      `${r.name} (${r.task}): ` +
      r.speeds
        .map((s) => `${s.backend} ${s.tokens_per_s.toFixed(1)} tokens/s, ${s.peak_rss_mib} MiB`)
        .join("; ") +
      ` — ${r.speeds[0]?.what ?? ""}; quality: ${r.quality_source}`);
  const body = t.rows.map((r, i) => {
    const rowPath = `table.rows.${i}`;
    const speed = Object.fromEntries(r.speeds.map((s, j) => [s.backend, [s, j]]));
    const quality = (QUALITY[r.task] || [])
      .filter(([k]) => k in r.quality)
      .flatMap(([k, label, text], n) => [
        n ? " · " : "",
        label,
        checkedText(text(r.quality[k]), `${rowPath}.quality.${k}`, r.quality[k]),
      ]);
    const tr = h(
      "tr",
      {
        tabindex: 0,
        "data-row": r.name,
        "aria-label": `${r.name}: measured numbers`,
        onmouseenter: () => show(r),
        onfocus: () => show(r),
      },
      h("th", { scope: "row", class: "mono" }, r.name),
      h("td", {}, r.architecture),
      h(
        "td",
        { class: "num" },
        checkedText(r.parameters.toLocaleString(), `${rowPath}.parameters`, r.parameters),
      ),
      h("td", {}, quality.length ? quality : "—"),
      t.backends.map((b) =>
        h(
          "td",
          { class: "num", title: speed[b]?.[0].what },
          speed[b]
            ? checkedText(
                Math.round(speed[b][0].tokens_per_s).toLocaleString(),
                `${rowPath}.speeds.${speed[b][1]}.tokens_per_s`,
                speed[b][0].tokens_per_s,
              )
            : "—",
        ),
      ),
      t.backends.map((b) =>
        h(
          "td",
          { class: "num" },
          speed[b]
            ? checkedText(
                Math.round(speed[b][0].peak_rss_mib).toLocaleString(),
                `${rowPath}.speeds.${speed[b][1]}.peak_rss_mib`,
                speed[b][0].peak_rss_mib,
              )
            : "—",
        ),
      ),
      h(
        "td",
        { class: "num" },
        checkedText(
          (r.file_bytes / 1e6).toFixed(2),
          `${rowPath}.file_bytes`,
          r.file_bytes,
          `${r.file_bytes.toLocaleString()} bytes`,
        ),
      ),
    );
    return tr;
  });
  f.body.append(
    h(
      "table",
      { class: "data measured" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          head.map(([a, b], k) =>
            h("th", { scope: "col", class: k === 2 || k > 3 ? "num" : undefined }, a, b && h("br"), b),
          ),
        ),
      ),
      h("tbody", {}, body),
    ),
  );
}

async function measured(parent) {
  const t = await getJSON("/api/compare-table?optional=true").catch((e) => e.message || String(e));
  if (t && typeof t === "object") return measuredTable(parent, t);
  parent.append(
    h(
      "p",
      { class: "muted small", "data-panel": "measured" },
      t
        ? `No measured table: ${t}`
        : "No measured table yet: `playground compare --json models/zoo/compare.json` writes one.",
    ),
  );
}

async function main() {
  try {
    await measured(figures.appendChild(h("div", {})));
    const pair = figures.appendChild(h("div", { class: "grid cols-2", style: "align-items:start" }));
    table(pair);
    const holder = h("div", {});
    const xs = { steps: "steps", tokens: "tokens", time: "wall time" };
    const bar = h("div", { class: "row", "data-panel": "curve-controls" });
    pair.append(h("div", { class: "stack" }, bar, holder));
    const logs = await loadMetricsLogs(models);
    const draw = () => {
      holder.replaceChildren();
      lossCurvesFigure(holder, logs, { x: state.x, y: state.y, name: "compare-loss-curves" });
      syncSegmentedToggles(bar, state);
    };
    const pick = (key) => (value) => {
      set({ [key]: value });
      draw();
    };
    bar.append(
      h("span", { class: "small" }, "Loss curves: x"),
      segmentedToggle("x axis", "x", xs, state.x, pick("x")),
      h("span", { class: "small" }, "y"),
      segmentedToggle("y axis", "y", { loss: "loss", bpc: "bits/char" }, state.y, pick("y")),
    );
    applyTeacherPresets(bar);
    draw();
  } catch (e) {
    errorBox.textContent = e.message || String(e);
    errorBox.hidden = false;
  }
  document.body.dataset.ready = "1";
}

main();
