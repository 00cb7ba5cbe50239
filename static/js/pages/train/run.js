// Talking to the training lab's API: start a run, follow its events, pause / step / resume / stop it.
import { ApiError } from "../../lib/api.js";

// The server is training its limit of runs: say how long to wait (its Retry-After), do not retry by itself.
export class BusyError extends Error {
  constructor(seconds, detail) {
    super(`The server is training another run; try again in ${seconds} s.`);
    this.seconds = seconds;
    this.detail = detail;
  }
}

function detailOf(body, status) {
  const d = body?.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    return d
      .map((e) => {
        const where = (e.loc || []).filter((x) => x !== "body").join(".");
        return where ? `${where}: ${e.msg}` : e.msg.replace(/^Value error, /, "");
      })
      .join("; ");
  }
  return `HTTP ${status}`;
}

// POST /api/train → {id, model, events, page}; a 503 throws BusyError, a 422 an ApiError naming the field.
export async function startRun(settings) {
  const response = await fetch("/api/train", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(settings),
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.status === 503) {
    throw new BusyError(Number(response.headers.get("Retry-After")) || 5, detailOf(body, 503));
  }
  if (!response.ok) throw new ApiError(response.status, detailOf(body, response.status));
  return body;
}

export async function control(id, action) {
  const response = await fetch(`/api/train/${id}/control`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ action }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, detailOf(body, response.status));
  return body;
}

const EVENTS = ["start", "step", "eval", "snapshot", "done", "error"];

// Follow a run's events (its history first when it started earlier): handlers[name](data). Returns a
// function that stops following. The stream is closed after `done`, so the browser does not reconnect
// and replay it; a dropped connection reconnects and replays from `start` (handlers.start starts over).
export function follow(id, handlers) {
  const source = new EventSource(`/api/train/${id}/events`);
  for (const name of EVENTS) {
    source.addEventListener(name, (e) => {
      // an EventSource "error" without data is the connection's own error, not the run's
      if (name === "error" && !e.data) return;
      const data = JSON.parse(e.data);
      if (name === "done") source.close();
      handlers[name]?.(data);
    });
  }
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) handlers.lost?.();
  };
  return () => source.close();
}
