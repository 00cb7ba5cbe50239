// The lesson shell: input controls, URL state, prev/next keys, formula, NumPy line, question.
// Each step is a module in ../lessons/<slug>.js exporting a default object:
//   defaults: {key: value}            URL-backed state (text and model are added by the shell)
//   accepts(model) → bool             which served models the step can run on (default: any GPT)
// controls(ctx) optional: add inputs to ctx.controls; call ctx.set({key: value}) on change
//   load(state, ctx) → data           fetch what the step needs (ctx.api.postJSON …)
//   render(data, state, ctx)          draw figures into ctx.figures (use vis/figure.js), mark checked numbers
//   formula: string | (data, state) → string          KaTeX source
//   code: {name, highlight: [...], module?, only?, context?}   a function whose lines are shown
// module: numpy (default) | torch | sampling | generate | tokenizer | explain (see server/routers/source.py)
//   question(data, state) → {prompt, choices: [label], answer: index, reveal: string} | null
//     Whatever gives the answer away in the figures, titles or captions carries the attribute
//     data-answer: it stays hidden (display: none, so out of the accessibility tree too) behind a visible
//     cue until the student picks a choice; ?reveal=all (a teacher) shows everything at once.
//   prose: string | (data, state) → string
import * as api from "../lib/api.js";
import { debounce, h, modelSelect } from "../lib/dom.js";
import { setStep, withTerms } from "../lib/glossary.js";
import { tex } from "../lib/math.js";
import { showSource } from "../lib/source.js";
import { applyTeacherPresets, hiddenPanels, pageData, readState, writeState } from "../lib/state.js";
import { classQuestion } from "./class/question.js";
import { drawLessonMap } from "./lesson-map.js";

const page = pageData();
const slug = page.step.slug;
setStep(
  slug,
  page.lessons.map((x) => x.slug),
); // terms used before the step that teaches them get their definition inline
const models = page.models;
const controls = document.getElementById("lesson-controls");
const figures = document.getElementById("figures");
const errorBox = document.getElementById("lesson-error");
const article = document.querySelector("article.lesson");
// Answered once per page load: a redraw (another layer, another text) keeps what was revealed.
// A teacher's ?reveal=all shows every answer; a page whose question panel is hidden (?hide=question)
// has nobody to ask, so it hides nothing.
let answered = new URLSearchParams(location.search).get("reveal") === "all" || hiddenPanels().has("question");

document.addEventListener("keydown", (e) => {
  const t = e.target;
  if (e.altKey || e.ctrlKey || e.metaKey || t.closest?.("input, textarea, select, svg, [contenteditable]"))
    return;
  const link = document.getElementById(e.key === "ArrowLeft" ? "prev" : e.key === "ArrowRight" ? "next" : "");
  if (link) {
    e.preventDefault();
    link.href = `${link.getAttribute("href").split("?")[0]}${carry()}`;
    link.click();
  }
});

// Moving to another step keeps the reader's text and model.
function carry() {
  const q = new URLSearchParams(location.search);
  const keep = new URLSearchParams();
  for (const k of ["text", "model", "lock", "hide", "reveal"]) if (q.has(k)) keep.set(k, q.get(k));
  const s = keep.toString();
  return s ? `?${s}` : "";
}
for (const id of ["prev", "next"]) {
  const a = document.getElementById(id);
  if (a) a.addEventListener("click", () => (a.href = `${a.getAttribute("href").split("?")[0]}${carry()}`));
}

async function main() {
  const step = (await import(`../lessons/${slug}.js`)).default;
  const accepts = step.accepts || ((m) => m.architecture === "gpt");
  const usable = models.filter(accepts);
  if (!usable.length) {
    showError("No served model can run this step.");
    return;
  }
  const preferred =
    step.preferredModel && usable.find((m) => m.name === step.preferredModel)
      ? step.preferredModel
      : usable[0].name;
  const defaults = { text: "ROMEO: But soft, what light", model: preferred, ...(step.defaults || {}) };
  let state = readState(defaults);
  if (!usable.some((m) => m.name === state.model)) state.model = defaults.model;

  const ctx = {
    api,
    page,
    models,
    figures,
    controls,
    model: () => models.find((m) => m.name === state.model),
    set: (patch) => {
      state = { ...state, ...patch };
      writeState(state, defaults);
      refresh();
    },
    state: () => state,
  };

  if (!step.noText) {
    const input = h("input", {
      type: "text",
      id: "lesson-text",
      value: state.text,
      size: 40,
      "data-key": "text",
      "aria-label": "your text",
      maxlength: 400,
    });
    input.addEventListener(
      "input",
      debounce(() => ctx.set({ text: input.value }), 300),
    );
    controls.append(h("label", { for: "lesson-text" }, "Your text"), input);
  }
  const select = modelSelect(usable, state.model, () => true, {
    id: "lesson-model",
    "data-key": "model",
    "aria-label": "model",
  });
  select.addEventListener("change", () => ctx.set({ model: select.value }));
  controls.append(h("label", { for: "lesson-model" }, "Model"), select);
  step.controls?.(ctx);
  applyTeacherPresets();

  let generation = 0;
  async function refresh() {
    const mine = ++generation;
    try {
      const data = await step.load(state, ctx);
      if (mine !== generation) return;
      errorBox.hidden = true;
      figures.replaceChildren();
      step.render(data, state, ctx);
      const formula = typeof step.formula === "function" ? step.formula(data, state) : step.formula;
      if (formula) tex(document.getElementById("formula"), formula);
      const prose = typeof step.prose === "function" ? step.prose(data, state) : step.prose;
      document
        .getElementById("prose")
        .replaceChildren(h("h2", {}, "What is going on"), ...paragraphs(prose || ""));
      renderQuestion(step.question?.(data, state));
      cueAnswers();
      drawLessonMap(slug, ctx.model(), state.text);
      document.body.dataset.ready = String(mine);
    } catch (e) {
      if (mine !== generation) return;
      showError(e.message || String(e));
      document.body.dataset.ready = String(mine);
    }
  }
  if (step.code) {
    const code = typeof step.code === "function" ? step.code(state) : step.code;
    const backend = code.module || "numpy";
    const titles = { torch: "The PyTorch line", tokenizer: "The Python line" };
    document.getElementById("code-title").textContent = titles[backend] || "The NumPy line";
    showSource(
      document.getElementById("code"),
      document.getElementById("code-where"),
      backend,
      code.name,
      code,
    ).catch((e) => showError(e.message));
  }
  await refresh();
}

function paragraphs(text) {
  return text.split(/\n\s*\n/).map((p) => h("p", {}, withTerms(p.trim())));
}

// A step without a question hides nothing; otherwise [data-answer] shows once a choice is picked.
function setAnswered(value) {
  article.dataset.answered = String(value);
}

// Each hidden answer gets a visible cue in its place (inline inside a line of text, a box otherwise).
const INLINE = new Set(["SPAN", "EM", "STRONG", "B", "CODE", "SUP", "SUB", "A", "ABBR", "DFN"]);
function cueAnswers() {
  // a figure that hides part of itself also folds away its table and downloads until then (they hold the
  // same numbers); these need no cue of their own
  for (const fig of article.querySelectorAll("figure.fig:not([data-answer]):has([data-answer])"))
    for (const el of fig.querySelectorAll(":scope > .fig-table, :scope > header > .export"))
      el.dataset.answer = "";
  for (const el of article.querySelectorAll("[data-answer]")) {
    if (el.matches(".fig-table, .export")) continue;
    if (el instanceof SVGElement && !(el instanceof SVGSVGElement)) continue; // hide the whole <svg>
    if (el.previousElementSibling?.classList.contains("answer-cue")) continue;
    const inline = INLINE.has(el.tagName);
    const short = el.dataset.answer; // data-answer="?": a table cell's short cue
    el.before(
      short
        ? h(
            "span",
            { class: "answer-cue inline short", title: "shown after you predict" },
            short,
            h("span", { class: "visually-hidden" }, " (shown after you predict)"),
          )
        : h(
            inline ? "span" : "p",
            { class: `answer-cue${inline ? " inline" : ""}` },
            inline
              ? "(after you predict)"
              : hiddenPanels().has("reveal")
                ? `Hidden${what(el)}: your teacher reveals it.`
                : `Hidden until you predict${what(el)}: answer the question above first.`,
          ),
    );
  }
}

// A hidden figure's cue names it (its title, less any part of the title that is itself an answer).
function what(el) {
  const title = el.matches("figure") && el.querySelector("h3")?.cloneNode(true);
  if (!title) return "";
  for (const part of title.querySelectorAll("[data-answer]")) part.remove();
  return ` (${title.textContent.trim()})`;
}

function renderQuestion(q) {
  const box = document.getElementById("question");
  box.hidden = !q; // a teacher's ?hide=question (the .hidden class) still wins
  // the question for tests and tools that check nothing gives it away (no label, so not read aloud)
  box.dataset.question = q ? JSON.stringify({ prompt: q.prompt, choices: q.choices, answer: q.answer }) : "";
  setAnswered(answered || !q);
  if (!q) {
    classQuestion(box, null, null);
    return;
  }
  const verdict = h("p", { class: "verdict", "aria-live": "polite" });
  const reveal = h("p", { class: "reveal", hidden: !answered }, withTerms(q.reveal));
  // ?hide=reveal keeps the question and its choices but not the verdict and explanation: the teacher
  // reveals the answer aloud. The student's pick is still acknowledged.
  const revealBox = h("div", { "data-panel": "reveal" }, verdict, reveal);
  const noted = h("p", { class: "muted small", "aria-live": "polite" });
  // show the answer; i: the choice picked (null: revealed for a class without a pick of this reader's)
  const show = (i) => {
    if (i !== null) {
      verdict.textContent = i === q.answer ? "Right." : `Not quite: it is “${q.choices[q.answer]}”.`;
      verdict.className = `verdict ${i === q.answer ? "ok" : "error"}`;
    }
    reveal.hidden = false;
    answered = true;
    setAnswered(true);
  };
  const choices = h("div", { class: "choices", role: "group", "aria-label": "choices" });
  q.choices.forEach((label, i) => {
    choices.append(
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          "data-choice": i,
          "aria-pressed": "false",
          onclick: (e) => {
            for (const b of choices.children) b.setAttribute("aria-pressed", String(b === e.currentTarget));
            // in a live class a student's pick is their answer to the class's poll: the reveal waits for it
            if (classPoll?.pick(i)) return;
            // ?hide=reveal: the teacher reveals it aloud, so the figures that give it away stay hidden too
            if (revealBox.classList.contains("hidden")) {
              noted.textContent = `Your answer: “${label}”. Your teacher reveals the answer.`;
              return;
            }
            noted.textContent = "";
            show(i);
          },
        },
        label,
      ),
    );
  });
  box.replaceChildren(
    h("h2", {}, "Predict, then reveal"),
    h("p", {}, withTerms(q.prompt)),
    choices,
    noted,
    revealBox,
  );
  const classPoll = classQuestion(box, q, show);
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

main();
