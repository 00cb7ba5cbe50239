// /train and /train/<id>: train a small model live — settings, play / pause / step / resume / stop, live
// charts, the probe's answer and attention per snapshot, a second run with one change, and the trained
// model opened in the playground when the run ends.
import { fmt, h, pct, toast } from "../lib/dom.js";
import { applyTeacherPresets } from "../lib/state.js";
import { createCharts } from "./train/charts.js";
import { buildForm, lab, save, settingsOf, state } from "./train/form.js";
import { createProbe } from "./train/probe.js";
import { BusyError, control, follow, startRun } from "./train/run.js";

const $ = (id) => document.getElementById(id);
const errorBox = $("train-error");
const statusEl = $("train-status");
const stepEl = $("train-step");
const linkBox = $("train-link");
const donePanel = $("train-done");
const inductionBest = $("induction-best");
const form = buildForm($("train-form"), () => showChanges());
const charts = createCharts($("train-charts"));
const probe = createProbe($("train-probe"));

// the one or two runs drawn now: {label, settings, id, model, steps, evals, total, done}
let runs = [];
let current = null; // the run followed now
let status = "idle"; // idle | starting | running | paused | done
let queued = null; // the second run's settings, started when the first ends
let probeSeen = null; // the probe input of the run followed now

const buttons = {
  play: $("train-play"),
  pause: $("train-pause"),
  step: $("train-step-once"),
  resume: $("train-resume"),
  stop: $("train-stop"),
};
const ENABLED = {
  idle: ["play"],
  done: ["play"],
  starting: [],
  running: ["pause", "stop"],
  paused: ["resume", "step", "stop"],
};
function setStatus(next, message) {
  status = next;
  document.body.dataset.trainStatus = next;
  const on = ENABLED[next];
  const focused = Object.values(buttons).find((b) => b === document.activeElement);
  for (const [name, b] of Object.entries(buttons)) {
    b.setAttribute("aria-disabled", String(!on.includes(name)));
  }
  // a button that just disabled itself hands the focus on (never to the page body)
  if (focused?.getAttribute("aria-disabled") === "true") {
    const next = buttons[on[0]] || buttons.play;
    next.focus();
  }
  if (message) statusEl.textContent = message;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function newRun(settings, label) {
  return { label, settings, id: null, model: null, steps: [], evals: [], total: settings.steps, done: null };
}

async function play(settings, run) {
  showError("");
  setStatus("starting", "Starting a run…");
  let started;
  try {
    started = await startRun(settings);
  } catch (e) {
    setStatus(runs.some((r) => r.done) ? "done" : "idle", "");
    showError(e instanceof BusyError ? e.message : `Not started: ${e.message}`);
    queued = null;
    return;
  }
  run.id = started.id;
  run.model = started.model;
  watch(run);
}

function watch(run) {
  current = run;
  showLink(run);
  donePanel.hidden = runs.length < 2 || !runs[0].done;
  follow(run.id, {
    start(d) {
      run.settings = { ...run.settings, ...d.settings };
      run.steps.length = 0;
      run.evals.length = 0;
      run.total = d.steps;
      probeSeen = d.probe;
      probe.start(d.settings.task, d.probe);
      if (lab.run && run === runs[0]) {
        Object.assign(state, settingsOf(run.settings)); // the form shows the run's own settings
        form.sync();
      }
      if (runs.length === 1) charts.reset(d.settings.task, runs);
      inductionBest.hidden = d.settings.task !== "induction";
      setStatus(
        "running",
        `Training ${d.architecture} (${d.parameters.toLocaleString()} parameters) on ${d.settings.task}, ` +
          `${d.steps} steps on ${d.device}.`,
      );
      stepEl.textContent = `step 0 of ${d.steps}`;
    },
    step(d) {
      run.steps.push(d);
      stepEl.textContent = `step ${d.step} of ${run.total}`;
      stepEl.dataset.step = String(d.step);
      charts.update();
    },
    eval(d) {
      run.evals.push(d);
      const best = d.induction_score;
      if (best) {
        inductionBest.textContent =
          `Best induction head at step ${d.step}: layer ${best.layer}, head ${best.head}, ` +
          `mean weight ${fmt(best.score, 3)} on the token after the earlier copy of the current token.`;
        probe.select(best.layer, best.head);
      }
      charts.update();
    },
    snapshot: (d) => probe.snapshot(d),
    error(d) {
      showError(`The run failed: ${d.message}`);
    },
    done(d) {
      run.done = d;
      charts.update();
      finished(run);
    },
    lost() {
      if (!run.done)
        setStatus("done", "The connection to the run was lost; reload the page to see it again.");
    },
  });
}

function showLink(run) {
  const url = new URL(`/train/${run.id}`, location.href).href;
  const copy = h(
    "button",
    {
      type: "button",
      class: "secondary small",
      id: "train-copy-link",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(url);
          toast("Link copied");
        } catch {
          toast("Select the link and copy it");
        }
      },
    },
    "Copy link",
  );
  linkBox.replaceChildren(
    h("span", {}, "This run's own page (anyone with it watches the same run): "),
    h("a", { href: `/train/${run.id}`, id: "train-run-link" }, url),
    " ",
    copy,
  );
  linkBox.hidden = false;
}

const REASONS = {
  finished: "it took all its steps",
  stopped: "it was stopped",
  time: "it reached the server's time limit for a run",
  idle: "nobody was watching it",
  error: "it failed",
  shutdown: "the server shut down",
};

function finished(run) {
  const d = run.done;
  const m = d.metrics || {};
  const facts = [`Ended at step ${d.step} because ${REASONS[d.reason] || d.reason}.`];
  if (Number.isFinite(m.val_loss)) facts.push(`Held-out loss ${fmt(m.val_loss, 4)}.`);
  if (Number.isFinite(m.accuracy)) facts.push(`Held-out exact match ${pct(m.accuracy)}.`);
  if (m.induction_score) {
    const s = m.induction_score;
    facts.push(`Induction score ${fmt(s.score, 3)} (layer ${s.layer}, head ${s.head}).`);
  }
  const item = h(
    "li",
    { "data-model": d.model },
    runs.length > 1 ? h("strong", {}, `${run.label}: `) : null,
    facts.join(" "),
    " ",
    d.reason === "error" ? null : modelLinks(run),
  );
  $("train-done-list").append(item);
  donePanel.hidden = false;
  if (queued) {
    const [settings, second] = queued;
    queued = null;
    play(settings, second);
    return;
  }
  setStatus("done", `The run ended: ${REASONS[d.reason] || d.reason}.`);
}

function modelLinks(run) {
  const name = run.done.model;
  const probeText = probeSeen;
  const q = new URLSearchParams({ model: name, prompt: probeText?.prompt || "" });
  const links = [
    h("code", { class: "model-name" }, name),
    " — open it in ",
    h("a", { href: `/playground?${q}`, class: "playground-link" }, "the playground"),
  ];
  if (run.settings.arch === "gpt") {
    const a = new URLSearchParams({ model: name, text: probeText?.text || "" });
    links.push(
      " or ",
      h("a", { href: `/attention?${a}`, class: "attention-link" }, "the attention explorer"),
    );
  }
  const minutes = Math.round(lab.model_idle_s / 60);
  links.push(`. It stays served while used, and for ${minutes} minutes after its last use.`);
  return h("span", {}, links);
}

// "Run again with one change": each change flips one setting of the first run.
const CHANGES = {
  norm: ["norm pre ↔ post", (s) => ({ norm: s.norm === "pre" ? "post" : "pre" }), (s) => s.arch === "gpt"],
  pos_none: ["positions → none", () => ({ pos: "none" }), (s) => s.arch !== "lstm" && s.pos !== "none"],
  pos_sin: [
    "positions → sinusoidal",
    () => ({ pos: "sinusoidal" }),
    (s) => s.arch !== "lstm" && s.pos !== "sinusoidal",
  ],
  pos_learned: [
    "positions → learned",
    () => ({ pos: "learned" }),
    (s) => s.arch !== "lstm" && s.pos !== "learned",
  ],
  arch: [
    "GPT ↔ LSTM",
    (s) => ({ arch: s.arch === "gpt" ? "lstm" : "gpt" }),
    (s) => lab.archs[s.task].includes("lstm") && s.arch !== "encoder-decoder",
  ],
  layers: ["one layer more", (s) => ({ n_layer: s.n_layer + 1 }), (s) => s.n_layer < 4],
  heads1: ["one head", () => ({ n_head: 1 }), (s) => s.arch !== "lstm" && s.n_head > 1],
  lr_up: ["learning rate × 3", (s) => ({ lr: +(s.lr * 3).toPrecision(3) }), (s) => s.lr * 3 <= 0.1],
  lr_down: ["learning rate ÷ 3", (s) => ({ lr: +(s.lr / 3).toPrecision(3) }), () => true],
  warmup: ["no warm-up", () => ({ warmup: 0 }), (s) => s.warmup > 0],
  seed: ["another seed", (s) => ({ seed: s.seed + 1 }), () => true],
};
const changeSelect = $("train-change");
function showChanges() {
  const base = runs[0]?.settings || settingsOf(state);
  const fits = Object.entries(CHANGES).filter(([, [, , ok]]) => ok(base));
  if (!fits.some(([k]) => k === state.change)) state.change = fits[0]?.[0] || "seed";
  changeSelect.replaceChildren(
    ...fits.map(([k, [label]]) => h("option", { value: k, selected: k === state.change }, label)),
  );
}
changeSelect.addEventListener("change", () => {
  state.change = changeSelect.value;
  save();
});

function difference(a, b) {
  const keys = Object.keys(b).filter((k) => a[k] !== b[k] && k !== "steps");
  return [keys.map((k) => `${k} ${a[k]}`).join(", "), keys.map((k) => `${k} ${b[k]}`).join(", ")];
}

$("train-compare").addEventListener("click", () => {
  if (status === "starting") return;
  const first = runs[0] && !(runs.length > 1) ? runs[0] : null;
  const base = first ? first.settings : settingsOf(state);
  const [, make] = CHANGES[state.change] || CHANGES.seed;
  const other = { ...settingsOf(base), ...make(base) };
  const [labelA, labelB] = difference(base, other);
  if (first?.id) {
    first.label = labelA;
    const second = newRun(other, labelB);
    runs.push(second);
    charts.relabel();
    if (first.done) play(other, second);
    else {
      queued = [other, second];
      toast(`The run with ${labelB} starts when this one ends`);
    }
  } else {
    // nothing trained yet: train the form's settings, then the changed ones
    $("train-done-list").replaceChildren();
    runs = [newRun(base, labelA)];
    charts.reset(base.task, runs);
    const second = newRun(other, labelB);
    runs.push(second);
    queued = [other, second];
    play(base, runs[0]);
  }
});

buttons.play.addEventListener("click", () => {
  if (buttons.play.getAttribute("aria-disabled") === "true") return;
  // a new run from another run's page: the address becomes the lab's own, its settings in the query
  if (location.pathname !== "/train") history.replaceState(null, "", `/train${location.search}`);
  save();
  $("train-done-list").replaceChildren();
  donePanel.hidden = true;
  const settings = settingsOf(state);
  runs = [newRun(settings, "")];
  charts.reset(settings.task, runs);
  showChanges();
  play(settings, runs[0]);
});
for (const action of ["pause", "step", "resume", "stop"]) {
  const b = buttons[action === "step" ? "step" : action];
  b.addEventListener("click", async () => {
    if (b.getAttribute("aria-disabled") === "true" || !current?.id) return;
    if (action === "stop") queued = null;
    try {
      const st = await control(current.id, action);
      if (st.status === "paused") setStatus("paused", `Paused at step ${st.step}.`);
      else if (st.status === "running") setStatus("running", `Training, step ${st.step}.`);
    } catch (e) {
      showError(e.message);
    }
  });
}

setStatus("idle", "");
showChanges();
applyTeacherPresets();
if (lab.run) {
  // a run's own page: watch it, its history first
  const run = newRun(settingsOf(state), "");
  run.id = lab.run;
  runs = [run];
  charts.reset(state.task, runs);
  setStatus("starting", "Joining the run…");
  watch(run);
} else {
  charts.reset(state.task, []);
}
document.body.dataset.ready = "1";
