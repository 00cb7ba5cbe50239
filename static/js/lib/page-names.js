// This page's settings ([data-key]) and panels ([data-panel]) with the labels a teacher reads: for the link
// builder and the notice about a name no page has.
import { PANELS, SETTINGS } from "./settings-names.js";

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

// A panel's: its data-label, what the site's table says hiding it hides, its name or heading.
function panelLabel(el) {
  const key = el.dataset.panel;
  if (el.dataset.label) return el.dataset.label;
  if (Object.hasOwn(PANELS, key)) return PANELS[key];
  return el.getAttribute("aria-label") || el.querySelector("h2, h3")?.textContent.trim() || key;
}

// name → label, one row per name, in page order.
function names(selector, attr, label) {
  const out = new Map();
  for (const el of document.querySelectorAll(`main ${selector}`)) {
    const key = el.dataset[attr];
    if (!out.has(key)) out.set(key, label(el));
  }
  return out;
}
export const pageSettings = () => names("[data-key]", "key", controlLabel);
export const pagePanels = () => names("[data-panel]", "panel", panelLabel);
