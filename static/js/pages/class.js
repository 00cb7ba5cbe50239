// The teacher's page: start a class, show its code, join link and QR code, who joined, and end it.
import { h, toast } from "../lib/dom.js";
import "./class/bar.js"; // presentation mode's exit button (the page itself shows no class bar)
import * as S from "./class/session.js";

const $ = (id) => document.getElementById(id);
let stream = null;

function showStart(note) {
  $("class-live-view").hidden = true;
  $("class-start-view").hidden = false;
  $("class-ended").hidden = !note;
  $("class-ended").textContent = note || "";
}

function showError(message) {
  $("class-error").textContent = message;
  $("class-error").hidden = !message;
}

async function start() {
  showError("");
  $("class-start").disabled = true;
  try {
    const c = await S.call("POST", "/api/classes", {});
    S.save(S.TEACHER, {
      code: c.code,
      teacher_key: c.teacher_key,
      join_url: c.join_url,
      qr: c.qr,
      note: c.join_note,
    });
    await showClass(S.teacher());
    $("class-heading").focus();
  } catch (e) {
    const wait = e.retryAfter ? ` Try again in ${e.retryAfter} s.` : "";
    showError(
      e.status === 503
        ? `This server runs as many classes as it may right now.${wait}`
        : e.status === 429
          ? `Too many classes started from this device.${wait}`
          : e.message,
    );
  } finally {
    $("class-start").disabled = false;
  }
}

function setCount(n) {
  $("class-students").textContent = String(n);
  $("class-students").dataset.count = String(n);
  $("class-students-word").textContent = n === 1 ? "student connected" : "students connected";
}

async function refreshNames(entry) {
  if (S.teacher()?.code !== entry.code) return false; // ended meanwhile
  try {
    const c = await S.call("GET", S.classUrl(entry.code), undefined, entry.teacher_key);
    setCount(c.students);
    const anonymous = c.joined - c.names.length;
    $("class-names").replaceChildren(
      ...c.names.map((n) => h("li", {}, n)),
      anonymous > 0 ? h("li", { class: "muted" }, `${anonymous} without a name`) : "",
    );
    return true;
  } catch (e) {
    if (e.status === 404 || e.status === 403) {
      S.forget(S.TEACHER);
      showStart("Your last class is no longer running on this server.");
      return false;
    }
    showError(e.message);
    return true;
  }
}

async function showClass(entry) {
  if (!(await refreshNames(entry))) return;
  $("class-start-view").hidden = true;
  $("class-live-view").hidden = false;
  $("class-code").textContent = entry.code;
  $("class-code").setAttribute("aria-label", `class code ${entry.code.split("").join(" ")}`);
  $("class-link").href = entry.join_url;
  $("class-link").textContent = entry.join_url;
  $("class-qr").src = entry.qr;
  $("class-qr").alt = `QR code of the join link ${entry.join_url}`;
  $("class-note").hidden = !entry.note;
  $("class-note").textContent = entry.note || "";
  stream?.close();
  let names = null;
  stream = S.listen(
    S.classUrl(entry.code, "/events"),
    {
      count(c) {
        setCount(c.students);
        clearTimeout(names); // a join or a leave: ask for the names once the count settles
        names = setTimeout(() => refreshNames(entry), 300);
      },
      end(e) {
        stream.close();
        S.forget(S.TEACHER);
        showStart(`Your class has ended (${e.reason}).`);
      },
    },
    () => {
      S.forget(S.TEACHER);
      showStart("Your last class is no longer running on this server.");
    },
  );
}

$("class-start").addEventListener("click", start);
$("class-copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("class-link").href);
    toast("Join link copied.");
  } catch {
    toast("Copying was refused: select the link and copy it.");
  }
});
$("class-end").addEventListener("click", async () => {
  const entry = S.teacher();
  if (!entry || !confirm("End the class for every student?")) return;
  stream?.close();
  try {
    await S.call("DELETE", S.classUrl(entry.code), undefined, entry.teacher_key);
  } catch (e) {
    if (e.status !== 404) {
      showError(e.message);
      return;
    }
  }
  stream?.close();
  S.forget(S.TEACHER);
  showStart("Class ended.");
  $("class-start").focus();
});
const present = $("class-present");
present.setAttribute("aria-pressed", String(S.presenting()));
present.addEventListener("click", () => S.setPresent(!S.presenting()));
document.addEventListener("tp-present", (e) => present.setAttribute("aria-pressed", String(e.detail)));

const entry = S.teacher();
if (entry) await showClass(entry);
else showStart();
document.body.dataset.ready = "1";
