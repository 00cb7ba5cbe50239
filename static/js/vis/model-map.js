// The whole model on one map: every part of a served model (from POST /api/model-map) as a box with its real
// shapes, in the order the numbers flow, one SVG per stack (an encoder-decoder draws two).
//
// render(el, data, options)
//   data: the /api/model-map response
//   options.mini:   a small copy: tiny boxes, no text, `lit` parts filled (the lesson pages' map)
//   options.lit:    a Set of part ids to light (mini), or "all"
//   options.href(part) → the link of a part (full map; every part is an <a>, one tab stop, arrows inside)
//   options.onShow(part, stackIndex): a part was hovered or focused
//   options.width:  the width to lay out in (default: el's width)
// Returns the SVG elements. liveText(part, stack, trace) says what a part computed for the reader's text.
import { fmt } from "../lib/dom.js";
import { roving } from "../lib/roving.js";
import { s } from "./svg.js";

const SHORT = {
  tokens: "tokens",
  wte: "wte",
  wpe: "positions",
  ln_1: "ln_1",
  attn: "attention",
  add_attn: "+ add",
  ln_cross: "ln_cross_attn",
  cross: "cross-attention",
  add_cross: "+ add",
  ln_2: "ln_2",
  mlp: "MLP",
  add_mlp: "+ add",
  ln_f: "ln_f",
  head: "LM head",
  mlm_head: "MLM head",
  probs: "softmax → p",
  lstm: "LSTM cell",
  lstm_head: "head",
};
const CHAR = 6.4; // px per character of 11 px text, to keep every line inside its box
const LINE = 14;

export const shortName = (part) =>
  part.kind === "wpe" && !Object.keys(part.params).length ? "sinusoids" : SHORT[part.kind] || part.kind;

// The lines inside a box: its short name, then its shapes split at " · " (c_attn → heads → c_proj).
function lines(part) {
  const shape = part.shape
    .replace(/^residual stream /, "")
    .replace(/^gates i, f, g, o: /, "gates i, f, g, o · ");
  return [shortName(part), ...shape.split(" · ")];
}

// Parts in groups: what comes before the blocks, each block (or LSTM layer), what comes after.
export function groups(stack) {
  const out = [];
  for (const part of stack.parts) {
    const key = part.layer ?? (out.some((g) => g.layer !== null) ? "after" : "before");
    let g = out[out.length - 1];
    if (!g || g.key !== key) {
      const title = part.layer === null ? (key === "before" ? "input" : "output") : `block ${part.layer}`;
      g = { key, layer: part.layer, title: part.kind === "lstm" ? `layer ${part.layer}` : title, parts: [] };
      out.push(g);
    }
    g.parts.push(part);
  }
  return out;
}

export function render(el, data, options = {}) {
  el.replaceChildren();
  const svgs = data.stacks.map((stack, i) => {
    const box = el.appendChild(document.createElement("div"));
    box.className = options.mini ? "map-stack mini" : "map-stack";
    if (!options.mini) {
      const h = box.appendChild(document.createElement("h4"));
      h.textContent = stack.title;
    }
    const width = options.mini ? null : options.width || el.clientWidth || 600;
    const svg = options.mini ? drawMini(stack, options) : drawFull(stack, width, options, i, data);
    box.append(svg);
    return svg;
  });
  if (!options.mini) {
    roving(el, "a.map-part");
  }
  return svgs;
}

// The full map: each group a row of boxes when the width allows, else one box per row.
function drawFull(stack, width, options, stackIndex, data) {
  const gs = groups(stack);
  const pad = 8;
  const gap = 10;
  const widest = Math.max(...gs.map((g) => g.parts.length));
  // wide: each group one row of boxes under its title; narrow: one box per row, the title at the left
  const wide = (width - 2 * pad - 8 - (widest - 1) * gap) / widest >= 100;
  const labelW = wide ? 4 : 64;
  const inner = width - 2 * pad - labelW - 4;
  const placed = [];
  let y = pad;
  const frames = [];
  for (const g of gs) {
    const top = y;
    if (wide) {
      y += 20;
      const n = g.parts.length;
      const w = Math.min(230, (inner - (n - 1) * gap) / n);
      const hgt = 10 + LINE * Math.max(...g.parts.map((p) => lines(p).length));
      const x0 = pad + labelW + (inner - (n * w + (n - 1) * gap)) / 2;
      for (const [k, p] of g.parts.entries()) placed.push({ part: p, x: x0 + k * (w + gap), y, w, h: hgt });
      y += hgt + 6;
    } else {
      y += 4;
      const w = Math.min(inner - 16, 420); // room on the right for the residual stream's skip lines
      for (const p of g.parts) {
        const hgt = 10 + LINE * lines(p).length;
        placed.push({ part: p, x: pad + labelW, y, w, h: hgt });
        y += hgt + 14;
      }
      y -= 10;
    }
    frames.push({ g, top, bottom: y });
    y += 22;
  }
  const height = y - 22 + pad;
  const n = stack.parts.length;
  const label = `${data.label}: ${stack.title}. ${n} parts, each a link to the step that teaches it`;
  const svg = s("svg", {
    class: "model-map",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "group",
    "aria-label": label,
  });
  svg.append(
    s(
      "defs",
      {},
      s(
        "marker",
        {
          id: `map-arrow-${stackIndex}`,
          viewBox: "0 0 8 8",
          refX: 7,
          refY: 4,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto-start-reverse",
        },
        s("path", { d: "M0,0 L8,4 L0,8 z", fill: "#5b6472" }),
      ),
    ),
  );
  for (const f of frames) {
    const blockish = f.g.layer !== null;
    svg.append(
      s("rect", {
        class: blockish ? "map-frame block" : "map-frame",
        x: pad,
        y: f.top,
        width: width - 2 * pad,
        height: f.bottom - f.top,
        rx: 6,
      }),
      s("text", { class: "map-group", x: pad + 6, y: f.top + 16 }, f.g.title),
    );
  }
  for (let k = 1; k < placed.length; k++) svg.append(connector(placed[k - 1], placed[k], stackIndex));
  for (const [from, to] of skips(placed)) svg.append(skip(from, to, wide));
  placed.forEach(({ part, x, y: top, w, h: hgt }) => {
    const a = s("a", {
      class: `map-part kind-${part.kind}`,
      href: options.href?.(part) ?? (part.link ? `/learn/${part.link}` : "/learn"),
      "data-part": part.id,
      "data-kind": part.kind,
      // named by what it shows; its full name, block and live value are announced by the figure's readout
    });
    a.append(s("rect", { x, y: top, width: w, height: hgt, rx: part.kind.startsWith("add") ? hgt / 2 : 4 }));
    lines(part).forEach((text, i) => {
      const t = s(
        "text",
        { x: x + w / 2, y: top + 17 + i * LINE, "text-anchor": "middle", class: i ? "mono" : "name" },
        text,
      );
      if (text.length * CHAR > w - 8) {
        t.setAttribute("textLength", String(w - 8));
        t.setAttribute("lengthAdjust", "spacingAndGlyphs");
      }
      a.append(t);
    });
    const show = () => options.onShow?.(part, stackIndex, a);
    a.addEventListener("mouseenter", show);
    a.addEventListener("focus", show);
    svg.append(a);
  });
  return svg;
}

// The residual stream's way around each sublayer: from where the sublayer starts (the block's first part, or
// the part after the last add) to the add that sums it back in. Parts of one layer are drawn in a row or a
// column (never split), so the path goes above the row or beside the column.
function skips(placed) {
  const out = [];
  const layers = new Map();
  for (const p of placed)
    if (p.part.layer !== null) layers.set(p.part.layer, [...(layers.get(p.part.layer) || []), p]);
  for (const parts of layers.values()) {
    // post-LN, LN(x + f(x)): the LN right after an add is that sublayer's output
    const post = parts[parts.length - 1].part.kind.startsWith("ln");
    let start = null;
    let afterAdd = false;
    for (const p of parts) {
      const kind = p.part.kind;
      if (kind.startsWith("add")) {
        if (start) out.push([start, p]);
        start = null;
        afterAdd = true;
        continue;
      }
      if (!start && !(post && afterAdd && kind.startsWith("ln"))) start = p;
      afterAdd = false;
    }
  }
  return out;
}

function skip(a, b, wide) {
  const attrs = { class: "map-skip", fill: "none" };
  if (wide) {
    const top = a.y - 7;
    return s("path", { ...attrs, d: `M${a.x + a.w / 2},${a.y} V${top} H${b.x + b.w / 2} V${b.y}` });
  }
  const right = a.x + a.w + 10;
  return s("path", { ...attrs, d: `M${a.x + a.w},${a.y + 8} H${right} V${b.y + b.h / 2} H${b.x + b.w}` });
}

function connector(a, b, stackIndex) {
  const attrs = { class: "map-flow", "marker-end": `url(#map-arrow-${stackIndex})`, fill: "none" };
  if (Math.abs(a.y - b.y) < 1)
    return s("line", { ...attrs, x1: a.x + a.w, y1: a.y + a.h / 2, x2: b.x - 1, y2: b.y + b.h / 2 });
  const x1 = a.x + a.w / 2;
  const x2 = b.x + b.w / 2;
  const mid = (a.y + a.h + b.y) / 2; // between the two rows: in the gap between two groups' frames
  return s("path", { ...attrs, d: `M${x1},${a.y + a.h} V${mid} H${x2} V${b.y - 1}` });
}

// The small copy: a row of tiny boxes per group, the lit ones filled; no text, no links (the whole
// map is one link around it).
function drawMini(stack, { lit = new Set() }) {
  const gs = groups(stack);
  const box = 11;
  const gap = 3;
  const labelW = 52;
  const widest = Math.max(...gs.map((g) => g.parts.length));
  const width = labelW + widest * (box + gap) + 4;
  const height = gs.length * (box + 5) + 4;
  const svg = s("svg", { class: "model-map mini", width, height, viewBox: `0 0 ${width} ${height}` });
  svg.setAttribute("aria-hidden", "true");
  gs.forEach((g, row) => {
    const y = 2 + row * (box + 5);
    svg.append(s("text", { class: "map-group", x: 0, y: y + box - 2 }, g.title));
    g.parts.forEach((p, k) => {
      const on = lit === "all" || lit.has(p.id);
      const attrs = {
        x: labelW + k * (box + gap),
        y,
        width: box,
        height: box,
        rx: p.kind.startsWith("add") ? 5.5 : 2,
      };
      svg.append(s("rect", { ...attrs, class: on ? "lit" : "", "data-part": p.id }, s("title", {}, p.label)));
    });
  });
  return svg;
}

// What a part computed for the reader's text, from the /api/trace response (the last token's numbers).
export function liveText(part, stack, trace) {
  const st = stack.name === "decoder" ? trace.decoder : trace;
  if (!st) return "";
  const tokens = st.tokens;
  const t = tokens.length - 1;
  const tok = `“${tokens[t]}”`;
  const norm = (v) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  const first = (v) =>
    v
      .slice(0, 3)
      .map((x) => fmt(x, 3))
      .join(", ");
  const top3 = (entries) =>
    entries
      .slice(0, 3)
      .map((e) => `“${e.token}” ${(100 * e.prob).toFixed(1)}%`)
      .join(", ");
  const l = part.layer;
  const stream = () =>
    st.residual_norm
      ? `Residual stream at ${tok}: ‖x‖ = ${fmt(st.residual_norm[l][t], 2)} entering block ${l}, ` +
        `${fmt(st.residual_norm[l + 1][t], 2)} leaving it.`
      : "";
  switch (part.kind) {
    case "tokens":
      return `${tokens.length} tokens; the last is ${tok} (id ${st.ids[t]}).`;
    case "wte":
      return `Row ${st.ids[t]} for ${tok}: ‖row‖ = ${fmt(norm(st.tok_emb[t]), 3)}; ${first(st.tok_emb[t])}`;
    case "wpe": {
      const v = st.pos_emb[t];
      return `Position ${st.positions[t]} (${tok}): ‖vector‖ = ${fmt(norm(v), 3)}; ${first(v)}`;
    }
    case "attn":
    case "cross": {
      const rows = part.kind === "cross" ? st.cross.attention[l] : st.attention[l];
      const keys = part.kind === "cross" ? trace.tokens : tokens;
      const heads = rows.map((head, hi) => {
        const row = head[t];
        const k = row.indexOf(Math.max(...row));
        return `head ${hi} → “${keys[k]}” ${fmt(row[k], 2)}`;
      });
      return `${tok} attends most to: ${heads.join("; ")}.`;
    }
    case "mlp":
      return (
        `For ${tok}: ${(100 * st.mlp_active[l][t]).toFixed(1)}% of the MLP's hidden units are active ` +
        "(> 0); " +
        `mean activation ${fmt(st.mlp_mean[l][t], 3)}.`
      );
    case "ln_1":
    case "ln_2":
    case "ln_cross":
    case "add_attn":
    case "add_cross":
    case "add_mlp":
      return stream();
    case "ln_f": {
      const L = st.residual_norm.length - 1;
      return `Residual stream at ${tok} leaving the last block: ‖x‖ = ${fmt(st.residual_norm[L][t], 2)}.`;
    }
    case "head":
    case "mlm_head":
    case "probs":
    case "lstm_head": {
      if (st.next_token) return `After ${tok} the model predicts ${top3(st.next_token)}.`;
      const lens = st.logit_lens?.[st.logit_lens.length - 1]?.[t];
      return lens ? `At the last position (${tok}) it fills in ${top3(lens)}.` : "";
    }
    case "lstm": {
      const ls = trace.lstm;
      const h = fmt(ls.hidden_norm[l][t], 2);
      let text = `Layer ${l} at ${tok}: ‖h‖ = ${h}, ‖c‖ = ${fmt(ls.cell_norm[l][t], 2)}.`;
      if (ls.gates.layer === l) {
        const mean = (v) => v.reduce((a, x) => a + x, 0) / v.length;
        const f = fmt(mean(ls.gates.forget_gate[t]), 3);
        text += ` Mean forget gate ${f}, input gate ${fmt(mean(ls.gates.input_gate[t]), 3)}.`;
      }
      return text;
    }
    default:
      return "";
  }
}
