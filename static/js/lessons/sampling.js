// Step 10 · Logits → sampling: every sampler stage redrawn live from /api/sampler; one seeded draw on both
// backends.
import { latestOnly, streamEvents } from "../lib/api.js";
import { checked, fmt, h, pct } from "../lib/dom.js";
import { figure } from "../vis/figure.js";
import { render as stages } from "../vis/sampler.js";
import { tokenLabel } from "../vis/tokens.js";

const SLIDERS = [
  ["temperature", "Temperature", 0, 2, 0.05],
  ["top_k", "Top-k (0 = off)", 0, 100, 1],
  ["top_p", "Top-p", 0.05, 1, 0.01],
  ["repetition_penalty", "Repetition penalty", 1, 2, 0.05],
];
const ask = latestOnly((ctx, body, signal) => ctx.api.postJSON("/api/sampler", body, { signal }));
const params = (s) => ({
  temperature: s.temperature,
  top_k: s.top_k,
  top_p: s.top_p,
  repetition_penalty: s.repetition_penalty,
});

// One token from /api/generate with the lesson's sampler settings and seed, on one backend.
async function drawOne(state, backend) {
  let token = null;
  await streamEvents(
    "/api/generate",
    {
      model: state.model,
      prompt: state.text,
      backend,
      max_new_tokens: 1,
      seed: state.seed,
      ...params(state),
    },
    {
      onEvent: (name, data) => {
        if (name === "token") token = data;
        else if (name === "error") token = { error: data.message };
      },
    },
  );
  return token;
}

export default {
  defaults: { temperature: 0.8, top_k: 0, top_p: 1, repetition_penalty: 1, seed: 42 },
  code: {
    module: "sampling",
    name: "filtered_distribution",
    highlight: ["apply_repetition_penalty(", "params.temperature", "top_k_mask(", "top_p_mask("],
    only: false,
  },
  formula:
    String.raw`\begin{aligned}p_i &= \frac{e^{z_i/T}}{\sum_j e^{z_j/T}}\\ \text{top-}k{:}\ z_i &` +
    String.raw`\leftarrow -\infty \text{ unless } z_i \text{ is among the } k \text{ largest}` +
    String.raw`\\\text{top-}p{:}\ \text{keep} &\text{ the fewest most likely with } \textstyle\sum ` +
    String.raw`p_i \ge p\end{aligned}`,

  controls(ctx) {
    const st = ctx.state();
    for (const [key, label, min, max, step] of SLIDERS) {
      const id = `lesson-${key}`;
      const out = h("output", { for: id }, String(st[key]));
      const input = h("input", {
        type: "range",
        id,
        min,
        max,
        step,
        value: st[key],
        "data-key": key,
        "aria-label": label,
      });
      input.addEventListener("input", () => {
        out.textContent = input.value;
        ctx.set({ [key]: Number(input.value) });
      });
      ctx.controls.append(
        h(
          "div",
          { class: "slider", style: "flex:1 1 20em;max-width:27em" },
          h("label", { for: id }, label),
          input,
          out,
        ),
      );
    }
    const seed = h("input", {
      type: "number",
      id: "lesson-seed",
      min: 0,
      max: 4294967295,
      value: st.seed,
      "data-key": "seed",
      "aria-label": "seed",
      style: "width:7em",
    });
    seed.addEventListener("change", () =>
      ctx.set({ seed: Math.max(0, Math.floor(Number(seed.value) || 0)) }),
    );
    ctx.controls.append(h("label", { for: "lesson-seed" }, "Seed"), seed);
  },

  async load(state, ctx) {
    const res = await ask(ctx, { model: state.model, prompt: state.text, n: 10, ...params(state) });
    return res && { sampler: res };
  },

  render(data, state, ctx) {
    const res = data.sampler;
    const m = ctx.model();
    const last = res.stages[res.stages.length - 1];
    const f = figure(ctx.figures, {
      title: "Next-token distribution after every stage",
      titleAnswer: `: ${last.kept} of ${m.vocab_size} tokens left`,
      answer: true,
      caption:
        `The ${res.tokens.length} tokens ${res.model} finds most likely after your text, through the ` +
        `sampler in order: repetition penalty ${state.repetition_penalty}, ` +
        `temperature ${state.temperature}, top-k ${state.top_k || "off"}, top-p ${state.top_p}. ` +
        "“kept” counts every token of the vocabulary still possible; H is the entropy in bits. " +
        "Hatched bars were cut.",
      name: "sampler-stages",
      data: res,
    });
    const box = h("div", { "data-sampler": "" });
    f.body.append(box);
    stages(box, res, { check: "sampler", vocab: m.vocab_size });
    box.firstChild.style.cssText =
      "display:grid;grid-template-columns:repeat(auto-fill,minmax(126px,1fr));gap:10px";
    f.body.style.maxHeight = "none";

    const g = figure(ctx.figures, {
      title: `Draw one token with seed ${state.seed}`,
      caption:
        "One step of /api/generate with these settings and seed, on the NumPy and on the PyTorch twin. " +
        "The sampler runs once, in NumPy, on each backend's logits: the same seed gives the same token.",
      name: "seeded-draw",
    });
    const result = h("div", { class: "small", "aria-live": "polite", "data-draws": "" });
    const button = h("button", { type: "button", id: "draw-one" }, `Sample 1 token (seed ${state.seed})`);
    button.addEventListener("click", async () => {
      // busy, not disabled: a disabled button would drop the keyboard focus to the page body
      if (button.getAttribute("aria-disabled") === "true") return;
      button.setAttribute("aria-disabled", "true");
      result.replaceChildren("drawing…");
      try {
        const draws = [];
        for (const backend of ["numpy", "torch"]) draws.push([backend, await drawOne(state, backend)]);
        const ok = draws.filter(([, t]) => t && !t.error);
        result.replaceChildren(
          h(
            "table",
            { class: "data" },
            h(
              "tr",
              {},
              h("th", {}, "backend"),
              h("th", {}, "token"),
              h("th", { class: "num" }, "id"),
              h("th", { class: "num" }, "p (sampled)"),
              h("th", { class: "num" }, "p (model)"),
            ),
            ...draws.map(([backend, t]) =>
              t && !t.error
                ? h(
                    "tr",
                    { "data-backend": backend },
                    h("td", {}, backend),
                    h("td", { class: "mono" }, tokenLabel(t.token)),
                    h(
                      "td",
                      { class: "num" },
                      checked(h("span", {}, String(t.id)), `generate.${backend}.id`, t.id),
                    ),
                    h("td", { class: "num", title: String(t.prob) }, pct(t.prob)),
                    h("td", { class: "num", title: String(t.model_prob) }, pct(t.model_prob)),
                  )
                : h("tr", {}, h("td", {}, backend), h("td", { colspan: 4 }, t?.error || "no token")),
            ),
          ),
          h(
            "p",
            { "data-same": String(ok.length === 2 && ok[0][1].id === ok[1][1].id) },
            ok.length === 2
              ? ok[0][1].id === ok[1][1].id
                ? "Same seed, same token on both backends."
                : "The backends drew different tokens."
              : "",
          ),
        );
      } catch (e) {
        result.replaceChildren(h("span", { class: "error" }, e.message));
      } finally {
        button.removeAttribute("aria-disabled");
      }
    });
    g.body.append(button, result);
  },

  question(data, state) {
    const res = data.sampler;
    const st = res.stages;
    const kept = st[st.length - 1].kept;
    const V = st[0].kept;
    const choices = [
      ...new Set([kept, V, 1, Math.max(1, Math.round(kept / 2)), Math.min(V, kept * 2 + 1)]),
    ].sort((a, b) => a - b);
    return {
      prompt:
        `With temperature ${state.temperature}, top-k ${state.top_k || "off"} and ` +
        `top-p ${state.top_p}, how many tokens can still be drawn?`,
      choices: choices.map(String),
      answer: choices.indexOf(kept),
      reveal:
        `${kept}. Temperature never removes a token, it only sharpens (T < 1) or flattens (T > 1) ` +
        `the distribution (entropy ${fmt(st[0].entropy_bits, 2)} → ${fmt(st[2].entropy_bits, 2)} ` +
        "bits); only top-k and top-p cut tokens, and what they keep is renormalised to sum to 1.",
    };
  },

  prose: (data) => {
    const res = data.sampler;
    return (
      "The model's last layer gives one score (logit) per vocabulary token; softmax turns them into " +
      `probabilities — here “${tokenLabel(res.tokens[0])}” is the favourite ` +
      `at ${pct(res.stages[0].probs[0])}. Sampling picks from that distribution, after a few ` +
      "optional changes, always in the same order: the repetition penalty lowers tokens already in " +
      "the text, the temperature divides every logit (T → 0 is greedy, large T is nearly uniform), " +
      `top-k keeps the k most likely, top-p keeps the smallest set whose probability reaches p.\n\nA ` +
      "seeded random generator makes a draw repeatable: the same logits, settings and seed always " +
      "give the same token, whichever twin computed the logits."
    );
  },
};
