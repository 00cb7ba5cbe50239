// Talking to the server: JSON calls and the SSE generation stream.
// Errors carry the server's own message (a 422 names the field that was wrong).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function detailOf(body, status) {
  const d = body?.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    return d.map((e) => `${(e.loc || []).filter((x) => x !== "body").join(".")}: ${e.msg}`).join("; ");
  }
  return `HTTP ${status}`;
}

async function handle(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, detailOf(body, response.status));
  return body;
}

// A busy server (a whole class asking at once) answers 503 with Retry-After: wait that long and ask again,
// a few times, before showing the error.
const RETRIES = 4;
const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

async function fetchPatiently(url, init) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, init);
    if (response.status !== 503 || attempt >= RETRIES) return handle(response);
    const wait = Number(response.headers.get("Retry-After")) || 1;
    await sleep(Math.min(wait, 10) * 1000 * (0.5 + Math.random()), init.signal);
  }
}

export async function getJSON(url, { signal } = {}) {
  return fetchPatiently(url, { signal, headers: { Accept: "application/json" } });
}

export async function postJSON(url, body, { signal } = {}) {
  return fetchPatiently(url, {
    method: "POST",
    signal,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
}

// postJSON, once per distinct URL and body (a lesson redrawn for a new query or key does not refetch);
// a failed call is forgotten, so the next one tries again.
const postCache = new Map();
export function postJSONCached(url, body) {
  const key = url + JSON.stringify(body);
  if (!postCache.has(key)) {
    if (postCache.size > 8) postCache.clear();
    const call = postJSON(url, body).catch((e) => {
      postCache.delete(key);
      throw e;
    });
    postCache.set(key, call);
  }
  return postCache.get(key);
}

// POST a body and read Server-Sent Events from the response: onEvent(name, data) per event.
// Aborting `signal` closes the connection, and the server stops generating.
export async function streamEvents(url, body, { signal, onEvent }) {
  const response = await fetch(url, {
    method: "POST",
    signal,
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
  });
  if (!response.ok) await handle(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

// Coalesce rapid calls (a slider being dragged): only the latest call's result is used.
export function latestOnly(fn) {
  let controller = null;
  return async (...args) => {
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = controller;
    try {
      return await fn(...args, mine.signal);
    } catch (e) {
      if (e.name === "AbortError") return undefined;
      throw e;
    } finally {
      if (controller === mine) controller = null;
    }
  };
}
