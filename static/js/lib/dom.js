// Small DOM helpers: build elements without innerHTML, so user text is always text.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Numbers as the pages print them: fixed decimals, a real minus sign kept ASCII for copy-paste.
export function fmt(x, digits = 3) {
  if (x === null || x === undefined) return "−∞";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  return Number(x).toFixed(digits);
}

export function pct(p, digits = 1) {
  return `${(100 * p).toFixed(digits)}%`;
}

export function toast(message, ms = 4000) {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), ms);
}

export function debounce(fn, ms = 150) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// A <select> of the served models, filtered by `accept(model)`.
export function modelSelect(models, value, accept = () => true, attrs = {}) {
  const select = h("select", attrs);
  for (const m of models.filter(accept)) {
    select.append(
      h(
        "option",
        { value: m.name, selected: m.name === value },
        `${m.name} (${m.parameters.toLocaleString()} params)`,
      ),
    );
  }
  return select;
}

// Mark a number for the browser tests: `path` names where it sits in an API response.
export function checked(el, path, value) {
  el.dataset.check = path;
  el.dataset.value = String(value);
  return el;
}

// A number shown with `digits` decimals, its exact value on hover, marked for the browser tests.
export const checkedNumber = (path, value, digits = 4) =>
  checked(h("span", { title: String(value) }, fmt(value, digits)), path, value);

// A segmented toggle (buttons, one pressed) that picks one of `options` ({value: text}) for the state key
// `key`.
export function segmentedToggle(label, key, options, value, onPick) {
  const button = ([k, text]) =>
    h(
      "button",
      {
        type: "button",
        "aria-pressed": String(k === value),
        "data-key": key,
        "data-value": k,
        "aria-label": `${label}: ${text}`,
        onclick: () => onPick(k),
      },
      text,
    );
  return h(
    "div",
    { class: "segmented", role: "group", "aria-label": label },
    Object.entries(options).map(button),
  );
}

// After the state changed: press each toggle button in `container` whose value is the state's.
export function syncSegmentedToggles(container, state) {
  for (const b of container.querySelectorAll(".segmented [data-value]")) {
    b.setAttribute("aria-pressed", String(state[b.dataset.key] === b.dataset.value));
  }
}

// Nothing clipped without a cue: a pane wider than its box gets the class scroll-cue (a shaded right
// edge, see app.css) and a visible hint line just above it; both go when it fits again.
const hints = new WeakMap();
function scrollCue(el, wide, tall) {
  const cue = wide || tall;
  el.classList.toggle("scroll-cue", cue);
  let hint = hints.get(el);
  if (cue && !hint && el.parentNode) {
    hint = h("p", { class: "scroll-hint", "aria-hidden": "true" });
    hints.set(el, hint);
  }
  if (!hint) return;
  if (cue && hint.nextElementSibling !== el && el.parentNode) el.before(hint);
  hint.textContent = `${wide && tall ? "larger" : wide ? "wider" : "taller"} than this box: scroll ${
    wide && tall ? "sideways → and down ↓" : wide ? "sideways →" : "down ↓"
  }`;
  hint.hidden = !cue;
}

// A pane that may scroll (a wide figure, a long code line): while its content overflows it takes focus
// (tabindex 0) and is a named group, so the arrow keys scroll it; when everything fits it is no tab stop.
const watched = new WeakSet();
export function keyboardScrollable(el, label) {
  el.dataset.scrollLabel = label;
  const check = () => {
    const scrolls = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    if (scrolls && !el.hasAttribute("tabindex")) {
      el.setAttribute("tabindex", "0");
      el.setAttribute("role", "group");
    } else if (!scrolls && el.getAttribute("tabindex") === "0") {
      el.removeAttribute("tabindex");
      el.removeAttribute("role");
    }
    if (el.hasAttribute("tabindex")) el.setAttribute("aria-label", `${el.dataset.scrollLabel} (scrolls)`);
    else el.removeAttribute("aria-label");
    // a few pixels of overflow (a focus ring, a descender) hide nothing: no hint for them
    scrollCue(el, el.scrollWidth > el.clientWidth + 1, el.scrollHeight > el.clientHeight + 8);
  };
  if (!watched.has(el)) {
    watched.add(el);
    new ResizeObserver(check).observe(el);
    new MutationObserver(check).observe(el, { childList: true, subtree: true, characterData: true });
  }
  check();
  return el;
}
