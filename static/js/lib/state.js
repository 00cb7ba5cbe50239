// Page state lives in the URL query, so a reload or a shared link shows the same view.
// Teacher presets: ?lock=temperature,top_k disables controls, ?hide=attention hides panels; a live class adds
// its own (setExtraPresets) beside the link's, and applyTeacherPresets applies the union.
import { aliasesFor } from "./settings-names.js";

// A query as text, its lists' commas kept readable (?lock=temperature,top_k).
export const queryString = (q) => q.toString().replaceAll("%2C", ",");

// An old link (?penalty=1.3, ?lock=penalty) is read as the new names: the URL is rewritten once, on load, so
// everything after (readState, the presets, the links kept across the site) sees one name per setting.
export function canonicalSearch(search, path) {
  const aliases = aliasesFor(path);
  const q = new URLSearchParams(search);
  let changed = false;
  for (const [old, name] of Object.entries(aliases)) {
    if (!q.has(old)) continue;
    if (!q.has(name)) q.set(name, q.get(old));
    q.delete(old);
    changed = true;
  }
  for (const list of ["lock", "hide"]) {
    if (!q.has(list)) continue;
    const names = [...listParam(list, `?${q}`)];
    const renamed = [...new Set(names.map((n) => (Object.hasOwn(aliases, n) ? aliases[n] : n)))];
    if (renamed.join(",") !== q.get(list)) {
      q.set(list, renamed.join(","));
      changed = true;
    }
  }
  return changed ? queryString(q) : null;
}

if (typeof location !== "undefined") {
  const search = canonicalSearch(location.search, location.pathname);
  if (search !== null) {
    history.replaceState(
      history.state,
      "",
      `${location.pathname}${search ? `?${search}` : ""}${location.hash}`,
    );
  }
}

export function readState(defaults) {
  const q = new URLSearchParams(location.search);
  const out = { ...defaults };
  for (const [key, fallback] of Object.entries(defaults)) {
    if (!q.has(key)) continue;
    const raw = q.get(key);
    if (typeof fallback === "number") {
      const n = Number(raw);
      if (raw.trim() !== "" && Number.isFinite(n)) out[key] = n;
    } else if (typeof fallback === "boolean") {
      out[key] = raw === "1" || raw === "true";
    } else {
      out[key] = raw;
    }
  }
  return out;
}

// Write the state into the URL without a new history entry; keep lock/hide/other keys.
export function writeState(state, defaults = {}) {
  const q = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(state)) {
    if (value === undefined || value === null || (key in defaults && defaults[key] === value)) q.delete(key);
    else q.set(key, typeof value === "boolean" ? (value ? "1" : "0") : String(value));
  }
  const search = queryString(q);
  history.replaceState(null, "", `${location.pathname}${search ? `?${search}` : ""}${location.hash}`);
}

export function listParam(name, search = location.search) {
  const raw = new URLSearchParams(search).get(name);
  return new Set(
    (raw || "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

// Presets beside the link's: a live class registers the teacher's locks and hides here.
const extra = { lock: new Set(), hide: new Set(), by: "your teacher" };

export function setExtraPresets({ lock = [], hide = [], by = "your teacher" } = {}) {
  extra.lock = new Set(lock);
  extra.hide = new Set(hide);
  extra.by = by;
  applyTeacherPresets();
}

export function clearExtraPresets() {
  extra.lock = new Set();
  extra.hide = new Set();
  applyTeacherPresets();
}

// What the link locks / hides, and what is locked / hidden now (the link's and the extra presets together).
export const linkLocks = () => listParam("lock");
export const linkHides = () => listParam("hide");
export const locked = () => new Set([...linkLocks(), ...extra.lock]);
export const hiddenPanels = () => new Set([...linkHides(), ...extra.hide]);

const LOCKED = "presetLocked"; // data-preset-locked: set on what applyTeacherPresets disabled
const HIDDEN = "presetHidden";

function lockOne(el, by) {
  if (!(LOCKED in el.dataset)) {
    el.dataset[LOCKED] = JSON.stringify({ disabled: el.disabled, title: el.getAttribute("title") });
  }
  el.disabled = true;
  el.setAttribute("aria-disabled", "true");
  el.title = `locked by ${by}`;
  el.closest(".slider, .field")?.classList.add("locked");
}

function unlockOne(el) {
  const was = JSON.parse(el.dataset[LOCKED]);
  delete el.dataset[LOCKED];
  el.disabled = was.disabled;
  el.removeAttribute("aria-disabled");
  if (was.title === null) el.removeAttribute("title");
  else el.title = was.title;
  el.closest(".slider, .field")?.classList.remove("locked");
}

function hideOne(el) {
  if (!(HIDDEN in el.dataset)) el.dataset[HIDDEN] = el.classList.contains("hidden") ? "1" : "0";
  el.classList.add("hidden");
}

function showOne(el) {
  if (el.dataset[HIDDEN] === "0") el.classList.remove("hidden");
  delete el.dataset[HIDDEN];
}

// Every [data-key] / [data-panel] under root (root included).
function within(root, selector) {
  const found = [...root.querySelectorAll(selector)];
  if (root.matches?.(selector)) found.unshift(root);
  return found;
}

// Disable every control whose data-key is locked; hide every [data-panel] named in ?hide= or the extra
// presets; undo both for what is no longer named. Idempotent; controls built later are caught by the
// observer started on the first call (and every page calls this again after it builds its controls).
export function applyTeacherPresets(root = document) {
  const fromLink = linkLocks();
  const lock = locked();
  for (const el of within(root, "[data-key]")) {
    const key = el.dataset.key;
    if (lock.has(key)) lockOne(el, fromLink.has(key) ? "this link" : extra.by);
    else if (LOCKED in el.dataset) unlockOne(el);
  }
  const hide = hiddenPanels();
  for (const el of within(root, "[data-panel]")) {
    if (hide.has(el.dataset.panel)) hideOne(el);
    else if (HIDDEN in el.dataset) showOne(el);
  }
  watch();
}

let observer = null;
function watch() {
  if (observer || typeof MutationObserver === "undefined" || !document.body) return;
  observer = new MutationObserver((records) => {
    if (!locked().size && !hiddenPanels().size) return;
    for (const r of records) {
      for (const node of r.addedNodes) {
        if (node.nodeType !== 1) continue;
        if (node.matches("[data-key], [data-panel]") || node.querySelector("[data-key], [data-panel]")) {
          applyTeacherPresets(node);
        }
      }
    }
  });
  observer.observe(document.body, { childList: true, subtree: true });
}

export function pageData() {
  return JSON.parse(document.getElementById("page-data").textContent);
}

export function shareLink() {
  return location.href;
}
