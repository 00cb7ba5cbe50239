// The playground's attention panel (a GPT only): the head view of one layer, every layer × head as
// thumbnails, one cell enlarged; drawn from the prompt's trace and extended by each streamed token's row.
import { latestOnly, postJSON } from "../../lib/api.js";
import { fmt, h } from "../../lib/dom.js";
import { range } from "../../lib/math.js";
import { causalRows, render as grid, moveZoomFocus, square } from "../../vis/attngrid.js";
import { closable, figure } from "../../vis/figure.js";
import { render as headview } from "../../vis/headview.js";
import { render as heatmap } from "../../vis/heatmap.js";
import {
  $,
  attentionShown,
  layerOptions,
  model,
  picker,
  promptError,
  save,
  session,
  state,
} from "./state.js";

const attBox = $("attention-box");
let trace = null;
let attn = null;
let tracePromise = null;
const fetchTrace = latestOnly((body, signal) => postJSON("/api/trace", body, { signal }));
let hvFig = null;
let gridFig = null;
let zoomFig = null;

// The page mounts the panel after the output and side-by-side figures, which keeps the figures in order.
function mountAttentionPanel() {
  const attControls = h(
    "div",
    { class: "card row", "aria-label": "attention panel settings" },
    h("h2", {}, "Attention"),
    picker("layer", "Head view layer", layerOptions, () => drawAttention()),
    picker(
      "head",
      "Heads",
      () => [["all", "all heads"], ...range(model().n_head || 0).map((k) => [k, `head ${k}`])],
      () => drawAttention(),
    ),
  );
  attBox.append(attControls);
  const attRow = h("div", { class: "att-row" });
  attBox.append(attRow);
  hvFig = figure(attRow, { title: "Head view", name: "head-view" });
  gridFig = figure(attRow, { title: "Every layer × head", name: "attention-grid" });
  zoomFig = figure(attBox, { title: "Layer, head", name: "attention-cell" });
  closable(zoomFig, () => setZoom("")).id = "zoom-close";
}

function refreshTrace() {
  attBox.hidden = !attentionShown();
  if (!attentionShown()) return;
  const body = { model: state.model, text: state.text, backend: state.backend };
  tracePromise = fetchTrace(body).then((t) => {
    if (!t) return;
    trace = t;
    if (!session.run) {
      attn = { tokens: [...t.tokens], rows: causalRows(t.attention) };
      drawAttention();
    }
  }, promptError);
}

let drawTimer = 0;
function scheduleAttention() {
  if (drawTimer) return;
  drawTimer = setTimeout(() => {
    drawTimer = 0;
    drawAttention();
  }, 250);
}

// Opening or closing the enlarged heatmap moves the focus with it (vis/attngrid.js moveZoomFocus).
function setZoom(z) {
  const was = state.zoom;
  state.zoom = z;
  save();
  drawAttention();
  moveZoomFocus(gridFig, zoomFig, z, was);
}

// The panel is drawn again as tokens stream in: a focused thumbnail, query or enlarged view keeps the focus.
function drawAttention() {
  if (!attn) return;
  const focused = document.activeElement;
  const again = focused && attBox.contains(focused) ? focusAgain(focused) : null;
  draw();
  again?.();
}

function focusAgain(el) {
  const thumb = el.closest?.(".thumb");
  const query = el.closest?.("[data-q]");
  const inZoom = zoomFig.body.contains(el);
  return () => {
    let target = null;
    if (thumb)
      target = gridFig.body.querySelector(
        `.thumb[data-layer="${thumb.dataset.layer}"][data-head="${thumb.dataset.head}"]`,
      );
    else if (query) target = hvFig.body.querySelector(`[role=option][data-q="${query.dataset.q}"]`);
    else if (inZoom) target = zoomFig.body.querySelector("svg");
    if (target && target !== document.activeElement) target.focus({ preventScroll: true });
  };
}

function draw() {
  const L = attn.rows.length;
  const H = attn.rows[0].length;
  const T = attn.tokens.length;
  const layer = Math.min(state.layer, L - 1);
  const what =
    attn.live || T > (trace?.tokens.length ?? T)
      ? `your prompt and ${T - trace.tokens.length} generated tokens`
      : "your prompt";
  headview(
    hvFig.body,
    {
      tokens: attn.tokens,
      attention: attn.rows[layer],
      heads: state.head === "all" ? null : [Number(state.head)],
    },
    { readout: hvFig.readout, pinned: attn.live ? T - 1 : null, label: `head view, layer ${layer}` },
  );
  hvFig.setTitle(`Head view · layer ${layer}`);
  const heads = state.head === "all" ? "all heads (one colour each)" : `head ${state.head}`;
  hvFig.setCaption(
    `${state.model}, layer ${layer}, ${heads}, ` +
      `on ${what}. Each line joins a query (left) to a key (right); its opacity is the weight. ` +
      "Hover or focus a token on the left to see only its lines.",
  );
  const [zl, zh] = state.zoom ? state.zoom.split(".").map(Number) : [-1, -1];
  const size = Math.max(44, Math.min(84, Math.floor((Math.min(innerWidth, 700) - 110) / H) - 8));
  grid(gridFig.body, attn, {
    readout: gridFig.readout,
    onOpen: (l, hd) => setZoom(`${l}.${hd}`),
    selected: [zl, zh],
    size,
  });
  gridFig.setCaption(
    `${state.model}: ${L} layers × ${H} heads on ${what}; row = query, column = key, hatched = ` +
      "masked (a key after the query). Each thumbnail is scaled to its own largest weight; " +
      "hover for values, click or press Enter to enlarge.",
  );
  gridFig.setData({ tokens: attn.tokens, attention: attn.rows });
  const open = zl >= 0 && zl < L && zh < H;
  zoomFig.root.hidden = !open;
  if (open) {
    heatmap(
      zoomFig.body,
      { matrix: square(attn.rows[zl][zh], T), rows: attn.tokens, cols: attn.tokens },
      {
        readout: zoomFig.readout,
        values: true,
        label: `attention of layer ${zl}, head ${zh}`,
        describe: (i, j, v) =>
          `query ${i} ${JSON.stringify(attn.tokens[i])} → ` +
          `key ${j} ${JSON.stringify(attn.tokens[j])}: ${v === null ? "masked (a later key)" : fmt(v, 4)}`,
      },
    );
    zoomFig.setTitle(`Layer ${zl}, head ${zh}`);
    zoomFig.setCaption(
      `${state.model}, layer ${zl}, head ${zh}, on ${what}: softmax(q·k/√d) per query row; ` +
        "each row sums to 1; hatched = masked.",
    );
    zoomFig.setData({ layer: zl, head: zh, tokens: attn.tokens, rows: attn.rows[zl][zh] });
  }
}

// A stream waits for the prompt's trace, so that its tokens' rows extend the prompt's attention.
const traceSettled = () => tracePromise?.catch(() => null);

// A stream starts: when the trace read this very prompt, the panel follows the stream from it.
function followStream(d) {
  if (trace && trace.model === d.model && JSON.stringify(trace.tokens) === JSON.stringify(d.prompt_tokens)) {
    attn = { tokens: [...trace.tokens], rows: causalRows(trace.attention), live: true };
  } else attn = null;
}

// A streamed token: its attention row (the query of the token before it) adds a row to every layer × head.
function extendStream(d) {
  if (attn && d.index > 0 && d.attention && d.attention[0][0].length === attn.tokens.length + 1) {
    attn.tokens.push(session.gen.events[d.index - 1].token);
    for (const [l, layer] of d.attention.entries()) {
      for (const [hd, row] of layer.entries()) attn.rows[l][hd].push(row);
    }
    scheduleAttention();
  }
}

function endStream() {
  if (attn) attn.live = false;
  scheduleAttention();
}

export { attBox, endStream, extendStream, followStream, mountAttentionPanel, refreshTrace, traceSettled };
