// The probe: one fixed input the run is tested on as it trains. The model's greedy answer beside the right
// one, and the attention maps of every layer × head, kept per snapshot; a scrubber replays them.
import { h, keyboardScrollable } from "../../lib/dom.js";
import { causalRows, render as grid, square } from "../../vis/attngrid.js";
import { figure } from "../../vis/figure.js";
import { render as heatmap } from "../../vis/heatmap.js";
import { tokenLabel } from "../../vis/tokens.js";

// The right continuation of the probe's prompt, worked out here from the prompt itself where the task
// has a rule (copy, reverse, sort, induction); for numbers and text it is what the probe text goes on with.
export function rightAnswer(task, probe) {
  const q = probe.prompt.slice(0, -1); // the digits before ">" (induction: the first copy)
  if (task === "copy") return q;
  if (task === "reverse") return [...q].reverse().join("");
  if (task === "sort") return [...q].sort().join("");
  if (task === "induction") return q.slice(1);
  return probe.text.slice(probe.prompt.length);
}

const visible = (text) => [...text].map(tokenLabel).join("");

export function createProbe(root) {
  const promptEl = h("code", { id: "probe-prompt" });
  const rightEl = h("code", { id: "probe-right" });
  const sampleEl = h("code", { id: "probe-sample" });
  const verdict = h("span", { id: "probe-verdict", class: "small" });
  const sampleStep = h("span", {});
  const answers = h(
    "dl",
    { class: "probe-answers" },
    h("dt", {}, "Input given"),
    h("dd", {}, promptEl),
    h("dt", {}, "Right answer"),
    h("dd", {}, rightEl),
    h("dt", {}, "The model's answer", sampleStep),
    h("dd", {}, sampleEl, " ", verdict),
  );
  const scrub = h("input", {
    type: "range",
    id: "snapshot-scrub",
    min: 0,
    max: 0,
    value: 0,
    step: 1,
    disabled: true,
    "aria-describedby": "snapshot-label",
  });
  const scrubLabel = h("output", { id: "snapshot-label", for: "snapshot-scrub" }, "no snapshot yet");
  const scrubber = h(
    "div",
    { class: "scrubber" },
    h("label", { for: "snapshot-scrub" }, "Snapshot"),
    scrub,
    scrubLabel,
  );
  const gridWrap = h("div", { class: "grid-area" });
  const note = h("p", { class: "small muted", id: "probe-note" });
  const gridFig = figure(root, {
    title: "The probe: answer and attention",
    name: "train-attention",
    caption:
      "The same fixed input at every snapshot: each small map is one head, rows are the query tokens, " +
      "columns the tokens they attend to (brighter = more weight, scaled to each head's maximum; hatched: " +
      "not visible to that query). Select a map (Enter) to enlarge it.",
  });
  gridFig.body.before(answers, scrubber);
  gridFig.body.append(note, gridWrap);
  const zoomFig = figure(root, { title: "One head, enlarged", name: "train-head", caption: "" });
  zoomFig.root.hidden = true;

  let task = null;
  let probe = null;
  let snaps = [];
  let following = true;
  let selected = [0, 0];

  const showAnswer = (snap) => {
    if (!probe) return;
    const right = rightAnswer(task, probe);
    const sample = (snap?.sample ?? "").replace(/\n$/, "");
    sampleEl.textContent = snap ? visible(sample) || "(nothing)" : "…";
    sampleStep.textContent = snap ? ` (step ${snap.step})` : "";
    if (!snap) verdict.textContent = "";
    else if (sample === right) verdict.textContent = "✓ right";
    else {
      const same = [...right].filter((c, i) => sample[i] === c).length;
      verdict.textContent = `✗ ${same} of ${right.length} characters in place`;
    }
  };

  const drawZoom = (snap) => {
    const [l, hd] = selected;
    const rows = snap?.attention?.[l]?.[hd];
    if (!rows) {
      zoomFig.root.hidden = true;
      return;
    }
    zoomFig.root.hidden = false;
    zoomFig.setTitle(`Layer ${l}, head ${hd}, at step ${snap.step}`);
    const cross = snap.queries.length !== snap.keys.length || task === "numbers";
    const matrix = cross ? rows : square(causalRows([[rows]])[0][0], rows.length);
    heatmap(
      zoomFig.body,
      { matrix, rows: snap.queries, cols: snap.keys },
      {
        min: 0,
        max: 1,
        label: `attention of layer ${l} head ${hd} on the probe`,
        readout: zoomFig.readout,
      },
    );
    zoomFig.setData({ step: snap.step, layer: l, head: hd, queries: snap.queries, keys: snap.keys, rows });
    zoomFig.setCaption(
      "Each row is a query token, each column a key it may look at; the number on hover is the weight " +
        "(a row sums to 1). Reverse draws an anti-diagonal, induction a stripe one step right of the " +
        "earlier copy.",
    );
  };

  const labelOf = (i) => `step ${snaps[i].step} (snapshot ${i + 1} of ${snaps.length})`;
  const draw = () => {
    const i = Number(scrub.value);
    const snap = snaps[i];
    scrubLabel.textContent = snap
      ? `step ${snap.step} (snapshot ${i + 1} of ${snaps.length})`
      : "no snapshot yet";
    showAnswer(snap);
    if (!snap) return;
    gridFig.setData(snap);
    if (!snap.attention) {
      note.textContent =
        "An LSTM has no attention to draw: it reads the input one token at a time, keeping a state.";
      gridWrap.replaceChildren();
      zoomFig.root.hidden = true;
      return;
    }
    const cross = task === "numbers";
    note.textContent = cross
      ? "Cross-attention of the decoder: rows are the words it writes, columns the digits it reads."
      : "";
    const rows = cross ? snap.attention : causalRows(snap.attention);
    grid(
      gridWrap,
      { tokens: snap.queries, rows },
      {
        selected,
        size: 96,
        readout: gridFig.readout,
        label: `attention of every layer and head on the probe at step ${snap.step}`,
        onOpen: (l, hd) => {
          selected = [l, hd];
          draw();
          zoomFig.root.scrollIntoView({ block: "nearest" });
        },
      },
    );
    drawZoom(snap);
  };

  scrub.addEventListener("input", () => {
    following = Number(scrub.value) === snaps.length - 1;
    draw();
  });
  keyboardScrollable(gridWrap, "attention maps");

  return {
    start(newTask, newProbe) {
      task = newTask;
      probe = newProbe;
      snaps = [];
      following = true;
      promptEl.textContent = visible(probe.prompt);
      rightEl.textContent = visible(rightAnswer(task, probe));
      scrub.max = "0";
      scrub.value = "0";
      scrub.disabled = true;
      gridWrap.replaceChildren();
      draw();
    },
    // pick the head to enlarge (the best induction head, say) unless the student picked one
    select(l, hd) {
      selected = [l, hd];
    },
    snapshot(snap) {
      snaps.push(snap);
      scrub.max = String(snaps.length - 1);
      scrub.disabled = snaps.length < 2;
      if (following) {
        scrub.value = String(snaps.length - 1);
        draw();
      } else {
        scrubLabel.textContent = labelOf(Number(scrub.value));
      }
    },
  };
}
