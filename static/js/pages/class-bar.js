// The live class on every page. A browser in no class loads nothing more; one in a class (localStorage holds
// the teacher's key or a student's id) or presenting loads the bars from ./class/bar.js.
const inClass = ["tp-class-teacher", "tp-class-student"].some((k) => localStorage.getItem(k));
let ask = null; // the bars' question handler, once loaded
let waiting = null; // a question the page showed before they were

// The lesson page's question: null outside a class; else {pick(i)}, true when the pick answered a class poll.
export function classQuestion(box, q, show) {
  if (!inClass) return null;
  const handle = { poll: null, pick: (i) => handle.poll?.pick(i) || false };
  if (ask) handle.poll = ask(box, q, show);
  else waiting = { box, q, show, handle };
  return handle;
}

if (inClass || sessionStorage.getItem("tp-present") === "1") {
  import("./class/bar.js").then((bar) => {
    ask = bar.classQuestion;
    if (waiting) waiting.handle.poll = ask(waiting.box, waiting.q, waiting.show);
    waiting = null;
  });
}
