// The training lab's settings form: every control labelled, its value in the URL, a task's own defaults
// (steps, architecture, heads) taken when the task changes.
import { h } from "../../lib/dom.js";
import { pageData, readState, writeState } from "../../lib/state.js";

export const lab = pageData().lab;

const ARCH_NAMES = { gpt: "GPT", lstm: "LSTM", "encoder-decoder": "encoder-decoder" };
const ARCH_HELP = {
  gpt: "a transformer that reads left to right, each token attending to the ones before it",
  lstm: "a recurrent network: no attention, it carries a state from token to token",
  "encoder-decoder": "one transformer reads the digits, another writes the words, attending across",
};
const TASK_HELP = {
  copy: "repeat 8 digits after “>”: 31415926>31415926",
  reverse: "write 8 digits backwards: 31415926>62951413",
  sort: "write 8 digits in order: 31415926>11234569",
  induction: "twelve letters shown twice: the second copy can only be predicted by looking back at the first",
  numbers: "a number in digits → the same number in words: 4012=four thousand twelve",
  shakespeare: "the next character of Shakespeare's plays",
};
// the settings a run is made of, in the order of the form and of POST /api/train
export const KEYS = [
  "task",
  "arch",
  "n_layer",
  "n_head",
  "n_embd",
  "pos",
  "norm",
  "lr",
  "warmup",
  "steps",
  "batch_size",
  "seed",
];

// a task's defaults: the server's request defaults with the task's own (steps, architecture, heads)
export function defaultsFor(task) {
  const own = lab.task_defaults[task] || {};
  const base = Object.fromEntries(KEYS.map((k) => [k, lab.defaults[k]]));
  return { ...base, ...own, task, arch: own.arch || "gpt", steps: own.steps, change: "norm" };
}

function initialState() {
  const asked = new URLSearchParams(location.search).get("task");
  const task = lab.tasks.includes(asked) && (asked !== "shakespeare" || lab.text) ? asked : lab.defaults.task;
  const state = readState(defaultsFor(task));
  state.task = task;
  if (!lab.archs[task].includes(state.arch)) state.arch = defaultsFor(task).arch;
  return state;
}

export const state = initialState();
export const save = () => writeState(state, defaultsFor(state.task));

// the settings sent to POST /api/train
export const settingsOf = (s) => Object.fromEntries(KEYS.map((k) => [k, s[k]]));

function field(id, label, control, help) {
  control.id = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    help ? h("p", { class: "help small muted", id: `${id}-help` }, help) : null,
  );
}

function select(key, options, value) {
  return h(
    "select",
    { "data-key": key },
    options.map(([v, text, disabled]) =>
      h("option", { value: v, selected: String(v) === String(value), disabled }, text),
    ),
  );
}

function number(key, value, attrs) {
  return h("input", { type: "number", "data-key": key, value, inputmode: "decimal", ...attrs });
}

// Build the form in `root`; onChange() after any setting changed.
export function buildForm(root, onChange) {
  const range4 = [1, 2, 3, 4].map((n) => [n, String(n)]);
  const taskOptions = lab.tasks.map((t) => [
    t,
    t === "shakespeare" && !lab.text ? `${t} (its text is not on this server)` : t,
    t === "shakespeare" && !lab.text,
  ]);
  const controls = {
    task: select("task", taskOptions, state.task),
    arch: select("arch", [], state.arch),
    n_layer: select("n_layer", range4, state.n_layer),
    n_head: select("n_head", range4, state.n_head),
    n_embd: number("n_embd", state.n_embd, { min: 16, max: 128, step: 8 }),
    pos: select(
      "pos",
      [
        ["learned", "learned"],
        ["sinusoidal", "sinusoidal"],
        ["none", "none"],
      ],
      state.pos,
    ),
    norm: select(
      "norm",
      [
        ["pre", "pre-LN"],
        ["post", "post-LN"],
      ],
      state.norm,
    ),
    lr: number("lr", state.lr, { min: 0.0001, max: 0.1, step: "any" }),
    warmup: number("warmup", state.warmup, { min: 0, max: 5000, step: 1 }),
    steps: number("steps", state.steps, { min: 1, max: lab.max_steps, step: 1 }),
    batch_size: number("batch_size", state.batch_size, { min: 1, max: 256, step: 1 }),
    seed: number("seed", state.seed, { min: 0, step: 1 }),
  };
  const taskHelp = h("span", {}, TASK_HELP[state.task]);
  const archHelp = h("span", {}, ARCH_HELP[state.arch]);
  const fields = [
    field("train-task", "Task", controls.task, taskHelp),
    lab.text
      ? null
      : h(
          "p",
          { class: "small muted", id: "train-text-missing" },
          "Shakespeare cannot run here: the server has no copy of its text.",
        ),
    field("train-arch", "Architecture", controls.arch, archHelp),
    field("train-layers", "Layers", controls.n_layer, "blocks stacked one on another (1–4)"),
    field("train-heads", "Heads", controls.n_head, "attention heads per layer, each free to look elsewhere"),
    field(
      "train-width",
      "Width",
      controls.n_embd,
      "numbers per token vector (16–128, a multiple of the heads)",
    ),
    field(
      "train-pos",
      "Positions",
      controls.pos,
      "how a token knows where it stands: a trained vector per position, fixed waves, or none at all " +
        "(then only the causal mask tells order)",
    ),
    field(
      "train-norm",
      "Norm",
      controls.norm,
      "layer normalisation before each sublayer (pre-LN, GPT-2) or after it (post-LN, the 2017 paper)",
    ),
    field("train-lr", "Learning rate", controls.lr, "how big each step of gradient descent is"),
    field(
      "train-warmup",
      "Warm-up",
      controls.warmup,
      "steps over which the learning rate rises from 0 to its value, so the first noisy steps stay small",
    ),
    field("train-steps", "Steps", controls.steps, `updates of the weights (at most ${lab.max_steps} here)`),
    field("train-batch", "Batch", controls.batch_size, "examples averaged in each step"),
    field("train-seed", "Seed", controls.seed, "the same seed and settings train the same curve again"),
  ];
  root.append(...fields.filter(Boolean));

  const fillArch = () => {
    const archs = lab.archs[state.task];
    controls.arch.replaceChildren(
      ...archs.map((a) => h("option", { value: a, selected: a === state.arch }, ARCH_NAMES[a] || a)),
    );
    const lstm = state.arch === "lstm";
    controls.n_head.disabled = lstm;
    controls.pos.disabled = lstm;
    controls.norm.disabled = lstm || state.arch === "encoder-decoder";
    taskHelp.textContent = TASK_HELP[state.task];
    archHelp.textContent = ARCH_HELP[state.arch];
  };
  const sync = () => {
    for (const [k, el] of Object.entries(controls)) el.value = String(state[k]);
    fillArch();
  };
  fillArch();
  for (const [key, el] of Object.entries(controls)) {
    el.addEventListener("change", () => {
      if (key === "task") {
        Object.assign(state, defaultsFor(el.value), {
          ...Object.fromEntries(
            ["n_layer", "n_embd", "pos", "norm", "lr", "warmup", "batch_size", "seed"].map((k) => [
              k,
              state[k],
            ]),
          ),
          change: state.change,
        });
        sync();
      } else if (el.type === "number") {
        if (el.value.trim() !== "" && Number.isFinite(Number(el.value))) state[key] = Number(el.value);
      } else {
        state[key] = typeof state[key] === "number" ? Number(el.value) : el.value;
        if (key === "arch") fillArch();
      }
      save();
      onChange?.();
    });
  }
  return { controls, sync };
}
