// Candidate bars: one row per token, bar length = probability; removed tokens are hatched.
// items: [{token, prob, removed?: string (why), title?}]  options: {max, digits, label}
import { h, pct } from "../lib/dom.js";
import { tabulate } from "./table.js";
import { tokenLabel } from "./tokens.js";

export function render(el, items, options = {}) {
  const max = options.max ?? Math.max(...items.map((x) => x.prob), 1e-12);
  const grid = h("div", {
    class: "bars",
    role: "list",
    "aria-label": options.label || "token probabilities",
  });
  for (const it of items) {
    const width = `${Math.max(0, (100 * it.prob) / max)}%`;
    const bar = h("div", { class: `bar${it.removed ? " removed" : ""}` });
    bar.style.width = width;
    const why = it.removed ? ` — removed by ${it.removed}` : "";
    grid.append(
      h(
        "span",
        {
          class: "tok",
          role: "listitem",
          title: it.title || `${JSON.stringify(it.token)}: ${it.prob}${why}`,
        },
        tokenLabel(it.token),
      ),
      h("div", { title: `${it.prob}${why}` }, bar),
      h(
        "span",
        { class: "p", dataset: { prob: it.prob } },
        it.removed ? "cut" : pct(it.prob, options.digits ?? 1),
      ),
    );
  }
  tabulate(grid, () => ({
    caption: options.label || "token probabilities",
    columns: ["token", "probability", "note"],
    rows: items.map((it) => [tokenLabel(it.token), it.prob, it.removed ? `removed by ${it.removed}` : ""]),
  }));
  el.replaceChildren(grid);
  return grid;
}
