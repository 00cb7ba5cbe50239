// A lesson question in a live class. The lesson page asks here (a small module, loaded by lesson pages only);
// the class bars (./bar.js, loaded when in a class) answer once they are loaded.
const inClass = () => ["tp-class-teacher", "tp-class-student"].some((k) => localStorage.getItem(k));
let ask = null; // the bars' question handler, once loaded
let waiting = null; // a question the page showed before they were

// null outside a class; else {pick(i)}: true when the pick was an answer to the class's poll.
export function classQuestion(box, q, show) {
  if (!inClass()) return null;
  const handle = { poll: null, pick: (i) => handle.poll?.pick(i) || false };
  if (ask) handle.poll = ask(box, q, show);
  else waiting = { box, q, show, handle };
  return handle;
}

// Called by the bars when they load.
export function answerQuestions(fn) {
  ask = fn;
  if (waiting) waiting.handle.poll = ask(waiting.box, waiting.q, waiting.show);
  waiting = null;
}
