// Token chips: whitespace made visible (· for a space, ↵ for a newline, → for a tab), the same chip
// everywhere.
import { h } from "../lib/dom.js";

export function tokenLabel(s) {
  if (s === null || s === undefined) return "∅";
  if (s === "") return "ε";
  return s.replace(/ /g, "·").replace(/\n/g, "↵").replace(/\t/g, "→");
}

// A token in prose: “·dog”.
export const quotedToken = (t) => `“${tokenLabel(t)}”`;

// One chip per token. options: {colors: [css], titles: [string], onSelect(i), selected: i, classes: [string]}
export function render(el, tokens, options = {}) {
  el.classList.add("tokens");
  el.replaceChildren();
  tokens.forEach((t, i) => {
    const chip = h(
      "span",
      {
        class: `tok ${options.classes?.[i] || ""}`.trim(),
        tabindex: options.onSelect ? 0 : null,
        role: options.onSelect ? "button" : null,
        title: options.titles?.[i] ?? `token ${i}: ${JSON.stringify(t)}`,
        dataset: { index: i },
      },
      tokenLabel(t),
    );
    if (options.colors?.[i]) {
      chip.style.background = options.colors[i];
      if (options.inks?.[i]) chip.style.color = options.inks[i];
    }
    if (options.selected === i) chip.classList.add("selected");
    if (options.onSelect) {
      const pick = () => options.onSelect(i);
      chip.addEventListener("click", pick);
      chip.addEventListener("focus", pick);
      chip.addEventListener("mouseenter", pick);
    }
    el.append(chip);
  });
  return el;
}
