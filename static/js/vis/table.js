// The numbers of a figure as a table: every figure frame (vis/figure.js) offers one, for screen readers,
// for copying, and for anyone who prefers numbers to colours.
//
// A visual module describes what it drew with tabulate(el, spec) on the element it rendered into;
// spec is {caption, columns: [header…], rows: [[row header, value…]…], format(v)} or a function that
// returns it (called only when the reader opens the table). A figure with no described element falls back
// to the numbers of its JSON data, one row per number.
import { fmt, h } from "../lib/dom.js";

const specs = new WeakMap();
const MAX_FALLBACK_ROWS = 1000;

export function tabulate(el, spec) {
  specs.set(el, spec);
  el.setAttribute("data-table", "");
  return el;
}

export const cellText = (v) =>
  v === null || v === undefined
    ? "masked"
    : typeof v === "number"
      ? Number.isInteger(v)
        ? String(v)
        : fmt(v, 4)
      : String(v);

// Tables for everything `body` shows: the described elements (outermost only), else `data`'s numbers.
export function tablesFor(body, data) {
  const inBody = (el) => el && (el === body || body.contains(el));
  const described = [body, ...body.querySelectorAll("[data-table]")].filter(
    (el) => specs.has(el) && !(el !== body && inBody(el.parentElement.closest("[data-table]"))),
  );
  if (described.length) {
    const tables = described
      .map((el) => specs.get(el))
      .map((spec) => (typeof spec === "function" ? spec() : spec))
      .filter((spec) => spec.rows.length)
      .map(table);
    return tables.length ? tables : [h("p", { class: "muted small" }, "No numbers yet.")];
  }
  const rows = [];
  numbers(data, "", rows);
  if (!rows.length) return [h("p", { class: "muted small" }, "This figure has no numbers beyond its text.")];
  const shown = rows.slice(0, MAX_FALLBACK_ROWS);
  const total = rows.length > 10 * MAX_FALLBACK_ROWS ? `over ${10 * MAX_FALLBACK_ROWS}` : rows.length;
  return [
    table({
      caption:
        rows.length > shown.length
          ? `The first ${shown.length} of ${total} numbers (JSON downloads them all)`
          : `Every number of this figure (${rows.length})`,
      columns: ["where in the data", "value"],
      rows: shown,
    }),
  ];
}

function table({ caption, columns, rows, format = cellText }) {
  return h(
    "table",
    { class: "data fig-data" },
    caption ? h("caption", {}, caption) : null,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((c) => h("th", { scope: "col" }, String(c))),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map(([head, ...cells]) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, typeof head === "number" ? cellText(head) : String(head)),
          cells.map((v) => h("td", { class: typeof v === "number" ? "num" : null }, format(v))),
        ),
      ),
    ),
  );
}

// [path, number] for every number in a JSON value, depth first.
function numbers(value, path, out) {
  if (out.length > 10 * MAX_FALLBACK_ROWS) return;
  if (typeof value === "number") out.push([path || "value", value]);
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) numbers(v, path ? `${path}.${i}` : String(i), out);
  } else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) numbers(v, path ? `${path}.${k}` : k, out);
}
