// What the model says: the sampler panel (the next token through each stage of the sampler), the generated
// text as it streams (tokens tinted by their probability), the selected token's candidates and attention
// row, and the live region that announces a generation.
import { latestOnly, postJSON } from "../../lib/api.js";
import { fmt, h, pct } from "../../lib/dom.js";
import { range } from "../../lib/math.js";
import { roving } from "../../lib/roving.js";
import { render as bars } from "../../vis/bars.js";
import { figure } from "../../vis/figure.js";
import { render as samplerView } from "../../vis/sampler.js";
import { readableTextColour, viridis } from "../../vis/scales.js";
import { tabulate } from "../../vis/table.js";
import { render as chips, tokenLabel } from "../../vis/tokens.js";
import { $, layerOptions, model, picker, promptError, ready, session, state } from "./state.js";

// ---- sampler panel ---------------------------------------------------------------------------------
const samplerFig = figure($("sampler-box"), {
  title: "What the sampler did: the next token",
  name: "sampler",
});
const fetchSampler = latestOnly((body, signal) => postJSON("/api/sampler", body, { signal }));

async function refreshSampler() {
  const body = {
    model: state.model,
    prompt: state.text,
    backend: state.backend,
    temperature: state.temperature,
    top_k: state.top_k,
    top_p: state.top_p,
    repetition_penalty: state.repetition_penalty,
    n: innerWidth < 600 ? 10 : 16,
  };
  try {
    const res = await fetchSampler(body);
    if (!res) return;
    promptError(null);
    samplerView(samplerFig.body, res, {
      skip: new Set(state.repetition_penalty === 1 ? ["penalty"] : []),
      vocab: model().vocab_size,
    });
    samplerFig.setData({ request: body, response: res });
    samplerFig.root.dataset.drawn = JSON.stringify(body);
    samplerFig.setCaption(
      `${res.model} (${res.backend === "torch" ? "PyTorch" : "NumPy"}): the ${res.tokens.length} ` +
        "most likely next tokens after your prompt, through each stage of the sampler " +
        `(temperature ${body.temperature}, top-k ${body.top_k || "off"}, top-p ${body.top_p}, ` +
        `repetition penalty ${body.repetition_penalty}). Hatched bars were cut by that filter; ` +
        "kept = tokens still possible; H = entropy of the whole distribution. Generation samples from " +
        "the last column.",
    );
    ready();
  } catch (e) {
    promptError(e);
  }
}

// ---- output: streaming tokens and the hovered token's details -----------------------------------
const outFig = figure($("output-box"), { title: "Generated text", name: "generated" });
const text = h(
  "div",
  { class: "text-stream", id: "output" },
  h(
    "span",
    { class: "muted small" },
    "Press Generate (or Ctrl+Enter): the new tokens appear here as they are sampled.",
  ),
);
const legend = h(
  "div",
  { class: "legend" },
  "token probability:",
  ...[0, 0.25, 0.5, 0.75, 1].map((p) => {
    const sw = h("span", { class: "swatch", title: `p = ${p}` });
    sw.style.background = viridis(p);
    return [sw, String(p)];
  }),
  h("span", { class: "tok prompt" }, "prompt"),
);
const rowSelects = h("div", { class: "row" });
const detail = h("div", { class: "token-detail", id: "token-detail" });
outFig.body.append(text, legend, detail);
tabulate(text, () => ({
  caption: "the generated tokens",
  columns: ["token", "text", "p (sampled, after the filters)", "p (the model alone)"],
  rows: session.gen.events.map((e) => [e.index, tokenLabel(e.token), e.prob, e.model_prob]),
}));

rowSelects.append(
  picker("rlayer", "Layer", layerOptions, () => showDetail(session.selected)),
  picker(
    "rhead",
    "Head",
    () => [["mean", "mean over heads"], ...range(model().n_head || 0).map((k) => [k, `head ${k}`])],
    () => showDetail(session.selected),
  ),
);

// A token of the text: a newline is a faint ↵ and then a real line break (the chip is white-space: pre-wrap
// and inline in the text), so generated text reads as text.
function chip(token, cls) {
  const parts = token.split("\n");
  const kids = parts.flatMap((p, i) =>
    i ? [h("span", { class: "nl", "aria-hidden": "true" }, "↵"), "\n", p] : [p],
  );
  return h("span", { class: `tok ${cls}` }, ...kids.filter((k) => k !== ""));
}

function addToken(target, e, i, interactive, startBefore = 0) {
  const c = chip(e.token, "gen");
  c.style.background = viridis(e.prob);
  c.style.color = readableTextColour(c.style.background);
  c.title = `token ${i}: ${JSON.stringify(e.token)} · p = ${e.prob} (model alone ${e.model_prob})`;
  c.dataset.index = i;
  if (e.window_start > startBefore) {
    // the context was full: the model read its newest tokens again from position 0
    c.classList.add("slid");
    c.title += ` · the window slid: the model now reads from token ${e.window_start} of the text`;
  }
  if (interactive) {
    // the generated tokens are one tab stop (a listbox): the first takes it, the arrow keys move on
    c.setAttribute("role", "option");
    c.setAttribute("aria-selected", "false");
    c.tabIndex = target.querySelector(".tok.gen") ? -1 : 0;
    c.addEventListener("mouseenter", () => showDetail(i));
    c.addEventListener("focus", () => showDetail(i));
  }
  target.append(c);
}

// The generated tokens of the output: a listbox after the prompt's chips.
function generatedList() {
  const list = h("span", {
    class: "gen-list",
    role: "listbox",
    "aria-orientation": "horizontal",
    "aria-label": "generated tokens: the arrow keys pick one for its candidates and attention",
  });
  roving(list, ".tok.gen");
  return list;
}

// Screen readers hear a generation start, its text about once a second (the last few tokens, never each
// token), and its end; the visible speed readout is not announced.
const announcer = $("stream-status");
const announce = {
  timer: 0,
  tokens: [],
  heard: 0,
  start(what) {
    this.stop();
    this.tokens = [];
    this.heard = 0;
    announcer.textContent = what;
  },
  token(t) {
    this.tokens.push(t);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), 1000);
  },
  flush() {
    this.timer = 0;
    const fresh = this.tokens.slice(this.heard);
    if (!fresh.length) return;
    this.heard = this.tokens.length;
    announcer.textContent = fresh.slice(-8).join("").replace(/\s+/g, " ").trim() || "(white space)";
  },
  // after `delay` ms, so that the last tokens are heard first
  end(what, delay = 0) {
    this.stop();
    if (delay) this.later = setTimeout(() => (announcer.textContent = what), delay);
    else announcer.textContent = what;
  },
  stop() {
    clearTimeout(this.timer);
    clearTimeout(this.later);
    this.timer = 0;
  },
};

function showDetail(i) {
  const e = session.gen.events[i];
  if (!e) return;
  session.selected = i;
  for (const c of text.querySelectorAll(".tok.selected")) {
    c.classList.remove("selected");
    c.setAttribute("aria-selected", "false");
  }
  const picked = text.querySelector(`.tok.gen[data-index="${i}"]`);
  picked?.classList.add("selected");
  picked?.setAttribute("aria-selected", "true");
  const cand = h("div");
  const grid = bars(
    cand,
    e.candidates.map((c) => ({
      token: c.token,
      prob: c.prob,
      title: `${JSON.stringify(c.token)} (id ${c.id}): ${c.prob}${c.id === e.id ? " — sampled" : ""}`,
    })),
    { label: `top candidates for token ${i}`, digits: 2 },
  );
  const k = e.candidates.findIndex((c) => c.id === e.id);
  if (k >= 0) grid.children[3 * k].classList.add("chosen");
  const row = h("div");
  if (e.attention) {
    const keys = e.attention[0][0].length;
    const ctx = [...session.gen.prompt, ...session.gen.events.slice(0, i).map((x) => x.token)].slice(-keys);
    const heads = e.attention[Math.min(state.rlayer, e.attention.length - 1)];
    const w =
      state.rhead === "mean"
        ? heads[0].map((_, j) => heads.reduce((a, r) => a + r[j], 0) / heads.length)
        : heads[Number(state.rhead)];
    const max = Math.max(...w) || 1;
    const colours = w.map((v) => viridis(v / max));
    const who = state.rhead === "mean" ? "mean over heads" : `head ${state.rhead}`;
    chips(row, ctx, {
      colors: colours,
      inks: colours.map(readableTextColour),
      titles: w.map((v, j) => `key ${j} ${JSON.stringify(ctx[j])}: ${v}`),
      onSelect: (j) =>
        (outFig.readout.textContent =
          `token ${i} ${tokenLabel(e.token)} was predicted attending to key ${j} ${tokenLabel(ctx[j])} ` +
          `with weight ${fmt(w[j], 4)} (layer ${state.rlayer}, ${who})`),
    });
  } else
    row.append(
      h(
        "p",
        { class: "muted small" },
        model().architecture === "gpt"
          ? "Attention rows are not sent while the attention panel is hidden."
          : `${model().architecture.toUpperCase()}: no attention; its hidden state carries the past.`,
      ),
    );
  detail.replaceChildren(
    h(
      "div",
      {},
      h(
        "h4",
        {},
        `Token ${i} ${tokenLabel(e.token)}: p ${pct(e.prob, 2)} after the ` +
          `filters, ${pct(e.model_prob, 2)} under the model alone`,
      ),
      cand,
    ),
    h("div", {}, h("h4", {}, "The attention row that predicted it"), rowSelects, row),
  );
  outFig.readout.textContent =
    `token ${i}: ${JSON.stringify(e.token)} sampled with p = ${fmt(e.prob, 4)}; the model alone gave ` +
    `it ${fmt(e.model_prob, 4)}`;
}

function request(backend, attention) {
  return {
    model: state.model,
    prompt: state.text,
    backend,
    max_new_tokens: state.max_tokens,
    temperature: state.temperature,
    top_k: state.top_k,
    top_p: state.top_p,
    repetition_penalty: state.repetition_penalty,
    seed: state.seed,
    include_attention: attention,
  };
}
function speed(ms, done) {
  const avg = ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length);
  const tps = done ? done.tokens_per_s : 1000 / avg;
  return (
    `${ms.length} tokens · ${fmt(avg, 1)} ms/token · ${fmt(tps, 1)} tokens/s` +
    (done ? ` · first token ${fmt(done.ttft_ms, 1)} ms` : "")
  );
}

export {
  addToken,
  announce,
  chip,
  detail,
  generatedList,
  outFig,
  refreshSampler,
  request,
  showDetail,
  speed,
  text,
};
