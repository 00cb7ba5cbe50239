// "Link for your class" (opened from pages/site-links.js): this page's settings to lock and panels to hide,
// and the link to copy: the page as it is now (its URL state) plus ?lock= / ?hide=.
import { h } from "../lib/dom.js";
import { linksStyle } from "../lib/links-style.js";
import { pagePanels, pageSettings } from "../lib/page-names.js";
import { linkHides, linkLocks } from "../lib/state.js";

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

function fieldset(legend, names, chosen, kind, none) {
  return h(
    "fieldset",
    {},
    h("legend", {}, legend),
    names.size ? rows(names, chosen, kind) : h("p", { class: "muted" }, none),
  );
}

export async function openBuilder(opener) {
  await linksStyle();
  const link = h("input", { type: "text", id: "class-link-url", readonly: true, class: "mono" });
  const status = h("span", { class: "muted small", role: "status" });
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
    fieldset(
      "Lock these settings (students see them, cannot change them)",
      pageSettings(),
      linkLocks(),
      "lock",
      "This page has no settings.",
    ),
    fieldset("Hide these panels", pagePanels(), linkHides(), "hide", "This page has no panels to hide."),
    // the link, Copy and Close stay in view while the lists scroll (a phone)
    h(
      "div",
      { class: "builder-foot" },
      h("label", { for: link.id }, "Link"),
      h(
        "div",
        { class: "row" },
        link,
        h("button", { type: "button", id: "class-link-copy", onclick: () => copy() }, "Copy"),
        h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Close"),
      ),
      status,
    ),
  );
  const checked = (kind) =>
    [...dialog.querySelectorAll(`input[data-kind=${kind}]:checked`)].map((c) => c.value);
  function update() {
    const url = new URL(location.href);
    for (const kind of ["lock", "hide"]) {
      const names = checked(kind);
      if (names.length) url.searchParams.set(kind, names.join(","));
      else url.searchParams.delete(kind);
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
