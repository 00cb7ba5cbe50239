// The class answers: a lesson's question asked of the whole class, and "guess the next token" rounds.
// The teacher's screen shows the answers arriving as a histogram (counts only: anonymous, fine on the
// projector) and reveals the model's answer beside the class's; a student answers on their own device.
import * as api from "../../lib/api.js";
import { h, pct } from "../../lib/dom.js";
import { tokenLabel } from "../../vis/tokens.js";
import { call, classUrl } from "./session.js";

const TOP_GUESSES = 12;
const MODEL_TOKENS = 10;
const POLL_MS = 1000;

// The class's answers as bars: rows [{label, count, note?}], longest bar = most answers.
export function histogram(rows, { answered, students, title }) {
  const most = Math.max(1, ...rows.map((r) => r.count));
  const total = students ? ` of ${students} connected` : "";
  return h(
    "div",
    { class: "class-hist" },
    h(
      "p",
      { class: "class-hist-title" },
      title,
      h("span", { class: "muted" }, ` · ${answered}${total} answered`),
    ),
    h(
      "ul",
      { "aria-label": title },
      rows.map((r) =>
        h(
          "li",
          { class: r.mark ? "mark" : "" },
          h("span", { class: "label" }, r.label),
          h("span", { class: "bar", style: `width: ${(100 * r.count) / most}%` }),
          h(
            "span",
            { class: "n" },
            String(r.count),
            h("span", { class: "muted" }, ` (${pct(answered ? r.count / answered : 0, 0)})`),
            r.note ? h("span", { class: "muted" }, ` ${r.note}`) : "",
          ),
        ),
      ),
    ),
  );
}

// The model's next-token distribution beside the class's guesses: tokens [{token, p}].
export function modelBars(tokens, tally = {}) {
  const most = Math.max(1e-9, ...tokens.map((t) => t.p));
  return h(
    "div",
    { class: "class-hist model" },
    h("p", { class: "class-hist-title" }, "The model's next token"),
    h(
      "ul",
      { "aria-label": "the model's next token" },
      tokens.map((t) => {
        const guessed = guessCount(tally, t.token);
        return h(
          "li",
          { class: guessed ? "mark" : "" },
          h("span", { class: "label mono" }, tokenLabel(t.token)),
          h("span", { class: "bar", style: `width: ${(100 * t.p) / most}%` }),
          h(
            "span",
            { class: "n" },
            pct(t.p),
            guessed ? h("span", { class: "muted" }, ` · ${guessed} guessed it`) : "",
          ),
        );
      }),
    ),
  );
}

// A guess is stored stripped: it matches a token as typed or the token without its leading space.
// (a space or a newline cannot be typed into a stripped guess: "·" and "↵" stand for them, as on the chips)
const matches = (guess, token) => guess === token || guess === token.trim() || guess === tokenLabel(token);
function guessCount(tally, token) {
  return Object.entries(tally).reduce((n, [g, c]) => n + (matches(g, token) ? c : 0), 0);
}

// The guesses, most frequent first (top 12), each marked with the model's probability when it ranks it.
export function guessRows(tally, tokens = []) {
  return Object.entries(tally)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, TOP_GUESSES)
    .map(([guess, count]) => {
      const t = tokens.find((x) => matches(guess, x.token));
      return { label: guess, count, mark: Boolean(t), note: t ? `· model ${pct(t.p)}` : "" };
    });
}

const choiceRows = (options, tally, answer) =>
  options.map((o) => ({ label: o, count: tally[o] || 0, mark: o === answer, note: o === answer ? "✓" : "" }));

// What the teacher asked, kept per tab so that a reload (or another page) can still reveal it.
const remember = (id, value) => sessionStorage.setItem(`tp-class-poll-${id}`, JSON.stringify(value));
const recall = (id) => {
  try {
    return JSON.parse(sessionStorage.getItem(`tp-class-poll-${id}`)) || {};
  } catch {
    return {};
  }
};

// The poll views of one page. ctx: {role: "teacher"|"student", entry, slot (an element under the bar)}.
export function createPolls(ctx) {
  const { role, entry, slot } = ctx;
  let open = null; // the poll now open ({poll_id, kind, question, options, context})
  let question = null; // this page's lesson question: {box, q, show}
  let timer = null;
  let revealed = null; // the reveal of the open poll, once it came
  const key = entry.teacher_key;

  const onThisPage = (p) => p?.kind === "choice" && p.context?.page === location.pathname;
  const matchesQuestion = (p) => onThisPage(p) && question && question.q.prompt === p.question;

  // ---- where the poll is shown: in the lesson's question panel, else under the bar ----
  function host() {
    if (matchesQuestion(open)) {
      let el = question.box.querySelector(":scope > .class-poll");
      if (!el) {
        el = h("section", { class: "class-poll", "aria-label": "the class's answers" });
        question.box.append(el);
      }
      slot.replaceChildren();
      return el;
    }
    question?.box.querySelector(":scope > .class-poll")?.remove();
    let el = slot.querySelector(".class-poll");
    if (!el) {
      el = h("section", { class: "class-poll card", "aria-label": "class question" });
      slot.replaceChildren(el);
    }
    return el;
  }

  // a revealed round under the bar folds away when its reader is done with it
  const closeButton = () =>
    h("button", { type: "button", class: "secondary small", onclick: () => slot.replaceChildren() }, "Close");

  // ---- the teacher ----
  async function refresh() {
    if (!open || role !== "teacher") return;
    try {
      const t = await call("GET", classUrl(entry.code, `/polls/${open.poll_id}`), undefined, key);
      if (t.revealed && !revealed) revealed = { tally: t.tally, answers: t.answers, model: t.model };
      drawTeacher(t);
    } catch (e) {
      host().replaceChildren(h("p", { class: "error" }, e.message));
    }
    clearTimeout(timer);
    if (open && !revealed) timer = setTimeout(refresh, POLL_MS);
  }

  function drawTeacher(t) {
    const el = host();
    const model = revealed?.model || null;
    const rows =
      open.kind === "guess"
        ? guessRows(t.tally, model?.tokens)
        : choiceRows(open.options, t.tally, model?.answer ?? null);
    const guessing = open.kind === "guess";
    const kids = guessing ? [h("h3", {}, `Guess the next token: ${open.question}`)] : [];
    const title = guessing ? "The class's guesses" : "The class's answers";
    const hist = histogram(rows, { answered: t.answers, students: t.students, title });
    if (guessing && model?.tokens) {
      kids.push(h("div", { class: "class-side" }, hist, modelBars(model.tokens, t.tally)));
    } else kids.push(hist);
    if (!revealed) {
      kids.push(
        h(
          "p",
          { class: "row" },
          h("button", { type: "button", class: "class-reveal", onclick: reveal }, "Reveal"),
          h("span", { class: "small muted" }, "Answers keep arriving until you reveal."),
        ),
      );
    } else if (open.kind === "choice") {
      kids.push(h("p", { class: "verdict ok" }, `The model's answer: ${model?.answer ?? "?"}`));
    }
    if (revealed && slot.contains(el)) kids.push(closeButton());
    el.replaceChildren(...kids);
  }

  async function reveal() {
    if (!open) return;
    const button = slot.querySelector(".class-reveal") || question?.box.querySelector(".class-reveal");
    if (button) button.disabled = true;
    try {
      let model;
      if (open.kind === "guess") {
        const { prompt, model: name } = open.context || {};
        const s = await api.postJSON("/api/sampler", {
          model: name,
          prompt,
          n: MODEL_TOKENS,
          temperature: 1,
        });
        const raw = s.stages[0]; // the model's own distribution, before any sampler setting
        model = { tokens: s.tokens.map((token, i) => ({ token, p: raw.probs[i] })).slice(0, MODEL_TOKENS) };
      } else {
        model = { answer: recall(open.poll_id).answer ?? null };
      }
      const t = await call("POST", classUrl(entry.code, `/polls/${open.poll_id}/reveal`), { model }, key);
      revealed = { tally: t.tally, answers: t.answers, model };
      if (matchesQuestion(open)) question.show(null);
      drawTeacher(t);
    } catch (e) {
      if (button) button.disabled = false;
      host().append(h("p", { class: "error", role: "alert" }, e.message));
    }
  }

  async function ask() {
    if (!question) return;
    const { q } = question;
    const body = {
      question: q.prompt,
      kind: "choice",
      options: q.choices,
      context: { page: location.pathname },
    };
    const { poll_id } = await call("POST", classUrl(entry.code, "/polls"), body, key);
    remember(poll_id, { answer: q.choices[q.answer] });
    start({ poll_id, ...body });
  }

  async function guess(prompt, modelName) {
    const tail = prompt.slice(-40).replace(/\n/g, "↵");
    const body = {
      question: `What comes next after “${tail}”?`,
      kind: "guess",
      context: { page: location.pathname, prompt, model: modelName },
    };
    const { poll_id } = await call("POST", classUrl(entry.code, "/polls"), body, key);
    start({ poll_id, options: [], ...body });
  }

  function start(p) {
    open = p;
    revealed = null;
    if (role === "teacher") refresh();
    else {
      drawStudent();
      // a student somewhere down the page sees the question arrive (focus stays where it was)
      const el = matchesQuestion(open) ? question.box : slot;
      el.scrollIntoView?.({ block: "nearest", behavior: "smooth" });
    }
    ctx.changed?.();
  }

  // ---- a student ----
  const mine = () => (open ? sessionStorage.getItem(`tp-class-answer-${open.poll_id}`) : null);
  async function answer(value) {
    const id = open.poll_id;
    try {
      await call("POST", classUrl(entry.code, "/answers"), {
        poll_id: id,
        answer: value,
        student: entry.student,
      });
      sessionStorage.setItem(`tp-class-answer-${id}`, value);
      drawStudent();
    } catch (e) {
      host().append(h("p", { class: "error", role: "alert" }, e.message));
    }
  }

  function drawStudent() {
    if (!open) return;
    const el = host();
    const given = mine();
    const kids = [];
    if (matchesQuestion(open)) {
      // the student's pick stays marked in the lesson's own choices
      for (const b of question.box.querySelectorAll(".choices [data-choice]"))
        b.setAttribute("aria-pressed", String(question.q.choices[Number(b.dataset.choice)] === given));
    }
    if (revealed) {
      const t = revealed.tally;
      if (open.kind === "guess") {
        kids.push(h("h3", {}, open.question));
        const tokens = revealed.model?.tokens || [];
        const hist = histogram(guessRows(t, tokens), {
          answered: revealed.answers,
          title: "The class's guesses",
        });
        kids.push(h("div", { class: "class-side" }, hist, modelBars(tokens, t)));
      } else {
        if (!matchesQuestion(open)) kids.push(h("h3", {}, open.question));
        const answer = revealed.model?.answer ?? null;
        kids.push(
          histogram(choiceRows(open.options, t, answer), {
            answered: revealed.answers,
            title: "The class's answers",
          }),
        );
        if (!matchesQuestion(open))
          kids.push(h("p", { class: "verdict ok" }, `The model's answer: ${answer ?? "?"}`));
      }
      if (given) kids.push(h("p", { class: "small" }, `Your answer: ${given}`));
      if (revealed && slot.contains(el)) kids.push(closeButton());
      el.replaceChildren(...kids);
      return;
    }
    if (open.kind === "guess") {
      const input = h("input", {
        type: "text",
        maxlength: 40,
        id: "class-guess",
        autocomplete: "off",
        spellcheck: "false",
        value: given || "",
      });
      const send = (e) => {
        e.preventDefault();
        const v = input.value.trim();
        if (v) answer(v);
      };
      kids.push(
        h("h3", {}, open.question),
        h(
          "form",
          { class: "row", onsubmit: send },
          h("label", { for: "class-guess" }, "Your guess (one token or a few letters; · for a space)"),
          input,
          h("button", { type: "submit" }, given ? "Change my guess" : "Send my guess"),
        ),
      );
    } else if (matchesQuestion(open)) {
      kids.push(
        h(
          "p",
          { class: "small" },
          "Your teacher asked the class: pick your answer above. It is revealed for everyone at once.",
        ),
      );
    } else {
      kids.push(
        h("h3", {}, open.question),
        h(
          "div",
          { class: "choices row", role: "group", "aria-label": "choices" },
          open.options.map((o) =>
            h(
              "button",
              {
                type: "button",
                class: given === o ? "" : "secondary",
                "aria-pressed": String(given === o),
                onclick: () => answer(o),
              },
              o,
            ),
          ),
        ),
      );
    }
    if (given)
      kids.push(
        h(
          "p",
          { class: "verdict ok", role: "status" },
          `Your answer is in: ${given}. You may change it until the reveal.`,
        ),
      );
    el.replaceChildren(...kids);
  }

  return {
    ask,
    guess,
    canAsk: () => role === "teacher" && Boolean(question),
    open: () => open,
    // a lesson's question: the class answers it while a poll of it is open
    question(box, q, show) {
      question = q ? { box, q, show } : null;
      if (open && role === "teacher" && matchesQuestion(open)) refresh();
      else if (open && role === "student") drawStudent();
      ctx.changed?.();
      if (role !== "student") return null;
      return {
        // a student's pick answers the class's poll while one of this question is open (true: handled)
        pick(i) {
          if (!matchesQuestion(open) || revealed) return false;
          answer(q.choices[i]);
          return true;
        },
      };
    },
    onPoll(p) {
      if (open?.poll_id === p.poll_id) return;
      start(p);
    },
    onAnswers(a) {
      if (role === "teacher" && open?.poll_id === a.poll_id && !revealed) refresh();
    },
    onReveal(r) {
      if (open?.poll_id !== r.poll_id) return;
      revealed = r;
      if (role === "teacher") {
        refresh();
        return;
      }
      if (matchesQuestion(open)) {
        const i = open.options.indexOf(mine());
        question.show(i >= 0 ? i : null);
      }
      drawStudent();
    },
  };
}
