// Step 6 · Masks: a real batch of unequal prompts, left-padded; padding, causal and combined masks side by
// side; the model's attention on the padded batch next to each prompt run alone.
import { postJSONCached } from "../lib/api.js";
import { checkedNumber, debounce, fmt, h } from "../lib/dom.js";
import { addLayerHeadPickers, addPicker, clampedLayerHead, fillPicker } from "../lib/lesson-controls.js";
import { range } from "../lib/math.js";
import { figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";
import { render as chips, quotedToken } from "../vis/tokens.js";

const texts = (state) => [state.text, state.second, state.third];

function small(parent, title, matrix, labels, options) {
  const box = h("div", { "data-mask": title }, h("h4", {}, title));
  parent.append(box);
  const el = h("div");
  box.append(el);
  heatmap(
    el,
    { matrix, rows: labels, cols: labels },
    {
      cell: Math.max(5, Math.min(20, Math.floor(150 / labels.length))),
      rowTitle: "query",
      colTitle: "key",
      ...options,
    },
  );
}

// The positions under the chips answer the question: each waits for it behind a "?".
function answerCell(el) {
  el.dataset.answer = "?";
  return el;
}

export default {
  defaults: { layer: 0, head: 0, row: -1, second: "Good night.", third: "Ay." },
  code: {
    name: "attention_mask",
    highlight: ["causal[past_len", "real[:, None, :]", "real = "],
    only: false,
  },
  formula:
    String.raw`\begin{aligned} M_{ij} &= \underbrace{[\,j \le i\,]}_{\text{causal}} \wedge \underbrace{` +
    String.raw`\text{real}_j \wedge \text{real}_i}_{\text{padding}} \\ M_{ij} = 0 &\;\Rightarrow\; ` +
    String.raw`s_{ij} = -\infty \;\Rightarrow\; w_{ij} = 0 \end{aligned}`,

  controls(ctx) {
    const state = ctx.state();
    for (const [key, label] of [
      ["second", "Second prompt"],
      ["third", "Third prompt"],
    ]) {
      const input = h("input", {
        type: "text",
        id: `lesson-${key}`,
        value: state[key],
        size: 14,
        maxlength: 200,
        "data-key": key,
        "aria-label": label.toLowerCase(),
      });
      input.addEventListener(
        "input",
        debounce(() => ctx.set({ [key]: input.value }), 300),
      );
      ctx.controls.append(h("label", { for: `lesson-${key}` }, label), input);
    }
    addPicker(ctx, "row", "Prompt");
    addLayerHeadPickers(ctx);
  },

  async load(state, ctx) {
    const { layer, head } = clampedLayerHead(ctx, state);
    const [masks, padded] = await Promise.all([
      postJSONCached("/api/masks", { model: state.model, texts: texts(state) }),
      postJSONCached("/api/lessons/padded", { model: state.model, texts: texts(state), layer, head }),
    ]);
    return { masks, padded };
  },

  render({ masks, padded }, state, ctx) {
    const B = masks.tokens.length;
    const T = masks.causal.length;
    const lengths = masks.padding.map((r) => r.reduce((a, b) => a + b, 0));
    const shortest = lengths.indexOf(Math.min(...lengths));
    const b = state.row >= 0 && state.row < B ? state.row : shortest;
    const prompts = texts(state);
    fillPicker(
      "row",
      prompts.map((t, k) => [k, `${k + 1}: ${t.slice(0, 16)} (${lengths[k]} tok)`]),
      b,
    );
    const where = `${padded.model}, a batch of ${B} prompts padded to T = ${T}`;

    const f = figure(ctx.figures, {
      title: `One batch, left-padded to the longest prompt (${B} × ${T})`,
      caption:
        `${where}. Hatched chips are padding; the number under each token is its position as the model ` +
        "numbers it: counting starts at the first real token.",
      name: "padded-batch",
      data: masks,
    });
    const table = h("table", { class: "data batch" });
    masks.tokens.forEach((row, k) => {
      const tr = h("tr", { class: k === b ? "chosen" : "" }, h("th", { scope: "row" }, `${k + 1}`));
      row.forEach((tok, t) => {
        const chip = h("div");
        chips(chip, [tok ?? "pad"], {
          classes: [tok === null ? "hatch" : ""],
          titles: [
            tok === null
              ? "padding (not a token)"
              : `token ${JSON.stringify(tok)} (its position is the number below)`,
          ],
        });
        tr.append(
          h(
            "td",
            { style: "padding:2px;text-align:center" },
            chip,
            tok === null
              ? h("span", { class: "small muted" }, "–")
              : answerCell(checkedNumber(`masks.positions.${k}.${t}`, masks.positions[k][t], 0)),
          ),
        );
      });
      table.append(tr);
    });
    f.body.append(table);

    const labels = masks.tokens[b].map((t) => t ?? "pad");
    const real = masks.padding[b];
    const bool = (m) => m.map((r) => r.map((v) => (v ? 1 : null)));
    const g = figure(ctx.figures, {
      title: `Prompt ${b + 1}: padding ∧ causal = what attention may use`,
      caption:
        `${where}. Row = query, column = key; yellow = allowed, hatched = masked. The combined mask is ` +
        "built by attention_mask, the function both twins run.",
      name: `masks-${b}`,
      data: { padding: real, causal: masks.causal, combined: masks.combined[b] },
    });
    const row = h("div", { class: "row", style: "align-items:flex-start;gap:8px" });
    g.body.append(row);
    const opts = {
      scale: "viridis",
      min: 0,
      max: 1,
      readout: g.readout,
      format: (v) => (v ? "allowed" : "masked"),
    };
    small(row, "padding", bool(real.map((qi) => real.map((kj) => qi && kj))), labels, {
      ...opts,
      label: "padding mask",
    });
    small(row, "causal", bool(masks.causal), labels, { ...opts, label: "causal mask" });
    small(row, "combined", bool(masks.combined[b]), labels, { ...opts, label: "combined mask" });

    const L = padded.layer;
    const H = padded.head;
    const n = lengths[b];
    const a = figure(ctx.figures, {
      title: `Attention of prompt ${b + 1}, layer ${L}, head ${H}: in the batch and alone`,
      caption:
        `${padded.model} ran the padded batch and then prompt ${b + 1} by itself. Viridis: ` +
        "dark = little weight. Padded keys are masked to −∞, so their weight is exactly 0.",
      name: `padded-attention-${b}`,
      data: { batched: padded.attention[b], alone: padded.alone[b] },
    });
    const pair = h("div", { class: "row", style: "align-items:flex-start;gap:8px" });
    a.body.append(pair);
    const wopts = { scale: "viridis", min: 0, max: 1, readout: a.readout, format: (v) => fmt(v, 3) };
    small(pair, "in the padded batch", padded.attention[b], labels, {
      ...wopts,
      mask: masks.combined[b],
      label: "attention in the batch",
    });
    small(pair, "alone", padded.alone[b], masks.tokens[b].slice(T - n), {
      ...wopts,
      mask: range(n).map((i) => range(n).map((j) => j <= i)),
      label: "attention alone",
    });
    a.body.append(
      h(
        "p",
        {},
        "Weight that real queries give padded keys, summed over the whole batch: ",
        checkedNumber("padded.pad_weight", padded.pad_weight, 4),
        ". Largest change of any real weight between batch and alone: ",
        checkedNumber("padded.max_change", padded.max_change, 7),
        ".",
      ),
    );
  },

  question({ masks }) {
    const lengths = masks.padding.map((r) => r.reduce((x, y) => x + y, 0));
    const T = masks.causal.length;
    const b = lengths.indexOf(Math.min(...lengths));
    const pads = T - lengths[b];
    if (!pads) return null;
    const pos = masks.positions[b][pads];
    const choices = [...new Set([0, 1, pads, pads + 1])].sort((x, y) => x - y);
    return {
      prompt:
        `Prompt ${b + 1} is padded with ${pads} pads on the left. What position does the model give ` +
        `its first real token ${quotedToken(masks.tokens[b][pads])}?`,
      choices: choices.map(String),
      answer: choices.indexOf(pos),
      reveal:
        `Position ${pos}. Positions count the real tokens a query can see (position_ids), so padding ` +
        "does not shift them: the prompt gets the same position vectors, and the same attention, as " +
        "when it runs alone.",
    };
  },

  prose: ({ padded }) =>
    "A batch is a rectangle, but prompts have different lengths, so the short ones are padded. " +
    "Padding goes on the left, so every prompt's last token sits in the last column, where " +
    "generation continues. Two masks then work together: the causal mask (a query sees only itself " +
    "and earlier keys) and the padding mask (nobody looks at padding, and a padded query looks at " +
    `nothing).\n\nMasked scores become −∞ before softmax, and e^−∞ is exactly 0: ` +
    `here the padded keys received ${padded.pad_weight} weight in total, and the real tokens' ` +
    `weights changed by at most ${fmt(padded.max_change, 7)} (float rounding). An encoder-decoder ` +
    "model adds a third kind, the cross-attention mask from decoder queries to encoder keys; " +
    "the architectures step shows it on a real model.",
};
