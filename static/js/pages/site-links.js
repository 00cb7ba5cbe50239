// Every page: presets applied (and to controls built later), the "Link for your class" button; the builder
// and, for a link that locks or hides, the chip, carried links and notice load on demand (site-links-*.js).
import { applyTeacherPresets } from "../lib/state.js";

applyTeacherPresets();
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
