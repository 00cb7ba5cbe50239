// Step 14 · LSTM vs transformer: gates over time (units × steps), the cell state, the next token; then both
// models on your text.
import { streamEvents } from "../lib/api.js";
import { checked, fmt, h, keyboardScrollable } from "../lib/dom.js";
import { cardValidationLoss } from "../lib/metrics.js";
import { render as bars } from "../vis/bars.js";
import { figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";

const UNITS = 24; // units per page of the gate maps
const GATES = [
  ["input_gate", "input gate i = σ(·)", "how much of the candidate is written"],
  ["forget_gate", "forget gate f = σ(·)", "how much of the old cell is kept"],
  ["cell_input", "candidate g = tanh(·)", "what would be written"],
  ["output_gate", "output gate o = σ(·)", "how much of the cell is shown"],
  ["cell", "cell state c", "the memory carried from step to step"],
  ["hidden", "hidden state h = o ⊙ tanh(c)", "what the layer outputs"],
];
const SIGNED = new Set(["cell_input", "cell", "hidden"]);

// A short greedy generation: the server's own tokens per second for this model.
async function speed(model, prompt) {
  let done = null;
  await streamEvents(
    "/api/generate",
    { model, prompt, max_new_tokens: 32, temperature: 0 },
    {
      onEvent: (n, d) => {
        if (n === "done") done = d;
      },
    },
  );
  return done;
}

function select(ctx, key, label, n, name, step = 1) {
  const v = ctx.state()[key];
  const el = h(
    "select",
    { id: `lesson-${key}`, "data-key": key, "aria-label": label },
    Array.from({ length: n }, (_, i) =>
      h("option", { value: i * step, selected: i * step === v }, name(i * step)),
    ),
  );
  el.addEventListener("change", () => ctx.set({ [key]: Number(el.value) }));
  ctx.controls.append(h("label", { for: el.id }, label), el);
}

// What the table says, in words: which model predicted your text better, by how much, and how far one short
// text is from the whole validation split the model cards measured.
function verdict(d) {
  const [a, b] = d.pair;
  const [la, lb] = d.ppl.map((x) => x.loss);
  const win = la < lb ? 0 : 1;
  const n = d.ppl[0].losses.length;
  const card = d.pair.map((x) => cardValidationLoss(x.card));
  const whole =
    card[0] !== undefined && card[1] !== undefined
      ? ` On the whole validation split (the model cards) the losses are ${fmt(card[0], 4)} for ${a.name} ` +
        `and ${fmt(card[1], 4)} for ${b.name}, so ${card[0] < card[1] ? a.name : b.name} is the better ` +
        "model overall."
      : "";
  return (
    `On your text ${d.pair[win].name} has the lower loss: ${fmt(Math.min(la, lb), 3)} against ` +
    `${fmt(Math.max(la, lb), 3)} nats per token (lower is better; perplexity e^loss is how many equally ` +
    `likely characters a model is hesitating between). That is ${n} predictions: a few surprising ` +
    "characters move the mean a lot, so on a short text either model can come out ahead." +
    whole +
    ` Both are small (${a.parameters.toLocaleString("en")} and ${b.parameters.toLocaleString("en")} ` +
    "parameters) and learned from the same Shakespeare text; a transformer's advantage, attention to " +
    "any earlier character, pays off mostly with more data, more training and longer contexts."
  );
}

export default {
  defaults: { layer: 0, units: 0 },
  accepts: (m) => m.architecture === "lstm",
  preferredModel: "shakespeare-lstm",
  code: {
    module: "lstm",
    name: "LSTMLayer.__call__",
    highlight: ["np.split(z, 4", "c_new = f * c + i * g", "h_new = o * np.tanh(c_new)"],
    only: false,
  },
  formula:
    String.raw`\begin{aligned}[i, f, g, o] &= [\sigma, \sigma, \tanh, \sigma]\big(W_{ih} x_t + ` +
    String.raw`W_{hh} h_{t-1} + b\big)\\c_t &= f \odot c_{t-1} + i \odot g\\ h_t &= o \odot ` +
    String.raw`\tanh(c_t)\end{aligned}`,

  controls(ctx) {
    const m = ctx.model();
    select(ctx, "layer", "Layer", m.n_layer, (i) => `layer ${i}`);
    if (m.n_hidden > UNITS)
      select(
        ctx,
        "units",
        "Units",
        Math.ceil(m.n_hidden / UNITS),
        (i) => `${i}–${Math.min(m.n_hidden, i + UNITS) - 1}`,
        UNITS,
      );
  },

  async load(state, ctx) {
    const m = ctx.model();
    const layer = Math.max(0, Math.min(m.n_layer - 1, state.layer));
    const gpt =
      ctx.models.find((x) => x.name === "shakespeare-char") ||
      ctx.models.find((x) => x.architecture === "gpt" && x.tokenizer === m.tokenizer);
    const trace = await ctx.api.postJSON("/api/trace", { model: m.name, text: state.text, layer });
    const pair = gpt ? [m, gpt] : [m];
    const ppl = await Promise.all(
      pair.map((x) =>
        ctx.api
          .postJSON("/api/perplexity", { model: x.name, text: state.text })
          .catch((e) => ({ error: e.message })),
      ),
    );
    const runs = [];
    // one after the other: fair timing
    for (const x of pair) runs.push(await speed(x.name, state.text).catch(() => null));
    return { m, gpt, pair, trace, ppl, runs, layer };
  },

  render(d, state, ctx) {
    const { trace, m, layer } = d;
    const T = trace.tokens.length;
    const start = Math.max(0, Math.min(state.units, m.n_hidden - 1));
    const units = Array.from({ length: Math.min(UNITS, m.n_hidden - start) }, (_, i) => start + i);
    const L = trace.lstm.gates;
    const cell = Math.max(4, Math.min(16, Math.floor(270 / T)));
    const f = figure(ctx.figures, {
      title: `Gates over time: ${m.name}, layer ${layer}, units ${units[0]}–${units.at(-1)}`,
      caption:
        `Each map is units (rows) × steps (columns, your ${T} characters) for ${m.name}, ` +
        `layer ${layer}. Gates i, f, o run 0–1 (viridis); the candidate g, the cell c and the hidden ` +
        "state h are signed (blue < 0 < red). Hover or focus a cell for its value.",
      name: `lstm-gates-L${layer}`,
      data: trace,
      panel: "gates",
    });
    const grid = h("div", {
      class: "grid",
      style: "grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr))",
    });
    f.body.style.maxHeight = "none";
    for (const [key, title, what] of GATES) {
      // the forget gate is what the question asks about: it waits for the answer
      const box = h("div", {
        "data-gate": key,
        "data-answer": key === "forget_gate" ? "" : null,
        style: "min-width:0",
      });
      // a long text makes a map wider than its column: it scrolls, and says so
      const scroller = keyboardScrollable(h("div", { style: "overflow-x:auto" }), title);
      box.append(scroller);
      const M = units.map((u) => L[key].map((step) => step[u]));
      const signed = SIGNED.has(key);
      heatmap(
        scroller,
        { matrix: M, rows: units.map((u) => `u${u}`), cols: trace.tokens },
        {
          scale: signed ? "diverging" : "viridis",
          min: signed ? undefined : 0,
          max: signed ? undefined : 1,
          cell,
          readout: f.readout,
          label: `${key} of layer ${layer}`,
          describe: (i, j, v) =>
            `${key} · unit ${units[i]} · step ${j} ${JSON.stringify(trace.tokens[j])}: ${fmt(v, 4)}`,
        },
      );
      box.querySelectorAll("rect.cell").forEach((r) => {
        const u = units[r.dataset.i];
        checked(r, `trace.lstm.gates.${key}.${r.dataset.j}.${u}`, L[key][r.dataset.j][u]);
      });
      box.prepend(
        h("h4", { style: "margin:0" }, title),
        h("p", { class: "small muted", style: "margin:0" }, what),
      );
      grid.append(box);
    }
    f.body.append(grid);

    const n = figure(ctx.figures, {
      title: `Next character after your text (${m.name})`,
      caption:
        `The ${trace.next_token.length} most likely next tokens from ${m.name}'s head on the last ` +
        "hidden state of the top layer.",
      name: "lstm-next",
      data: trace.next_token,
      panel: "next",
    });
    const g = bars(
      n.body,
      trace.next_token.map((c) => ({ token: c.token, prob: c.prob })),
      { label: "next-token probabilities" },
    );
    for (const [j, p] of g.querySelectorAll(".p").entries()) {
      checked(p, `trace.next_token.${j}.prob`, trace.next_token[j].prob);
    }

    const c = figure(ctx.figures, {
      title: "LSTM vs transformer on your text",
      caption:
        "Loss, perplexity and bits per character of each model predicting every next token of your " +
        "text (/api/perplexity); tokens/s from a 32-token greedy generation on this server, one " +
        "model after the other (expect noise). Parameters from the model cards.",
      name: "lstm-vs-gpt",
      data: { ppl: d.ppl, runs: d.runs },
      panel: "compare",
    });
    const perplexityNumber = (k, key, digits = 3) =>
      d.ppl[k].error
        ? "—"
        : checked(h("span", {}, fmt(d.ppl[k][key], digits)), `ppl.${k}.${key}`, d.ppl[k][key]);
    const rows = [
      ["architecture", (x) => x.architecture],
      ["parameters", (x) => x.parameters.toLocaleString("en")],
      ["loss (nats/token)", (_, k) => perplexityNumber(k, "loss")],
      ["perplexity", (_, k) => perplexityNumber(k, "perplexity", 2)],
      ["bits per char", (_, k) => perplexityNumber(k, "bits_per_char")],
      ["tokens/s", (_, k) => (d.runs[k] ? fmt(d.runs[k].tokens_per_s, 0) : "—")],
    ];
    c.body.append(
      h(
        "table",
        { class: "data" },
        h(
          "tr",
          {},
          h("th", {}, h("span", { class: "visually-hidden" }, "measure")),
          d.pair.map((x) => h("th", { class: "num", "data-model": x.name }, x.name)),
        ),
        rows.map(([label, f]) =>
          h(
            "tr",
            {},
            h("th", {}, label),
            d.pair.map((x, k) => h("td", { class: "num" }, f(x, k))),
          ),
        ),
      ),
    );
    if (!d.gpt)
      c.body.append(
        h("p", { class: "muted small" }, "No GPT with the same tokenizer is served to compare with."),
      );
    else if (!d.ppl[0].error && !d.ppl[1].error) c.body.append(h("p", { "data-verdict": "" }, verdict(d)));
  },

  question(d) {
    const f = d.trace.lstm.gates.forget_gate;
    if (f.length < 2) return null;
    const mean = f.flat().reduce((a, b) => a + b, 0) / f.flat().length;
    const choices = ["below 0.25", "0.25 to 0.5", "0.5 to 0.75", "above 0.75"];
    return {
      prompt:
        `Averaged over every unit and step of layer ${d.layer}, how open is the forget gate on your ` +
        "text?",
      choices,
      answer: Math.min(3, Math.floor(mean * 4)),
      reveal:
        `The mean forget gate is ${fmt(mean, 3)}. Near 1 the cell keeps what it held; ` +
        "near 0 it wipes it. That is how an LSTM decides how far back to remember.",
    };
  },

  prose: () =>
    "An LSTM reads one character at a time and carries two vectors forward: the cell state c (its " +
    "memory) and the hidden state h (what it shows the next layer). At every step four gates, " +
    "computed from the new input and the previous h, decide how much of the memory to keep (f), how " +
    "much new content to write (i, g) and how much to show (o).\n\nA transformer keeps no running " +
    "memory; each token attends to every earlier token directly. That costs more per token as the " +
    "text grows, but nothing has to survive being squeezed through one vector step after step. " +
    "The table compares the two on your own text: how surprised each is by every next character, and " +
    "how fast each writes.",
};
