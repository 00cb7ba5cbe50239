// Generate: the button runs what the model and the settings ask for (translate, fill, side by side, several
// samples) or streams one generation, its tokens into the output and their attention rows into the panel.
import { postJSON, streamEvents } from "../../lib/api.js";
import { checked, h } from "../../lib/dom.js";
import { figure } from "../../vis/figure.js";
import { viridis } from "../../vis/scales.js";
import { render as chips } from "../../vis/tokens.js";
import { extraBox, fill, translate } from "./architectures.js";
import { endStream, extendStream, followStream, traceSettled } from "./attention-panel.js";
import { addToken, announce, chip, detail, generatedList, outFig, request, speed, text } from "./output.js";
import { samples } from "./samples.js";
import { sideBySide } from "./side-by-side.js";
import { $, attentionShown, kindOf, model, promptError, session, startRun, state, stop } from "./state.js";

async function generate() {
  if (session.blocked) return;
  const kind = kindOf(model());
  if (kind === "translate") return translate();
  if (kind === "fill") return fill();
  if (state.sbs) return sideBySide();
  if (state.samples > 1) return samples();
  const controller = startRun();
  const body = request(state.backend, attentionShown());
  session.gen = { prompt: [], events: [] };
  session.selected = null;
  const ms = [];
  text.replaceChildren();
  detail.replaceChildren();
  extraBox.replaceChildren();
  delete outFig.root.dataset.done;
  outFig.setData(session.gen);
  if (attentionShown()) await traceSettled();
  outFig.setCaption(
    `${state.model} on ${body.backend === "torch" ? "PyTorch" : "NumPy"}, seed ${body.seed}, ` +
      `temperature ${body.temperature}, top-k ${body.top_k || "off"}, top-p ${body.top_p}, repetition ` +
      `penalty ${body.repetition_penalty}. Each new token is tinted by the probability it was sampled ` +
      "with; hover or focus one for its candidates and attention.",
  );
  const list = generatedList();
  announce.start(`Generating up to ${body.max_new_tokens} tokens with ${state.model}.`);
  const onEvent = (name, d) => {
    if (name === "start") {
      session.gen.prompt = d.prompt_tokens;
      text.append(...d.prompt_tokens.map((t) => chip(t, "prompt")), list);
      followStream(d);
    } else if (name === "token") {
      session.gen.events.push(d);
      ms.push(d.ms);
      addToken(list, d, d.index, true, session.gen.events[d.index - 1]?.window_start ?? 0);
      announce.token(d.token);
      $("speed").textContent = speed(ms);
      extendStream(d);
    } else if (name === "done") {
      $("speed").textContent = speed(ms, d);
      const flushed = announce.tokens.length > announce.heard;
      announce.flush();
      announce.end(`Done: ${d.n_tokens} tokens (${d.reason.replace("_", " ")}).`, flushed ? 1000 : 0);
      outFig.root.dataset.done = d.n_tokens;
      session.gen.done = d;
      text.append(
        h(
          "span",
          { class: "small muted end" },
          " ",
          checked(h("span", {}, String(d.n_tokens)), "done.n_tokens", d.n_tokens),
          ` tokens (${d.reason}${d.stop == null ? "" : ` at ${JSON.stringify(d.stop)}`})`,
        ),
      );
    } else if (name === "error") {
      announce.end(`Error: ${d.message}`);
      promptError(new Error(d.message));
    }
  };
  try {
    await streamEvents("/api/generate", body, { signal: controller.signal, onEvent });
  } catch (e) {
    promptError(e);
  } finally {
    if (session.run === controller) stop();
    endStream();
  }
  if (model().architecture === "lstm" && session.gen.done) lstmGates(); // a whole stream, not a stopped one
}

// After an LSTM's stream: its forget gate over the text it read (POST /api/trace, layer 0), one chip per
// token tinted by the mean of its units — near 1 the cell keeps its memory, near 0 it forgets.
async function lstmGates() {
  const m = model();
  const tokens = [...session.gen.prompt, ...session.gen.events.map((e) => e.token)].slice(-m.context);
  const body = { model: m.name, text: tokens.join(""), backend: state.backend, layer: 0 };
  try {
    const res = await postJSON("/api/trace", body);
    const forget = res.lstm.gates.forget_gate.map((r) => r.reduce((a, b) => a + b, 0) / r.length);
    const fig = figure(extraBox, { title: "LSTM forget gate over the text", name: "lstm-gates" });
    fig.root.id = "lstm-gates";
    const strip = h("div", { class: "text-stream" });
    fig.body.append(strip);
    chips(strip, res.tokens, {
      colors: forget.map((f) => viridis(f)),
      titles: forget.map((f, t) => `token ${t} ${JSON.stringify(res.tokens[t])}: mean forget gate ${f}`),
    });
    fig.setCaption(
      `${m.name}, layer 0, on the last ${res.tokens.length} tokens (prompt and generated): ` +
        "each token tinted " +
        `by its forget gate f = σ(·) averaged over the ${res.lstm.n_hidden} units; near 1 the cell state ` +
        "keeps what it held, near 0 it lets it go.",
    );
    fig.setData({ tokens: res.tokens, mean_forget_gate: forget });
  } catch (e) {
    promptError(e);
  }
}

export { generate };
