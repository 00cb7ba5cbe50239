// Step 2 · Embeddings: each token id picks one row of wte; the position vector is added to it.
import { postJSONCached } from "../lib/api.js";
import { checkedNumber, fmt, h } from "../lib/dom.js";
import { addPicker, fillPicker, tokenPickerOptions } from "../lib/lesson-controls.js";
import { range } from "../lib/math.js";
import { addWorkedTable, figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";
import { quotedToken } from "../vis/tokens.js";

const DIMS = [16, 32, 64, 0]; // 0 = all channels

// The first token that appears twice, preferring one that is not whitespace, or null.
function repeated(trace) {
  const first = new Map();
  let any = null;
  for (const [i, id] of trace.ids.entries()) {
    if (first.has(id)) {
      if (trace.tokens[i].trim()) return [first.get(id), i];
      any ??= [first.get(id), i];
    } else first.set(id, i);
  }
  return any;
}

export default {
  defaults: { token: -1, channels: 32 },
  code: {
    name: "embed_tokens",
    highlight: ["wte(ids)", "wpe(positions)", "sinusoidal_positions("],
    only: false,
  },
  formula:
    String.raw`\begin{aligned} x_t &= \underbrace{W_{te}[\,\mathrm{id}_t\,]}_{\text{token row}} + ` +
    String.raw`\underbrace{W_{pe}[\,p_t\,]}_{\text{position}} \\ W_{te} &\in \mathbb{R}^{V \times C} ` +
    String.raw`\end{aligned}`,

  controls(ctx) {
    addPicker(ctx, "token", "Token");
    addPicker(ctx, "channels", "Channels shown");
  },

  load(state) {
    return postJSONCached("/api/trace", { model: state.model, text: state.text, layer: 0, head: 0 });
  },

  render(trace, state, ctx) {
    const T = trace.tokens.length;
    const C = trace.tok_emb[0].length;
    const pair = repeated(trace);
    const t = state.token >= 0 && state.token < T ? state.token : pair ? pair[1] : T - 1;
    const d = state.channels > 0 ? Math.min(state.channels, C) : C;
    fillPicker("token", tokenPickerOptions(trace.tokens), t);
    fillPicker(
      "channels",
      DIMS.map((n) => [n, n ? `first ${Math.min(n, C)}` : `all ${C}`]),
      state.channels,
    );
    const cut = (m) => m.map((r) => r.slice(0, d));
    const rows = trace.tokens;
    const cols = range(d).map(String);
    const model = ctx.model();

    const f = figure(ctx.figures, {
      title: `Token embeddings: row id of wte for each of your ${T} tokens (${T} × ${C})`,
      caption:
        `Rows of ${trace.model}'s token table (V = ${model.vocab_size} rows of C = ${C}), picked by ` +
        "your text's ids (hover a row for its " +
        `id). ${d < C ? `First ${d} of ${C} channels. ` : ""}Blue negative, red positive; ` +
        "the same token always gives the same row. Click a row to follow it below.",
      name: "token-embeddings",
      data: { tokens: trace.tokens, ids: trace.ids, tok_emb: trace.tok_emb },
    });
    heatmap(
      f.body,
      { matrix: cut(trace.tok_emb), rows, cols },
      {
        scale: "diverging",
        cell: d > 64 ? 6 : undefined,
        readout: f.readout,
        label: "token embedding rows",
        describe: (i, c, v) =>
          `token ${i} ${quotedToken(trace.tokens[i])} = id ${trace.ids[i]} → ` +
          `wte[${trace.ids[i]}][${c}] = ${fmt(v, 4)}`,
        onClick: (i) => ctx.set({ token: i }),
      },
    );
    if (pair) {
      const same = trace.tok_emb[pair[0]].every((v, c) => v === trace.tok_emb[pair[1]][c]);
      f.body.append(
        h(
          "p",
          { class: "small", "data-same": String(same) },
          `Tokens ${pair[0]} and ${pair[1]} are both ${quotedToken(trace.tokens[pair[0]])} ` +
            `(id ${trace.ids[pair[0]]}): their rows ` +
            `are ${same ? "identical, number for number" : "different"}.`,
        ),
      );
    }

    const p = trace.positions[t];
    const tok = trace.tok_emb[t];
    const pos = trace.pos_emb[t];
    const x = tok.map((v, c) => v + pos[c]);
    const positionRow = model.pos === "learned" ? `learned wpe row ${p}` : `sinusoid of position ${p}`;
    const g = figure(ctx.figures, {
      title: `Token ${t} ${quotedToken(trace.tokens[t])}: token row + position vector = x`,
      caption:
        `wte row ${trace.ids[t]} plus the ${positionRow} (${trace.model}); ` +
        `the sum is what the first block reads.${d < C ? ` First ${d} channels.` : ""}`,
      name: "embedding-plus-position",
      data: { token: tok, position: pos, x },
    });
    heatmap(
      g.body,
      {
        matrix: [tok, pos, x].map((r) => r.slice(0, d)),
        rows: [`wte[${trace.ids[t]}]`, `pos[${p}]`, "x"],
        cols,
      },
      {
        scale: "diverging",
        cell: d > 64 ? 6 : undefined,
        readout: g.readout,
        colTitle: "channel",
        label: "token row, position vector and their sum",
      },
    );
    addWorkedTable(g, "the first channels, by hand", [
      ["channel", ...range(4).map(String)],
      [`wte[${trace.ids[t]}]`, ...range(4).map((c) => checkedNumber(`trace.tok_emb.${t}.${c}`, tok[c]))],
      [`+ pos[${p}]`, ...range(4).map((c) => checkedNumber(`trace.pos_emb.${t}.${c}`, pos[c]))],
      ["= x", ...range(4).map((c) => fmt(x[c], 4))],
    ]);
  },

  question(trace) {
    const pair = repeated(trace);
    if (!pair) return null;
    const [a, b] = pair;
    const diff = Math.max(...trace.pos_emb[a].map((v, c) => Math.abs(v - trace.pos_emb[b][c])));
    const choices = [
      "Identical: same token, same vector",
      "Different: the position vectors differ",
      "Different: wte picks a new row each time",
    ];
    return {
      prompt:
        `${quotedToken(trace.tokens[a])} is token ${a} and again token ${b}. Their wte rows are ` +
        "identical. After the position vectors are added, are their vectors x the same?",
      choices,
      answer: diff > 0 ? 1 : 0,
      reveal:
        `They differ by as much as ${fmt(diff, 3)} in one channel: position ${trace.positions[a]} ` +
        `and position ${trace.positions[b]} add different vectors, and that difference is the only ` +
        "way the model can tell the two apart.",
    };
  },

  prose: (trace) =>
    "The token id is an index, nothing more: the model keeps a table wte with one learned row " +
    `of ${trace.tok_emb[0].length} numbers per vocabulary entry, and embedding token t means reading ` +
    "row id_t. Writing it as a one-hot vector times the table gives the same result; " +
    `a lookup is just faster.\n\nA row says what the token is, not where it is: the two rows of a ` +
    "repeated token are the same. So a position vector is added, and from here on each token is one " +
    "vector x = token + position. Everything that follows only ever mixes and transforms these " +
    "vectors.",
};
