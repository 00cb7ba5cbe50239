// Page state lives in the URL query, so a reload or a shared link shows the same view.
// Teacher presets: ?lock=top_k disables controls, ?hide=code hides panels; a live class adds its own.

// Old names still read, per page ("penalty" meant two settings); on load the URL gets the new names.
export const ALIASES = {
  "/playground": { penalty: "repetition_penalty", prompt: "text" },
  "/learn/architectures": { penalty: "length_penalty" },
  "/learn/embeddings": { dims: "channels" },
  "/learn/positions": { n: "positions" },
  "/learn/kv-cache": { n: "max_tokens" },
  "/attention": { n: "max_tokens" },
};
const own = (o, k) => Object.hasOwn(o, k);
const query = (q) => q.toString().replaceAll("%2C", ","); // ?lock=a,b stays readable

{
  const aliases = ALIASES[location.pathname.replace(/(.)\/+$/, "$1")] || {};
  const q = new URLSearchParams(location.search);
  let renamed = false;
  for (const [old, name] of Object.entries(aliases)) {
    if (!q.has(old)) continue;
    if (!q.has(name)) q.set(name, q.get(old));
    q.delete(old);
    renamed = true;
  }
  for (const list of ["lock", "hide"]) {
    const names = [...listParam(list, q)];
    if (!names.some((n) => own(aliases, n))) continue;
    q.set(list, [...new Set(names.map((n) => (own(aliases, n) ? aliases[n] : n)))].join());
    renamed = true;
  }
  if (renamed) writeSearch(query(q));
}

function writeSearch(search) {
  history.replaceState(
    history.state,
    "",
    `${location.pathname}${search ? `?${search}` : ""}${location.hash}`,
  );
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
  writeSearch(query(q));
}

function listParam(name, q = new URLSearchParams(location.search)) {
  return new Set(
    (q.get(name) || "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

// Presets beside the link's: a live class registers the teacher's locks and hides here.
const extra = { lock: new Set(), hide: new Set(), by: "your teacher" };

export function setExtraPresets({ lock = [], hide = [], by = "your teacher" } = {}) {
  Object.assign(extra, { lock: new Set(lock), hide: new Set(hide), by });
  applyTeacherPresets();
}

export function clearExtraPresets() {
  setExtraPresets({ by: extra.by });
}

// The link's own locks / hides, and what is locked / hidden now (with the extra presets).
export const linkLocks = () => listParam("lock");
export const linkHides = () => listParam("hide");
export const locked = () => new Set([...linkLocks(), ...extra.lock]);
export const hiddenPanels = () => new Set([...linkHides(), ...extra.hide]);

// Disable every [data-key] locked, hide every [data-panel] named, undo both for what is no longer named
// (data-preset keeps what was before). Idempotent; an observer catches controls built later.
export function applyTeacherPresets(root = document) {
  const fromLink = linkLocks();
  const [lock, hide] = [locked(), hiddenPanels()];
  for (const el of within(root, "[data-key]")) {
    const was = el.dataset.preset && JSON.parse(el.dataset.preset);
    if (lock.has(el.dataset.key)) {
      if (!was) el.dataset.preset = JSON.stringify([el.disabled, el.getAttribute("title")]);
      el.disabled = true;
      el.setAttribute("aria-disabled", "true");
      el.title = `locked by ${fromLink.has(el.dataset.key) ? "this link" : extra.by}`;
    } else if (was) {
      delete el.dataset.preset;
      el.disabled = was[0];
      el.removeAttribute("aria-disabled");
      if (was[1] === null) el.removeAttribute("title");
      else el.title = was[1];
    }
    el.closest(".slider, .field")?.classList.toggle("locked", Boolean(el.dataset.preset));
  }
  for (const el of within(root, "[data-panel]")) {
    if (hide.has(el.dataset.panel)) {
      el.dataset.presetHidden ??= el.classList.contains("hidden") ? "1" : "";
      el.classList.add("hidden");
    } else if (el.dataset.presetHidden !== undefined) {
      if (!el.dataset.presetHidden) el.classList.remove("hidden");
      delete el.dataset.presetHidden;
    }
  }
  observer ??= new MutationObserver((records) => {
    if (!locked().size && !hiddenPanels().size) return;
    for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1) applyTeacherPresets(n);
  });
  observer.observe(document.body, { childList: true, subtree: true });
}
let observer = null;

// Every match of selector under root, root included.
function within(root, selector) {
  return [...(root.matches?.(selector) ? [root] : []), ...root.querySelectorAll(selector)];
}

export function pageData() {
  return JSON.parse(document.getElementById("page-data").textContent);
}
