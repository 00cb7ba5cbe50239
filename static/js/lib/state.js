// Page state lives in the URL query, so a reload or a shared link shows the same view.
// Teacher presets: ?lock=temperature,top_k disables controls, ?hide=attention hides panels.

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
  const search = q.toString();
  history.replaceState(null, "", `${location.pathname}${search ? `?${search}` : ""}${location.hash}`);
}

function listParam(name) {
  const raw = new URLSearchParams(location.search).get(name);
  return new Set(
    (raw || "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

export const locked = () => listParam("lock");
export const hiddenPanels = () => listParam("hide");

// Disable every control whose data-key is locked; hide every [data-panel] named in ?hide=.
export function applyTeacherPresets(root = document) {
  const lock = locked();
  for (const el of root.querySelectorAll("[data-key]")) {
    if (lock.has(el.dataset.key)) {
      el.disabled = true;
      el.setAttribute("aria-disabled", "true");
      el.title = "locked by this link";
      el.closest(".slider, .field")?.classList.add("locked");
    }
  }
  const hide = hiddenPanels();
  for (const el of root.querySelectorAll("[data-panel]")) {
    if (hide.has(el.dataset.panel)) el.classList.add("hidden");
  }
}

export function pageData() {
  return JSON.parse(document.getElementById("page-data").textContent);
}

export function shareLink() {
  return location.href;
}
