// On every page (templates/base.html): the "Link for your class" button (pages/site-links-builder.js, loaded
// when pressed) and, when the link locks or hides something, the locks kept on the site's links, the chip
// saying what is locked and the notice for a name no page has (pages/site-links-presets.js).
const footer = document.querySelector("footer.site");
const q = new URLSearchParams(location.search);
if (q.get("lock") || q.get("hide")) import("./site-links-presets.js");
if (footer) {
  const button = Object.assign(document.createElement("button"), {
    type: "button",
    id: "class-link",
    className: "secondary",
    textContent: "Link for your class",
  });
  button.addEventListener("click", async () => (await import("./site-links-builder.js")).openBuilder(button));
  const p = Object.assign(document.createElement("p"), { className: "footer-tools" });
  p.append(button);
  footer.append(p);
}
