// One tab stop for a whole strip or grid (the roving tabindex of the WAI-ARIA practices): the current item
// has tabindex 0, every other item -1; the arrow keys, Home and End move focus inside. Tab leaves.
//
// roving(container, selector, {columns, onMove})
//   selector: the items, in reading order (row by row for a grid)
//   columns:  a grid's width (items per row) — a number or a function; without it the items are one line,
//             and every arrow moves to the previous or next item
//   onMove(item, index): after an arrow key moved focus to `item`
// Returns {sync(index?)}: call it after adding or replacing items, with the index that keeps the tab stop
// (default: the item that has it now, else the first). Calling roving() again on the same container (a
// figure drawn again) updates its options; the listeners are added once.
const instances = new WeakMap();

export function roving(container, selector, options = {}) {
  const known = instances.get(container);
  if (known) {
    Object.assign(known.config, { columns: null, onMove: null, selector, ...options });
    known.sync();
    return known;
  }
  const config = { selector, columns: null, onMove: null, ...options };
  const items = () => [...container.querySelectorAll(config.selector)];
  const width = () => (typeof config.columns === "function" ? config.columns() : config.columns);

  function sync(index = null) {
    const all = items();
    if (!all.length) return;
    let k = index ?? all.findIndex((el) => el.getAttribute("tabindex") === "0");
    if (k < 0 || k >= all.length) k = 0;
    for (const [i, el] of all.entries()) el.setAttribute("tabindex", i === k ? "0" : "-1");
  }

  function target(key, i, n, ctrl) {
    const w = width();
    if (!w) {
      const step = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 }[key];
      if (step) return i + step;
      if (key === "Home") return 0;
      if (key === "End") return n - 1;
      return null;
    }
    const row = Math.floor(i / w);
    switch (key) {
      case "ArrowLeft":
        return i % w ? i - 1 : i;
      case "ArrowRight":
        return i % w < w - 1 ? i + 1 : i;
      case "ArrowUp":
        return i - w;
      case "ArrowDown":
        return i + w;
      case "Home":
        return ctrl ? 0 : row * w;
      case "End":
        return ctrl ? n - 1 : Math.min(n - 1, row * w + w - 1);
      default:
        return null;
    }
  }

  container.addEventListener("keydown", (e) => {
    if (e.altKey || e.metaKey) return;
    const all = items();
    const i = all.indexOf(e.target.closest?.(config.selector));
    if (i < 0) return;
    const j = target(e.key, i, all.length, e.ctrlKey);
    if (j === null) return;
    e.preventDefault();
    e.stopPropagation(); // the page's own arrow keys (a lesson's prev / next) stay out of the strip
    if (j < 0 || j >= all.length || j === i) return;
    move(all, j);
  });
  // a click or a focus from elsewhere also moves the tab stop, so Tab comes back to the last item used
  container.addEventListener("focusin", (e) => {
    const all = items();
    const i = all.indexOf(e.target.closest?.(config.selector));
    if (i >= 0 && all[i].getAttribute("tabindex") !== "0") sync(i);
  });

  function move(all, j) {
    sync(j);
    all[j].focus();
    config.onMove?.(all[j], j);
  }

  const instance = { sync, config };
  instances.set(container, instance);
  sync();
  return instance;
}
