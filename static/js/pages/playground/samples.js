// A causal LM's other runs: several samples streamed at once (seeds s, s + 1, …, one column each), and
// beam search with every step's beams.
import { postJSON, streamEvents } from "../../lib/api.js";
import { h } from "../../lib/dom.js";
import { range } from "../../lib/math.js";
import { figure } from "../../vis/figure.js";
import { beamSteps, clearOutput, extraBox, once } from "./architectures.js";
import { addToken, announce, chip, outFig, request, speed, text } from "./output.js";
import { causal, prompt, promptError, session, startRun, state, stop } from "./state.js";

// ---- several samples: n streams with seeds s, s + 1, … at once, one column each ------------------------
async function samples() {
  const controller = startRun();
  clearOutput();
  const n = state.samples;
  const fig = figure(extraBox, { title: `${n} samples side by side`, name: "samples" });
  fig.root.id = "samples";
  const cols = h("div", { class: "samples-grid" });
  fig.body.append(cols);
  fig.setCaption(
    `${state.model}: the same prompt and settings with seeds ${state.seed} … ${state.seed + n - 1}, ` +
      "streamed at once (the server runs them in one batched forward per step). Each token is tinted " +
      "by the probability it was sampled with.",
  );
  text.append(h("p", { class: "muted small" }, `${n} samples: see below.`));
  announce.start(`Generating ${n} samples with ${state.model}.`);
  const texts = [];
  const one = async (k) => {
    const body = { ...request(state.backend, false), seed: state.seed + k };
    const out = h("div", { class: "text-stream sample", "data-seed": body.seed });
    const stats = h("p", { class: "mono small" });
    cols.append(h("section", { class: "sample-col" }, h("h4", {}, `seed ${body.seed}`), out, stats));
    let windowStart = 0;
    const ms = [];
    texts[k] = [];
    await streamEvents("/api/generate", body, {
      signal: controller.signal,
      onEvent: (name, d) => {
        if (name === "start") out.append(...d.prompt_tokens.map((t) => chip(t, "prompt")));
        else if (name === "token") {
          ms.push(d.ms);
          texts[k].push(d.token);
          addToken(out, d, d.index, false, windowStart);
          windowStart = d.window_start;
          stats.textContent = speed(ms);
        } else if (name === "done") {
          stats.textContent = speed(ms, d);
          out.dataset.done = d.n_tokens;
        } else if (name === "error") stats.textContent = d.message;
      },
    });
  };
  try {
    await Promise.all(range(n).map(one));
    fig.setData({ seeds: range(n).map((k) => state.seed + k), tokens: texts });
    outFig.root.dataset.done = texts.reduce((a, t) => a + t.length, 0);
    announce.end(`Done: ${n} samples.`);
  } catch (e) {
    promptError(e);
  } finally {
    if (session.run === controller) stop();
  }
}

// ---- beam search for a causal LM: every step's beams (POST /api/beam) ----------------------------------
function beamSearch() {
  if (session.blocked || !causal()) return;
  const body = {
    model: state.model,
    prompt: prompt.value,
    backend: state.backend,
    num_beams: 4,
    max_new_tokens: Math.min(state.max_tokens, 40),
  };
  return once(`beam search with ${state.model}`, async (signal) => {
    const res = await postJSON("/api/beam", body, { signal });
    outFig.setData({ request: body, response: res });
    outFig.setCaption(
      `${res.model}: beam search keeps the ${body.num_beams} most likely continuations at each step ` +
        `(up to ${body.max_new_tokens} tokens); no sampling, so no seed.`,
    );
    text.append(
      h("p", {}, "Best beam: ", h("span", { class: "mono beam-best", id: "best-beam" }, res.best.text)),
    );
    beamSteps(
      res.steps,
      `${res.model}: the live beams after each step, best first, with their log-probabilities.`,
    );
    return res.steps.length;
  });
}

export { beamSearch, samples };
