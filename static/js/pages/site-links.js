// On every page (templates/base.html): the teacher's link builder ("Link for your class": what to lock, what
// to hide, the link to copy), the link's locks kept across the site's own links (with a small chip saying
// what is locked), and a notice for a ?lock= / ?hide= name that no page of the site has (a typo).
import { h } from "../lib/dom.js";
import { PANELS, SETTINGS, unknownPanel, unknownSetting } from "../lib/settings-names.js";
import { linkHides, linkLocks } from "../lib/state.js";

const main = document.getElementById("main");
const footer = document.querySelector("footer.site");
const name = (table, key) => (Object.hasOwn(table, key) ? table[key] : key);

// ---- what this page has ----------------------------------------------------------------------------------
// A control's label: its data-label, its visible <label>, its group's name, the site's table, its aria-label.
function controlLabel(el) {
  const key = el.dataset.key;
  const visible = el.id ? document.querySelector(`label[for="${CSS.escape(el.id)}"]`) : null;
  const group = el.closest("[role=group][aria-label]");
  return (
    el.dataset.label ||
    visible?.textContent.trim() ||
    group?.getAttribute("aria-label") ||
    (Object.hasOwn(SETTINGS, key) ? SETTINGS[key] : "") ||
    el.getAttribute("aria-label") ||
    key
  );
}

function panelLabel(el) {
  const key = el.dataset.panel;
  if (el.dataset.label) return el.dataset.label;
  if (Object.hasOwn(PANELS, key)) return PANELS[key];
  return el.getAttribute("aria-label") || el.querySelector("h2, h3")?.textContent.trim() || key;
}

// This page's settings and panels, one row per name, in page order.
function pageNames(selector, attr, label) {
  const out = new Map();
  for (const el of document.querySelectorAll(`main ${selector}`)) {
    const key = el.dataset[attr];
    if (!out.has(key)) out.set(key, label(el));
  }
  return out;
}
const pageSettings = () => pageNames("[data-key]", "key", controlLabel);
const pagePanels = () => pageNames("[data-panel]", "panel", panelLabel);

// ---- locks kept across the site's links -------------------------------------------------------------------
// (a name no page has is reported here, not carried on)
const carried = () => ({
  lock: [...linkLocks()].filter((n) => !unknownSetting(n)),
  hide: [...linkHides()].filter((n) => !unknownPanel(n)),
});

// A link of this site to a page (not the API, its docs, a download or a file).
function internal(a) {
  if (!a.href || a.hasAttribute("download") || a.dataset.noCarry !== undefined) return null;
  let url;
  try {
    url = new URL(a.href, location.href);
  } catch {
    return null;
  }
  if (url.origin !== location.origin) return null;
  if (/^\/(api|docs|redoc|openapi\.json|static|healthz)(\/|$)/.test(url.pathname)) return null;
  return url;
}

export function withPresets(href, { lock, hide }) {
  const url = new URL(href, location.href);
  for (const [key, names] of [
    ["lock", lock],
    ["hide", hide],
  ]) {
    if (!names.length) continue;
    const have = new Set(
      (url.searchParams.get(key) || "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    );
    for (const n of names) have.add(n);
    url.searchParams.set(key, [...have].join(","));
  }
  return `${url.pathname}${url.search.replaceAll("%2C", ",")}${url.hash}`;
}

function carry(a) {
  const keep = carried();
  if (!keep.lock.length && !keep.hide.length) return;
  const url = !a.getAttribute("href").startsWith("#") && internal(a); // not an anchor of this page
  if (!url) return;
  const next = withPresets(url.href, keep);
  if (a.getAttribute("href") !== next) a.setAttribute("href", next);
}

function carryAll(root = document) {
  if (root.matches?.("a[href]")) carry(root);
  for (const a of root.querySelectorAll?.("a[href]") || []) carry(a);
}

// The chip: "Teacher's link: 3 settings locked" and, open, what is locked and hidden.
function chip() {
  const { lock, hide } = carried();
  if (!lock.length && !hide.length) return;
  const parts = [];
  if (lock.length) parts.push(`${lock.length} setting${lock.length > 1 ? "s" : ""} locked`);
  if (hide.length) parts.push(`${hide.length} panel${hide.length > 1 ? "s" : ""} hidden`);
  const list = (names, table, verb) =>
    names.length
      ? h(
          "p",
          {},
          `${verb}: `,
          names.map((n, i) => [i ? ", " : "", h("code", {}, n), ` (${name(table, n)})`]),
        )
      : null;
  const box = h(
    "details",
    { class: "preset-chip", id: "preset-chip" },
    h("summary", {}, `Teacher's link: ${parts.join(", ")}`),
    list(lock, SETTINGS, "Locked"),
    list(hide, PANELS, "Hidden"),
    h("p", { class: "muted" }, "They stay as you follow the site's menu and links."),
  );
  main.prepend(box);
}

// ---- names no page has ------------------------------------------------------------------------------------
function reportUnknown() {
  const rows = [
    ...[...linkLocks()].filter(unknownSetting).map((n) => ["locks", n, pageSettings(), "settings"]),
    ...[...linkHides()].filter(unknownPanel).map((n) => ["hides", n, pagePanels(), "panels"]),
  ];
  if (!rows.length) return;
  const lines = rows.map(([verb, n, here, what]) => {
    const names = [...here.keys()];
    const message =
      `This link ${verb} “${n}”, which this page does not have. ` +
      (names.length
        ? `Its ${what}: ${names.join(", ")}.`
        : `This page has no ${what} to ${verb.slice(0, -1)}.`);
    console.warn(message);
    return h("p", {}, message);
  });
  const box = h(
    "div",
    { class: "card notice preset-notice", role: "status", id: "preset-notice" },
    h("div", {}, lines),
    h("button", { type: "button", class: "secondary", onclick: () => box.remove() }, "Dismiss"),
  );
  main.prepend(box);
}

// ---- the link builder -------------------------------------------------------------------------------------
function builder(opener) {
  const settings = pageSettings();
  const panels = pagePanels();
  const lock = linkLocks();
  const hide = linkHides();
  const link = h("input", {
    type: "text",
    id: "class-link-url",
    readonly: true,
    class: "mono",
    "aria-label": "the link",
  });
  const status = h("span", { class: "muted small", role: "status" });
  const rows = (names, chosen, kind) =>
    [...names].map(([key, label]) =>
      h(
        "label",
        { class: "builder-row" },
        h("input", { type: "checkbox", value: key, "data-kind": kind, checked: chosen.has(key) }),
        h("span", {}, label),
        " ",
        h("code", {}, key),
      ),
    );
  const lockBox = h(
    "fieldset",
    {},
    h("legend", {}, "Lock these settings (students see them, cannot change them)"),
    settings.size ? rows(settings, lock, "lock") : h("p", { class: "muted" }, "This page has no settings."),
  );
  const hideBox = h(
    "fieldset",
    {},
    h("legend", {}, "Hide these panels"),
    panels.size ? rows(panels, hide, "hide") : h("p", { class: "muted" }, "This page has no panels to hide."),
  );
  const dialog = h(
    "dialog",
    { class: "link-builder", "aria-labelledby": "class-link-title" },
    h("h2", { id: "class-link-title" }, "Link for your class"),
    h(
      "p",
      {},
      "The link opens this page as it is now (text, model, settings), with what you tick below locked or " +
        "hidden. Locks stay on as students follow the site's menu and links.",
    ),
    lockBox,
    hideBox,
    h("label", { for: link.id }, "Link"),
    h(
      "div",
      { class: "row" },
      link,
      h("button", { type: "button", id: "class-link-copy", onclick: () => copy() }, "Copy"),
      status,
    ),
    h(
      "div",
      { class: "row end" },
      h("button", { type: "button", class: "secondary", onclick: close }, "Close"),
    ),
  );
  const checked = (kind) =>
    [...dialog.querySelectorAll(`input[data-kind=${kind}]:checked`)].map((c) => c.value);
  function update() {
    const url = new URL(location.href);
    url.searchParams.delete("lock");
    url.searchParams.delete("hide");
    for (const kind of ["lock", "hide"]) {
      const names = checked(kind);
      if (names.length) url.searchParams.set(kind, names.join(","));
    }
    link.value = `${url.origin}${url.pathname}${url.search.replaceAll("%2C", ",")}`;
    status.textContent = "";
  }
  async function copy() {
    link.select();
    try {
      await navigator.clipboard.writeText(link.value);
      status.textContent = "Copied.";
    } catch {
      status.textContent = "Selected: press Ctrl+C to copy.";
    }
  }
  function close() {
    dialog.close();
  }
  dialog.addEventListener("change", update);
  dialog.addEventListener("close", () => {
    dialog.remove();
    opener.focus();
  });
  document.body.append(dialog);
  update();
  dialog.showModal();
  dialog.querySelector("input[type=checkbox]")?.focus();
}

function builderButton() {
  if (!footer || document.getElementById("class-link")) return;
  const button = h("button", { type: "button", id: "class-link", class: "secondary" }, "Link for your class");
  button.addEventListener("click", () => builder(button));
  footer.append(h("p", { class: "footer-tools" }, button));
}

// The pages build their controls as they load (body[data-ready] once drawn): name this page's settings then.
function whenReady(fn) {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    watch.disconnect();
    fn();
  };
  const watch = new MutationObserver(() => document.body.dataset.ready && once());
  if (document.body.dataset.ready) return setTimeout(once, 0);
  watch.observe(document.body, { attributes: true, attributeFilter: ["data-ready"] });
  setTimeout(once, 4000); // a page that never says it is ready
}

// ---- start ------------------------------------------------------------------------------------------------
if (main) {
  builderButton();
  chip();
  carryAll();
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "attributes") carry(r.target);
      else for (const node of r.addedNodes) if (node.nodeType === 1) carryAll(node);
    }
  }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["href"] });
  whenReady(reportUnknown);
}
