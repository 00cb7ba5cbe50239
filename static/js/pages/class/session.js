// The live class, shared by the class page, the join page and the bar on every page: what this browser keeps
// (the teacher's key, a student's id), the calls to /api/classes and the events stream.
// Contract: localStorage "tp-class-teacher" = {code, teacher_key, join_url, qr},
//           localStorage "tp-class-student" = {code, student, name}.

export const TEACHER = "tp-class-teacher";
export const STUDENT = "tp-class-student";

function read(key) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value && typeof value.code === "string" ? value : null;
  } catch {
    return null;
  }
}
export const teacher = () => read(TEACHER);
export const student = () => read(STUDENT);
export const save = (key, value) => localStorage.setItem(key, JSON.stringify(value));
export const forget = (key) => localStorage.removeItem(key);

// An API error: the server's own words, its status and how long to wait (Retry-After) when it says so.
export class ClassError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

// One call to the class API; `key` (the teacher key) goes in X-Teacher-Key.
export async function call(method, url, body, key) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["X-Teacher-Key"] = key;
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const d = data?.detail;
    const message = typeof d === "string" ? d : Array.isArray(d) ? d.map((e) => e.msg).join("; ") : "";
    const wait = Number(response.headers.get("Retry-After")) || null;
    throw new ClassError(response.status, message || `HTTP ${response.status}`, wait);
  }
  return data;
}

export const classUrl = (code, rest = "") => `/api/classes/${encodeURIComponent(code)}${rest}`;

// The events of a class: handlers = {state(data), count(data), …}. EventSource reconnects by itself after
// a network break (the first `state` then brings the page up to date); when the server refuses the stream
// (the class is gone, the student id is not of this class) it stops, and `gone(status)` is told.
export function listen(url, handlers, gone) {
  let source = null;
  let closed = false;
  let failures = 0;
  const open = () => {
    source = new EventSource(url);
    for (const [name, fn] of Object.entries(handlers)) {
      source.addEventListener(name, (e) => {
        failures = 0;
        let data = null;
        try {
          data = JSON.parse(e.data);
        } catch {
          return;
        }
        if (name === "end") {
          closed = true; // the class is over: no reconnecting to it
          source.close();
        }
        fn(data);
      });
    }
    source.addEventListener("error", async () => {
      if (closed || source.readyState !== EventSource.CLOSED) return;
      // refused: ask once what the server says (404 / 403 mean the class is not there for us)
      const status = await probe(url);
      if (closed) return;
      if (status === 404 || status === 403 || status === 410) {
        gone(status);
        return;
      }
      failures += 1;
      setTimeout(() => !closed && open(), Math.min(30, 2 ** failures) * 1000);
    });
  };
  open();
  return {
    close() {
      closed = true;
      source?.close();
    },
  };
}

async function probe(url) {
  const controller = new AbortController();
  try {
    const response = await fetch(url, {
      signal: controller.signal,
      headers: { Accept: "text/event-stream" },
    });
    controller.abort();
    return response.status;
  } catch {
    return 0;
  }
}

// The URL's query as params, less the presets (lock/hide travel in their own fields).
const PRESETS = new Set(["lock", "hide"]);
export function currentParams(search = location.search) {
  const out = {};
  for (const [k, v] of new URLSearchParams(search)) if (!PRESETS.has(k)) out[k] = v;
  return out;
}

// Where a state sends a student: page + params as one comparable URL (keys in order, presets kept out).
export function target(page, params = {}) {
  const q = new URLSearchParams();
  for (const k of Object.keys(params).sort()) {
    if (PRESETS.has(k)) continue;
    const v = params[k];
    if (v === null || v === undefined) continue;
    q.set(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  const s = q.toString();
  return `${page}${s ? `?${s}` : ""}`;
}
export const here = () => target(location.pathname, currentParams());

// Presentation mode (the projector): large type, high contrast, no clutter; kept per tab.
const PRESENT = "tp-present";
export function setPresent(on) {
  document.body.classList.toggle("present", Boolean(on));
  if (on) sessionStorage.setItem(PRESENT, "1");
  else sessionStorage.removeItem(PRESENT);
  document.dispatchEvent(new CustomEvent("tp-present", { detail: Boolean(on) }));
}
export const presenting = () => sessionStorage.getItem(PRESENT) === "1";

// "Wait 12 s", "too many attempts", … in words a student reads.
export function joinError(e, code) {
  if (e.status === 404) return `No class with the code ${code} is running. Check the code with your teacher.`;
  if (e.status === 503) return "This class is full: ask your teacher.";
  if (e.status === 429) {
    const wait = e.retryAfter ? ` Wait ${e.retryAfter} s` : " Wait a minute";
    return `Too many attempts from this device.${wait} and try again.`;
  }
  if (e.status === 422) return `That is not a class code: ${e.message}`;
  return e.message || "The server did not answer: try again.";
}
