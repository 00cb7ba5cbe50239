// Step 1 · Tokenization: the same text through every served tokenizer (character and byte-pair).
import { checked, h } from "../lib/dom.js";
import { figure } from "../vis/figure.js";
import { render as renderTokens, tokenLabel } from "../vis/tokens.js";

// One model per tokenizer kind (the chosen model first), so char and BPE sit side by side.
function tokenizers(ctx, state) {
  const chosen = ctx.models.find((m) => m.name === state.model);
  const others = ctx.models.filter((m) => m.architecture === "gpt" && m.tokenizer !== chosen.tokenizer);
  const seen = new Set([chosen.tokenizer]);
  const out = [chosen];
  for (const m of others) if (!seen.has(m.tokenizer)) seen.add(m.tokenizer) && out.push(m);
  return out;
}

export default {
  code: { module: "tokenizer", name: "CharTokenizer.encode", highlight: ["return"], only: false },
  formula: String.raw`\text{text} \;\mapsto\; [\,t_1, t_2, \dots, t_T\,],\quad t_i \in \{0, \dots, V-1\}`,

  async load(state, ctx) {
    const list = tokenizers(ctx, state);
    // a tokenizer that cannot read the text (a character missing from its vocabulary) says so in its
    // own figure; the others still show their tokens
    const results = await Promise.all(
      list.map((m, i) =>
        ctx.api.postJSON("/api/tokenize", { model: m.name, text: state.text }).catch((e) => {
          if (i === 0 && list.length === 1) throw e;
          return { error: e.message };
        }),
      ),
    );
    return list.map((m, i) => ({ ...results[i], model: m }));
  },

  render(data, state, ctx) {
    for (const [k, r] of data.entries()) {
      if (r.error) {
        const f = figure(ctx.figures, {
          title:
            `${r.model.tokenizer === "char" ? "Characters" : "Byte-pair merges"}: cannot read this ` +
            `text (${r.model.name})`,
          caption:
            `${r.model.name}'s tokenizer (${r.model.tokenizer}, vocabulary ${r.model.vocab_size}) has ` +
            "no token for part of your text.",
          name: `tokens-${r.model.name}`,
          data: r,
        });
        f.body.append(h("p", { class: "error", role: "status" }, r.error));
        continue;
      }
      // the question asks for the first readable tokenizer's count: its tokens wait for the answer
      const asked = r === data.find((x) => !x.error);
      const f = figure(ctx.figures, {
        title: `${r.model.tokenizer === "char" ? "Characters" : "Byte-pair merges"} (${r.model.name})`,
        titleAnswer: `: ${r.ids.length} tokens`,
        answer: asked,
        caption:
          `Computed by ${r.model.name}'s tokenizer (${r.model.tokenizer}, ` +
          `vocabulary ${r.model.vocab_size}) on your text. Hover or focus a chip for its id and the ` +
          "characters it covers.",
        name: `tokens-${r.model.name}`,
        data: r,
      });
      const strip = h("div", { "data-tokens": r.model.name });
      renderTokens(strip, r.tokens, {
        titles: r.tokens.map(
          (t, i) => `id ${r.ids[i]} · chars ${r.offsets[i][0]}–${r.offsets[i][1]} · ${JSON.stringify(t)}`,
        ),
        onSelect: (i) =>
          (f.readout.textContent =
            `token ${i}: ${JSON.stringify(r.tokens[i])} → id ${r.ids[i]}, covers ` +
            `characters ${r.offsets[i][0]}..${r.offsets[i][1] - 1}`),
      });
      const ids = h(
        "p",
        { class: "mono small" },
        "ids: [",
        ...r.ids.map((id, i) => [
          i ? ", " : "",
          checked(h("span", {}, String(id)), `tokenize.${k}.ids.${i}`, id),
        ]),
        "]",
      );
      // the text's length is the answer for a character tokenizer: every figure's count waits
      const stats = h(
        "p",
        { class: "small muted", "data-answer": "" },
        `${state.text.length} characters → ${r.ids.length} ` +
          `tokens: ${(state.text.length / Math.max(1, r.ids.length)).toFixed(2)} characters per token.`,
      );
      f.body.append(strip, ids, stats);
    }
  },

  question(data, state) {
    const r = data.find((x) => !x.error);
    if (state.text.length < 2 || !r) return null;
    const n = r.ids.length;
    const choices = [
      ...new Set([
        n,
        state.text.length,
        Math.max(1, Math.round(state.text.length / 3)),
        state.text.split(/\s+/).filter(Boolean).length,
      ]),
    ];
    choices.sort((a, b) => a - b);
    return {
      prompt: `How many tokens does ${r.model.name} make of your text?`,
      choices: choices.map(String),
      answer: choices.indexOf(n),
      reveal:
        r.model.tokenizer === "char"
          ? "A character tokenizer makes exactly one token per character, so T equals the text's length."
          : "Byte-pair merges join frequent character sequences into one token, so T is smaller than " +
            "the length.",
    };
  },

  prose: (data) => {
    const charVocab = data[0].model.tokenizer === "char" ? data[0].model.vocab_size : "65 for Shakespeare";
    return (
      "A model cannot read letters; it reads integers. The tokenizer is a fixed table, learned once " +
      "from the training text, that turns text into ids. A character tokenizer has one id per " +
      `character it saw (${charVocab}); a byte-pair (BPE) tokenizer starts from bytes and merges ` +
      "the most frequent neighbouring pairs until the vocabulary is full, so common words become " +
      "single tokens.\n\n" +
      "Fewer tokens means a longer text fits the same context, but every token the model predicts " +
      "is a choice among more candidates. " +
      `Tokens shown as ${tokenLabel(" ")} and ${tokenLabel("\n")} are a space and a newline.`
    );
  },
};
