// Step · The whole model on one map: every part of the chosen model with its real shapes, what each computed
// for the reader's text on hover or focus, and a link from each part to the step that teaches it.
import { loadMapOrExample, mapFigure } from "../vis/model-map-figure.js";

const TRANSFORMER =
  String.raw`\begin{aligned} x_0 &= W_{te}[\mathrm{ids}] + W_{pe}[\mathrm{pos}] \\ ` +
  String.raw`x &\leftarrow x + \mathrm{attn}(\mathrm{ln_1}(x)) \\ ` +
  String.raw`x &\leftarrow x + \mathrm{MLP}(\mathrm{ln_2}(x)) \quad\text{(each block)} \\ ` +
  String.raw`p &= \mathrm{softmax}(\mathrm{ln_f}(x)\, W_{te}^{\top}) \end{aligned}`;
const RECURRENT =
  String.raw`\begin{aligned} x_t &= W_{te}[\mathrm{id}_t] \\ ` +
  String.raw`h_t, c_t &= \mathrm{LSTM}(x_t, h_{t-1}, c_{t-1}) ` +
  String.raw`\quad\text{(each layer)} \\ p &= \mathrm{softmax}(W h_t + b) \end{aligned}`;

let shown = null; // the model drawn last

const recurrent = (data) => data.map.stacks.some((st) => st.parts.some((p) => p.kind === "lstm"));

export default {
  accepts: () => true,
  preferredModel: "shakespeare-char",
  code: {
    name: "GPT.forward_cached",
    highlight: ["self.embed(", "x = tok_emb + pos_emb", "block(x", "self.head(x)"],
    only: false,
  },
  formula: (data) => (recurrent(data) ? RECURRENT : TRANSFORMER),

  async load(state, ctx) {
    const model = ctx.model();
    let text = state.text;
    if (shown && shown.name !== model.name && model.example && shown.example !== model.example) {
      // a model that reads other inputs (digits for a translator) starts from its own example
      document.getElementById("lesson-text").value = model.example;
      text = model.example;
      ctx.set({ text });
    }
    shown = model;
    const data = await loadMapOrExample(model, text);
    if (data.fallback) {
      document.getElementById("lesson-text").value = data.text;
      ctx.set({ text: data.text }); // the model cannot read the old text: its own example, in the URL too
    }
    return data;
  },

  render(data, state, ctx) {
    const q = new URLSearchParams({ model: state.model, text: data.text });
    mapFigure(ctx.figures, data, `?${q}`);
  },

  prose: (data) =>
    `Before the steps take the model apart, here it is whole: ${data.map.model}, drawn from its own ` +
    `config and weights. Your text becomes ${data.map.T} tokens; each token id picks a row of the token ` +
    "embedding table (wte), a position vector is added, and the result — the residual stream, the running " +
    "sum every block reads from and adds to — flows down through every block.\n\n" +
    "Each box is one part, labelled with the real shapes of what it stores. Hover or focus a box to see " +
    "the " +
    "number it produced for your last token just now; press Enter to open the step that explains it. Every " +
    "later step shows a small copy of this map with its own place lit.",
};
