// The other architectures: an encoder-decoder translates (greedy and beam search, its cross-attention), a
// masked LM fills the characters picked in the prompt; beam search's steps are shown for either.
import { postJSON } from "../../lib/api.js";
import { fmt, h } from "../../lib/dom.js";
import { range } from "../../lib/math.js";
import { roving } from "../../lib/roving.js";
import { render as bars } from "../../vis/bars.js";
import { figure } from "../../vis/figure.js";
import { render as heatmap } from "../../vis/heatmap.js";
import { tokenLabel } from "../../vis/tokens.js";
import { announce, detail, outFig, text } from "./output.js";
import { $, kindOf, model, prompt, promptError, session, startRun, state, stop } from "./state.js";

const extraBox = h("div", { class: "stack", id: "arch-box" });
$("output-box").after(extraBox);

// The output figure and the box below it emptied for a new run (the figure is no longer done).
function clearOutput() {
  text.replaceChildren();
  detail.replaceChildren();
  extraBox.replaceChildren();
  delete outFig.root.dataset.done;
}

// One run of a non-streaming call: Generate turns into Stop meanwhile, the output figure is marked done.
async function once(what, call) {
  const controller = startRun();
  clearOutput();
  announce.start(what);
  try {
    const n = await call(controller.signal);
    promptError(null);
    outFig.root.dataset.done = n;
    announce.end(`Done: ${what}`);
  } catch (e) {
    promptError(e);
    announce.end(`Error: ${e.message}`);
  } finally {
    if (session.run === controller) stop();
    if (kindOf(model()) === "fill") showMaskPicker();
  }
}

const words = (tokens) => tokens.map((t) => tokenLabel(t)).join(" ");

function translate() {
  const body = { model: state.model, source: state.text.trim(), num_beams: 4, backend: state.backend };
  return once(`translating ${body.source} with ${state.model}`, async (signal) => {
    const res = await postJSON("/api/translate", body, { signal });
    outFig.setData({ request: body, response: res });
    outFig.setCaption(
      `${res.model}: the encoder reads the source ${JSON.stringify(body.source)}; the decoder writes one ` +
        "word at a time. Greedy takes the most likely word each step; beam search keeps the " +
        `${body.num_beams} best partial translations.`,
    );
    text.append(
      h("p", {}, "Greedy: ", h("strong", { id: "translation" }, res.greedy.text)),
      h("p", {}, "Best beam: ", h("strong", { id: "best-beam" }, res.best.text)),
      res.reference ? h("p", { class: "muted" }, `The right words: ${res.reference}`) : "",
    );
    beamSteps(
      res.steps.map((st) => ({ step: st.step, beams: st.beams, finished: st.finished })),
      `${res.model}: the live beams after each decoder step (best first), with their log-probabilities.`,
    );
    // cross-attention of the greedy output: the last decoder layer, mean over heads
    const layers = res.cross_attention;
    const heads = layers[layers.length - 1];
    const T = heads[0].length;
    const matrix = range(T).map((t) =>
      heads[0][t].map((_, j) => heads.reduce((a, hd) => a + hd[t][j], 0) / heads.length),
    );
    const targets = res.greedy.tokens.slice(0, T);
    while (targets.length < T) targets.push(`#${targets.length}`);
    const fig = figure(extraBox, { title: "Cross-attention", name: "cross-attention" });
    fig.root.id = "cross-attention";
    heatmap(
      fig.body,
      { matrix, rows: targets, cols: res.source_tokens },
      {
        readout: fig.readout,
        values: true,
        label: "cross-attention: target words by source tokens",
        describe: (i, j, v) =>
          `${JSON.stringify(targets[i])} read source ${JSON.stringify(res.source_tokens[j])}: ${fmt(v, 4)}`,
      },
    );
    fig.setCaption(
      `${res.model}, last decoder layer (${layers.length - 1}), mean over ${heads.length} heads: row = ` +
        "the query that wrote that word of the greedy output, column = a source token; each row sums to 1.",
    );
    fig.setData({ targets, sources: res.source_tokens, matrix });
    return res.greedy.tokens.length;
  });
}

// Beams step by step: a slider picks the step, a list shows its beams.
function beamSteps(steps, caption) {
  const fig = figure(extraBox, { title: "Beam search, step by step", name: "beams" });
  fig.root.id = "beam-steps";
  const slider = h("input", {
    type: "range",
    id: "beam-step",
    min: 0,
    max: steps.length - 1,
    step: 1,
    value: steps.length - 1,
    "aria-label": "beam search step",
  });
  const out = h("output", { for: "beam-step" });
  const list = h("ol", { class: "beams", id: "beam-list" });
  const show = () => {
    const st = steps[Number(slider.value)];
    out.textContent = `step ${st.step}`;
    list.replaceChildren(
      ...st.beams.map((b) =>
        h(
          "li",
          { "data-logprob": b.logprob },
          h("span", { class: "mono beam-text" }, b.text ?? words(b.tokens)),
          h("span", { class: "muted small" }, ` log p ${fmt(b.logprob, 3)} · score ${fmt(b.score, 3)}`),
          b.finished ? h("span", { class: "small" }, " (finished)") : "",
        ),
      ),
      ...(st.finished || []).map((b) =>
        h(
          "li",
          { class: "muted" },
          h("span", { class: "mono beam-text" }, b.text ?? words(b.tokens)),
          " finished",
        ),
      ),
    );
  };
  slider.addEventListener("input", show);
  fig.body.append(h("div", { class: "slider" }, h("label", { for: "beam-step" }, "Step"), slider, out), list);
  fig.setCaption(caption);
  fig.setData(steps);
  show();
  return fig;
}

// The masked LM: click characters of the prompt to hide them, then Fill asks for each hidden position's
// candidates (POST /api/fill-mask).
const masked = new Set();
function showMaskPicker() {
  const chars = [...prompt.value];
  for (const i of masked) if (i >= chars.length) masked.delete(i);
  const bar = h("div", {
    class: "mask-picker",
    id: "mask-picker",
    role: "toolbar",
    "aria-label": "the prompt's characters: press one to hide it from the model (Fill predicts it)",
  });
  chars.forEach((c, i) => {
    const b = h(
      "button",
      {
        type: "button",
        class: "tok mask-char",
        "data-pos": i,
        "aria-pressed": String(masked.has(i)),
        "aria-label": `${i}: ${tokenLabel(c)}`,
        onclick: () => {
          if (masked.has(i)) masked.delete(i);
          else masked.add(i);
          b.setAttribute("aria-pressed", String(masked.has(i)));
        },
      },
      tokenLabel(c),
    );
    bar.append(b);
  });
  roving(bar, "button");
  text.replaceChildren(h("p", { class: "muted small" }, "Press characters to mask them, then Fill:"), bar);
}

const wasText = (o) => (o == null ? "a mask" : `${tokenLabel(o.token)} (p ${fmt(o.prob, 3)})`);

function fill() {
  const body = {
    model: state.model,
    text: prompt.value,
    positions: [...masked].sort((a, b) => a - b),
    top_k: 5,
    backend: state.backend,
  };
  return once(`filling ${body.positions.length} masked positions with ${state.model}`, async (signal) => {
    const res = await postJSON("/api/fill-mask", body, { signal });
    outFig.setData({ request: body, response: res });
    outFig.setCaption(
      `${res.model} reads the whole text at once (both directions) with the chosen characters hidden ` +
        `behind ${JSON.stringify(res.mask_token)}, and predicts each hidden one.`,
    );
    const fig = figure(extraBox, { title: "Candidates at each masked position", name: "fill-mask" });
    fig.root.id = "fill-candidates";
    for (const m of res.masked) {
      const cell = h("div", { class: "masked-pos", "data-pos": m.position });
      cell.append(h("h4", {}, `position ${m.position}: was ${wasText(m.original)}`));
      bars(
        cell,
        m.candidates.map((c) => ({
          token: c.token,
          prob: c.prob,
          title: `${JSON.stringify(c.token)}: ${c.prob}`,
        })),
        { label: `candidates for position ${m.position}`, digits: 3 },
      );
      fig.body.append(cell);
    }
    fig.setCaption(
      `${res.model}: the top ${body.top_k} candidates for each hidden position, most likely first.`,
    );
    fig.setData(res.masked);
    extraBox.prepend(
      h(
        "p",
        { id: "filled-wrap" },
        "Filled: ",
        h("span", { class: "mono filled", id: "filled" }, res.filled),
      ),
    );
    return res.masked.length;
  });
}

export { beamSteps, clearOutput, extraBox, fill, once, showMaskPicker, translate };
