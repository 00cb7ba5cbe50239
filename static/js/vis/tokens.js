// Token chips: whitespace made visible (· for a space, ↵ for a newline, → for a tab), the same chip
// everywhere.
import { h } from "../lib/dom.js";
import { roving } from "../lib/roving.js";
import { readableTextColour } from "./scales.js";
import { tabulate } from "./table.js";

export function tokenLabel(s) {
  if (s === null || s === undefined) return "∅";
  if (s === "") return "ε";
  return s.replace(/ /g, "·").replace(/\n/g, "↵").replace(/\t/g, "→");
}

// A token in prose: “·dog”.
export const quotedToken = (t) => `“${tokenLabel(t)}”`;

// One chip per token. options: {colors: [css], inks: [css], titles: [string], onSelect(i), selected: i,
// classes: [string], label}. Text on a coloured chip is black or white, whichever reads better, unless
// `inks` says otherwise. With onSelect the strip is one tab stop (a listbox): the arrow keys, Home and End
// move between tokens and select the focused one.
export function render(el, tokens, options = {}) {
  const pickable = Boolean(options.onSelect);
  el.classList.add("tokens");
  el.replaceChildren();
  if (pickable) {
    el.setAttribute("role", "listbox");
    el.setAttribute("aria-orientation", "horizontal");
    el.setAttribute("aria-label", options.label || "tokens: the arrow keys pick one");
  } else for (const a of ["role", "aria-orientation", "aria-label"]) el.removeAttribute(a);
  tokens.forEach((t, i) => {
    const chip = h(
      "span",
      {
        class: `tok ${options.classes?.[i] || ""}`.trim(),
        role: pickable ? "option" : null,
        "aria-selected": pickable ? String(options.selected === i) : null,
        title: options.titles?.[i] ?? `token ${i}: ${JSON.stringify(t)}`,
        dataset: { index: i },
      },
      tokenLabel(t),
    );
    if (options.colors?.[i]) {
      chip.style.background = options.colors[i];
      chip.style.color = options.inks?.[i] || readableTextColour(options.colors[i]);
    }
    if (options.selected === i) chip.classList.add("selected");
    if (pickable) {
      const pick = () => options.onSelect(i);
      chip.addEventListener("click", pick);
      chip.addEventListener("focus", () => {
        for (const c of el.querySelectorAll(".tok[aria-selected='true']"))
          c.setAttribute("aria-selected", "false");
        chip.setAttribute("aria-selected", "true");
        pick();
      });
      chip.addEventListener("mouseenter", pick);
    }
    el.append(chip);
  });
  if (pickable) roving(el, ".tok").sync(options.selected ?? 0);
  tabulate(el, () => ({
    caption: options.label || "tokens",
    columns: ["position", "token", "detail"],
    rows: tokens.map((t, i) => [i, tokenLabel(t), options.titles?.[i] ?? JSON.stringify(t)]),
  }));
  return el;
}
