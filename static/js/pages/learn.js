// Lesson index: carry the reader's model and text (from ?model= / ?text=) into every step's link.
const q = new URLSearchParams(location.search);
const keep = new URLSearchParams();
for (const k of ["model", "text", "lock", "hide"]) if (q.has(k)) keep.set(k, q.get(k));
if ([...keep].length) {
  for (const a of document.querySelectorAll(".lesson-list a"))
    a.href = `${a.getAttribute("href").split("?")[0]}?${keep}`;
}
document.body.dataset.ready = "1";
