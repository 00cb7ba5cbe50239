// The live class's bars (loaded by ../class-bar.js only while this browser is in a class or presenting): the
// teacher's bar (push this page, lock for students, live, release / call back, present) or a student's bar
// (following / exploring, leave). A student's page follows the teacher's pushes: it navigates to the pushed
// page and params, and the teacher's locks and hides go through lib/state.js's extra presets.
import { h, toast } from "../../lib/dom.js";
import { PANELS, SETTINGS } from "../../lib/settings-names.js";
import * as presets from "../../lib/state.js";
import { createPolls } from "./polls.js";
import { answerQuestions } from "./question.js";
import * as S from "./session.js";

// the bars' styles: the class and join pages link them; any other page gets them now, before a bar shows
if (!document.querySelector('link[href="/static/css/class.css"]')) {
  const link = h("link", { rel: "stylesheet", href: "/static/css/class.css" });
  const loaded = new Promise((resolve) => {
    link.addEventListener("load", resolve);
    link.addEventListener("error", resolve);
    setTimeout(resolve, 2000);
  });
  document.head.append(link);
  await loaded;
}

const main = document.getElementById("main");
const onClassPage = location.pathname === "/class";
const onJoinPage = location.pathname === "/join" || location.pathname.startsWith("/join/");
const LIVE = "tp-class-live";
const LAST = "tp-class-state"; // a student's last state, so a reload locks at once, before the stream answers
const NAVIGATED = "tp-class-nav"; // the state version a student's page already went to
let polls = null;

// ---- presentation mode: any page, kept per tab; a small exit button stays on screen ----
const exit = h(
  "button",
  { type: "button", class: "present-exit small secondary", onclick: () => S.setPresent(false) },
  "Exit presentation",
);
document.body.append(exit);
if (S.presenting()) S.setPresent(true);

function presentButton() {
  const button = h(
    "button",
    { type: "button", class: "secondary", "aria-pressed": String(S.presenting()) },
    "Present",
  );
  button.addEventListener("click", () => S.setPresent(!S.presenting()));
  document.addEventListener("tp-present", (e) => button.setAttribute("aria-pressed", String(e.detail)));
  return button;
}

// The page's lockable controls ([data-key]) and panels ([data-panel]), with the words a reader sees.
function lockables() {
  const ok = (name) => /^[a-z][a-z0-9_-]{0,39}$/.test(name);
  const controls = new Map();
  for (const el of main.querySelectorAll("[data-key]")) {
    const key = el.dataset.key;
    if (!ok(key) || el.closest(".class-bar, .class-slot")) continue;
    if (controls.has(key)) {
      // one setting drawn as several buttons (a segmented toggle): its group's name, else the setting's
      const group = el.closest("[role=group][aria-label], [role=radiogroup][aria-label]");
      controls.set(key, (group?.getAttribute("aria-label") || key.replace(/_/g, " ")).slice(0, 40));
      continue;
    }
    const label =
      (el.id && document.querySelector(`label[for="${el.id}"]`)?.textContent) ||
      el.getAttribute("aria-label");
    controls.set(key, (label || el.textContent || key).trim().slice(0, 40));
  }
  // the site's own name for each setting and panel where it has one (the same words as the link builder)
  for (const key of controls.keys()) if (Object.hasOwn(SETTINGS, key)) controls.set(key, SETTINGS[key]);
  const panels = new Map();
  for (const el of main.querySelectorAll("[data-panel]")) {
    const name = el.dataset.panel;
    if (!ok(name) || panels.has(name)) continue;
    const title = el.querySelector("h2, h3")?.textContent || el.getAttribute("aria-label");
    panels.set(name, Object.hasOwn(PANELS, name) ? PANELS[name] : (title || name).trim().slice(0, 40));
  }
  return { controls, panels };
}

// ---- the teacher ----
function teacherBar(entry) {
  const key = entry.teacher_key;
  const post = (body) => S.call("POST", S.classUrl(entry.code, "/state"), body, key);
  let mode = "follow";
  const chosen = { lock: new Set(), hide: new Set() };
  const count = h("span", { class: "class-count", role: "status" }, "0 students");
  const status = h("span", { class: "small muted class-status", "aria-live": "polite" });
  const chooser = h("div", { class: "class-chooser" });
  const lockBox = h("details", { class: "class-locks" }, h("summary", {}, "Lock for students"), chooser);
  lockBox.addEventListener("toggle", () => lockBox.open && drawChooser());
  // the chooser floats over the page: Escape or a click elsewhere folds it away
  lockBox.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !lockBox.open) return;
    lockBox.open = false;
    lockBox.querySelector("summary").focus();
  });
  document.addEventListener("click", (e) => {
    if (lockBox.open && !lockBox.contains(e.target)) lockBox.open = false;
  });
  const live = h("input", { type: "checkbox", id: "class-live" });
  live.checked = sessionStorage.getItem(LIVE) === "1";
  const release = h("button", { type: "button", class: "secondary", id: "class-mode" }, "Release class");
  const ask = h("button", { type: "button", id: "class-ask", hidden: true }, "Ask the class");
  const guess = h(
    "button",
    { type: "button", id: "class-guess-round", hidden: true },
    "Class: guess the next token",
  );
  const slot = h("div", { class: "class-slot" });

  function drawChooser() {
    const { controls, panels } = lockables();
    const box = (kind, name, label) => {
      const id = `class-${kind}-${name}`;
      const input = h("input", { type: "checkbox", id, checked: chosen[kind].has(name) });
      input.addEventListener("change", () =>
        input.checked ? chosen[kind].add(name) : chosen[kind].delete(name),
      );
      return h("label", { for: id }, input, ` ${label}`);
    };
    chooser.replaceChildren(
      h(
        "p",
        { class: "small muted" },
        "Ticked controls are locked, ticked panels hidden, on students' screens.",
      ),
      h(
        "fieldset",
        {},
        h("legend", {}, "Controls"),
        [...controls].map(([k, l]) => box("lock", k, l)),
      ),
      h(
        "fieldset",
        {},
        h("legend", {}, "Panels to hide"),
        [...panels].map(([k, l]) => box("hide", k, l)),
      ),
    );
  }

  async function push() {
    const body = {
      page: location.pathname,
      params: S.currentParams(),
      lock: [...chosen.lock],
      hide: [...chosen.hide],
      mode: "follow",
    };
    try {
      const { version } = await post(body);
      status.textContent = `Pushed (version ${version})`;
    } catch (e) {
      status.textContent = e.message;
    }
  }

  release.addEventListener("click", async () => {
    try {
      await post({ mode: mode === "free" ? "follow" : "free" });
    } catch (e) {
      status.textContent = e.message;
    }
  });
  ask.addEventListener("click", () => polls.ask().catch((e) => (status.textContent = e.message)));
  guess.addEventListener("click", () => {
    const prompt = document.getElementById("prompt")?.value || "";
    const model = document.getElementById("model")?.value;
    if (!prompt.trim()) status.textContent = "Type a prompt first.";
    else polls.guess(prompt, model).catch((e) => (status.textContent = e.message));
  });

  // Live: push whenever the teacher's URL changes (pages rewrite it as their state changes), 400 ms after
  let seen = location.href;
  let wait = null;
  setInterval(() => {
    if (location.href === seen) return;
    seen = location.href;
    clearTimeout(wait);
    if (live.checked) wait = setTimeout(push, 400);
  }, 200);
  live.addEventListener("change", () => {
    sessionStorage.setItem(LIVE, live.checked ? "1" : "0");
    if (live.checked) push();
  });

  const bar = h(
    "div",
    { class: "class-bar teacher", role: "region", "aria-label": "your class" },
    h(
      "a",
      { href: "/class", class: "class-code-link" },
      "Class ",
      h("strong", { class: "mono" }, entry.code),
    ),
    count,
    h("button", { type: "button", id: "class-push", onclick: push }, "Push this page"),
    lockBox,
    h("label", { for: "class-live", class: "class-live" }, live, " Live"),
    release,
    ask,
    guess,
    presentButton(),
    status,
  );
  main.prepend(bar, slot);
  // the class mirrors the teacher's presentation mode (the Present button or the exit button)
  document.addEventListener("tp-present", (e) => post({ present: e.detail }).catch(() => {}));
  polls = createPolls({
    role: "teacher",
    entry,
    slot,
    changed: () => {
      ask.hidden = !polls.canAsk();
    },
  });
  guess.hidden = !(document.body.dataset.page === "playground" && document.getElementById("prompt"));

  let first = true;
  const stream = S.listen(
    S.classUrl(entry.code, "/events"),
    {
      state(s) {
        mode = s.mode;
        release.textContent = mode === "free" ? "Call back" : "Release class";
        bar.dataset.mode = mode;
        if (first && s.page === location.pathname) {
          for (const k of s.lock || []) chosen.lock.add(k);
          for (const k of s.hide || []) chosen.hide.add(k);
        }
        if (first && live.checked && S.target(s.page || "", s.params) !== S.here()) push();
        first = false;
      },
      count(c) {
        count.textContent = `${c.students} student${c.students === 1 ? "" : "s"}`;
        count.dataset.count = String(c.students);
      },
      poll: (p) => polls.onPoll(p),
      answers: (a) => polls.onAnswers(a),
      reveal: (r) => polls.onReveal(r),
      end(e) {
        stream.close();
        S.forget(S.TEACHER);
        bar.replaceChildren(h("span", {}, `Your class has ended (${e.reason}).`));
      },
    },
    () => {
      S.forget(S.TEACHER);
      bar.replaceChildren(h("span", {}, "Your class is no longer running on this server."));
    },
  );
}

// ---- a student ----
function applyState(s) {
  if (s.mode === "free") {
    presets.clearExtraPresets?.();
  } else {
    presets.setExtraPresets?.({ lock: s.lock || [], hide: s.hide || [], by: "your teacher" });
  }
  presets.applyTeacherPresets(document);
}

function studentBar(entry) {
  const where = h("span", { class: "class-where" }, `In class ${entry.code}`);
  const leave = h("button", { type: "button", class: "secondary small" }, "Leave");
  const slot = h("div", { class: "class-slot" });
  const bar = h(
    "div",
    { class: "class-bar student", role: "region", "aria-label": "your class" },
    where,
    leave,
  );
  main.prepend(bar, slot);
  polls = createPolls({ role: "student", entry, slot });

  const show = (s) => {
    bar.dataset.mode = s.mode;
    const doing = s.mode === "free" ? "exploring on your own" : "following";
    where.textContent = `In class ${entry.code} · ${doing}`;
  };
  try {
    const last = JSON.parse(sessionStorage.getItem(LAST));
    if (last?.code === entry.code) {
      show(last.state);
      applyState(last.state);
    }
  } catch {
    /* nothing kept yet */
  }

  function stop(message) {
    stream.close();
    S.forget(S.STUDENT);
    sessionStorage.removeItem(LAST);
    presets.clearExtraPresets?.();
    presets.applyTeacherPresets(document);
    if (S.presenting()) S.setPresent(false);
    polls = null;
    slot.remove();
    bar.replaceChildren(h("span", { role: "status" }, message));
    document.dispatchEvent(new CustomEvent("tp-class-left"));
  }
  leave.addEventListener("click", () => {
    stop("You left the class.");
    setTimeout(() => bar.remove(), 4000);
  });

  const stream = S.listen(
    S.classUrl(entry.code, `/events?student=${encodeURIComponent(entry.student)}`),
    {
      state(s) {
        sessionStorage.setItem(LAST, JSON.stringify({ code: entry.code, state: s }));
        show(s);
        if (Boolean(s.present) !== S.presenting()) S.setPresent(Boolean(s.present));
        if (
          s.page &&
          (onJoinPage || (s.mode === "follow" && sessionStorage.getItem(NAVIGATED) !== String(s.version)))
        ) {
          const want = S.target(s.page, s.params);
          sessionStorage.setItem(NAVIGATED, String(s.version));
          if (want !== S.here()) {
            location.assign(want);
            return;
          }
        }
        applyState(s);
      },
      poll: (p) => polls?.onPoll(p),
      reveal: (r) => polls?.onReveal(r),
      end(e) {
        stop(`The class has ended (${e.reason}).`);
        toast("The class has ended.");
      },
    },
    () => stop("This class is no longer running."),
  );
}

// The join page calls this once the student has joined: the bar connects and follows from then on.
export function startStudent() {
  const entry = S.student();
  if (entry && !polls) studentBar(entry);
}

const teacherEntry = S.teacher();
if (teacherEntry && !onClassPage) teacherBar(teacherEntry);
else if (S.student() && !teacherEntry && !onClassPage) startStudent();

// The lesson page's question (through ./question.js): the class answers it while a poll of it is open.
answerQuestions((box, q, show) => (polls ? polls.question(box, q, show) : null));
