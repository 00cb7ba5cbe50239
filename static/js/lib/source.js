// The twins' real source, fetched from the server: a lesson shows the line that computed its numbers.
import { getJSON } from "./api.js";
import { h, keyboardScrollable } from "./dom.js";

const cache = new Map();

export async function fetchSource(backend, name) {
  const key = `${backend}/${name}`;
  if (!cache.has(key)) cache.set(key, getJSON(`/api/source/${backend}/${encodeURIComponent(name)}`));
  return cache.get(key);
}

// Show `name`'s source in `pre`; lines containing any of `highlight` (strings) are marked and,
// with `only`, just those lines (and `context` lines around them) are shown.
export async function showSource(
  pre,
  where,
  backend,
  name,
  { highlight = [], only = true, context = 0 } = {},
) {
  const src = await fetchSource(backend, name);
  const lines = src.source.split("\n");
  const hit = lines.map((line) => highlight.some((x) => line.includes(x)));
  const keep = lines.map(
    (_, i) =>
      !only || !highlight.length || hit.slice(Math.max(0, i - context), i + context + 1).some(Boolean),
  );
  const out = [];
  let skipped = false;
  lines.forEach((line, i) => {
    if (!keep[i]) {
      if (!skipped) out.push(h("span", { class: "muted" }, "    …\n"));
      skipped = true;
      return;
    }
    skipped = false;
    out.push(h(hit[i] ? "mark" : "span", {}, `${line}\n`));
  });
  pre.replaceChildren(...out);
  keyboardScrollable(pre, `the source of ${src.name}`);
  if (where) where.textContent = `${src.module}.${src.name}, line ${src.first_line} of the file`;
  return src;
}
