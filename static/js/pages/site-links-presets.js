// Loaded by pages/site-links.js when the link locks or hides something: the locks kept on the site's own
// links, a small chip saying what is locked, and a notice for a name that no page of the site has (a typo).
import { h } from "../lib/dom.js";
import { linksStyle } from "../lib/links-style.js";
import { pagePanels, pageSettings } from "../lib/page-names.js";
import { PANELS, SETTINGS, unknownPanel, unknownSetting } from "../lib/settings-names.js";
import { linkHides, linkLocks } from "../lib/state.js";

const main = document.getElementById("main");
const label = (table, key) => (Object.hasOwn(table, key) ? table[key] : key);

// What the site's links keep: the link's names that some page has (a typo is reported here, not carried).
const carried = () => ({
  lock: [...linkLocks()].filter((n) => !unknownSetting(n)),
  hide: [...linkHides()].filter((n) => !unknownPanel(n)),
});

// A link of this site to a page: not an anchor, the API, its docs, a file or a download.
function internal(a) {
  const href = a.getAttribute("href");
  if (!href || href.startsWith("#") || a.hasAttribute("download")) return null;
  let url;
  try {
    url = new URL(href, location.href);
  } catch {
    return null;
  }
  if (url.origin !== location.origin) return null;
  if (/^\/(api|docs|redoc|openapi\.json|static|healthz)(\/|$)/.test(url.pathname)) return null;
  return url;
}

// The href with the presets added to its own lock= / hide= (if any).
export function withPresets(url, presets) {
  for (const [key, names] of Object.entries(presets)) {
    if (!names.length) continue;
    const have = new Set((url.searchParams.get(key) || "").split(",").filter(Boolean));
    for (const n of names) have.add(n);
    url.searchParams.set(key, [...have].join(","));
  }
  return `${url.pathname}${url.search.replaceAll("%2C", ",")}${url.hash}`;
}

function carry(a, presets) {
  const url = internal(a);
  if (!url) return;
  const next = withPresets(url, presets);
  if (a.getAttribute("href") !== next) a.setAttribute("href", next);
}

function carryAll(root, presets) {
  if (root.matches?.("a[href]")) carry(root, presets);
  for (const a of root.querySelectorAll?.("a[href]") || []) carry(a, presets);
}

// "Teacher's link: 3 settings locked"; open, it says which.
function chip({ lock, hide }) {
  const parts = [];
  if (lock.length) parts.push(`${lock.length} setting${lock.length > 1 ? "s" : ""} locked`);
  if (hide.length) parts.push(`${hide.length} panel${hide.length > 1 ? "s" : ""} hidden`);
  const list = (names, table, verb) =>
    names.length
      ? h(
          "p",
          {},
          `${verb}: `,
          names.flatMap((n, i) => [i ? ", " : "", h("code", {}, n), ` (${label(table, n)})`]),
        )
      : null;
  main.prepend(
    h(
      "details",
      { class: "preset-chip", id: "preset-chip" },
      h("summary", {}, `Teacher's link: ${parts.join(", ")}`),
      list(lock, SETTINGS, "Locked"),
      list(hide, PANELS, "Hidden"),
      h("p", { class: "muted" }, "They stay as you follow the site's menu and links."),
    ),
  );
}

// A name in neither table nor an old name: say so on the page (and in the console), with this page's names.
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
    { class: "card preset-notice", role: "status", id: "preset-notice" },
    h("div", {}, lines),
    h("button", { type: "button", class: "secondary", onclick: () => box.remove() }, "Dismiss"),
  );
  main.prepend(box);
}

// The pages build their controls as they load (body[data-ready] once drawn): name this page's settings then.
function whenReady(fn) {
  let done = false;
  const watch = new MutationObserver(() => document.body.dataset.ready && once());
  const once = () => {
    if (done) return;
    done = true;
    watch.disconnect();
    fn();
  };
  if (document.body.dataset.ready) return setTimeout(once, 0);
  watch.observe(document.body, { attributes: true, attributeFilter: ["data-ready"] });
  setTimeout(once, 4000); // a page that never says it is ready
}

const presets = carried();
if (main && (presets.lock.length || presets.hide.length)) {
  chip(presets);
  carryAll(document, presets);
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "attributes") carry(r.target, presets);
      else for (const node of r.addedNodes) if (node.nodeType === 1) carryAll(node, presets);
    }
  }).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["href"] });
}
if (main) whenReady(reportUnknown);
linksStyle();
