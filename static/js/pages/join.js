// A student joins a class: the code (pre-filled from /join/<code>) and an optional name shown only to the
// teacher; then the page waits for the teacher's first push and the class bar takes the student there.

import { startStudent } from "./class/bar.js";
import * as S from "./class/session.js";

const $ = (id) => document.getElementById(id);
const form = $("join-form");
const code = $("join-code");

function waiting(entry) {
  form.hidden = true;
  $("join-waiting").hidden = false;
  $("join-in").textContent = entry.code;
  startStudent();
}

code.addEventListener("input", () => {
  const at = code.selectionStart;
  code.value = code.value.toUpperCase().replace(/[^A-Z0-9]/g, "");
  code.setSelectionRange(at, at);
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = $("join-error");
  error.hidden = true;
  const value = code.value.trim().toUpperCase();
  if (value.length !== 6) {
    error.textContent = "A class code is 6 letters and digits.";
    error.hidden = false;
    code.focus();
    return;
  }
  $("join-button").disabled = true;
  try {
    const name = $("join-name").value.trim();
    const j = await S.call("POST", S.classUrl(value, "/join"), { name });
    S.save(S.STUDENT, { code: j.code, student: j.student, name });
    waiting(S.student());
    $("join-waiting-title").focus();
  } catch (err) {
    error.textContent = S.joinError(err, value);
    error.hidden = false;
  } finally {
    $("join-button").disabled = false;
  }
});

// the class ended or the student left: the form again
document.addEventListener("tp-class-left", () => {
  $("join-waiting").hidden = true;
  form.hidden = false;
});

const entry = S.student();
const wanted = code.value;
if (entry && (!wanted || wanted === entry.code)) waiting(entry);
else {
  form.hidden = false;
  if (!wanted) code.focus();
}
document.body.dataset.ready = "1";
