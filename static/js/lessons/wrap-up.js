// Step · Wrap-up: the whole path from text to the next token in a few sentences, each linking to its step and
// stating the served model's own numbers on the reader's text, then where to go next.
import { checked, h, pct } from "../lib/dom.js";
import { figure } from "../vis/figure.js";
import { quotedToken } from "../vis/tokens.js";

const READING = [
  ["Attention Is All You Need (Vaswani et al., 2017)", "https://arxiv.org/abs/1706.03762"],
  ["The Annotated Transformer (Harvard NLP)", "https://nlp.seas.harvard.edu/annotated-transformer/"],
  ["nanoGPT (Andrej Karpathy)", "https://github.com/karpathy/nanoGPT"],
];

const EXPLORERS = [
  ["/playground", "Playground", "generate text with every sampler setting, attention beside each token"],
  ["/train", "Training lab", "train a small model yourself and watch its loss fall"],
  ["/attention", "Attention explorer", "every layer and head at once, for each generated token"],
  ["/masks", "Masks", "causal, padding and cross-attention masks from a real batch"],
  ["/positions", "Positions", "sinusoidal against learned position tables"],
  ["/compare", "Compare", "the architectures and the two backends side by side"],
];

export default {
  defaults: {},
  code: {
    name: "GPT.forward_cached",
    highlight: ["self.embed(ids", "x = tok_emb + pos_emb", "block(x, mask", "logits = self.head(x)"],
  },
  formula: ({ model: m }) =>
    String.raw`\begin{aligned} x &= \text{wte}[\,\text{ids}\,] + ` +
    (m.pos === "learned" ? String.raw`\text{wpe}[\,0..T{-}1\,]` : String.raw`\operatorname{PE}(0..T{-}1)`) +
    String.raw` \\ ` +
    (m.norm === "post"
      ? String.raw`x &\leftarrow \operatorname{ln_1}(x + \operatorname{attn}(x)),\quad x \leftarrow ` +
        String.raw`\operatorname{ln_2}(x + \operatorname{mlp}(x))`
      : String.raw`x &\leftarrow x + \operatorname{attn}(\operatorname{ln_1}(x)),\quad x \leftarrow x + ` +
        String.raw`\operatorname{mlp}(\operatorname{ln_2}(x))`) +
    String.raw` \quad (\times ${m.n_layer}) \\ p &= \operatorname{softmax}\big(\text{logits}(x_{T-1}) / ` +
    String.raw`\tau\big) \in \mathbb{R}^{${m.vocab_size}} \end{aligned}`,

  async load(state, ctx) {
    const body = { model: state.model, text: state.text, layer: 0, head: 0 };
    return { trace: await ctx.api.postJSON("/api/trace", body), model: ctx.model() };
  },

  render({ trace, model: m }, state, ctx) {
    const T = trace.tokens.length;
    const steps = new Set(ctx.page.lessons.map((l) => l.slug));
    const keep = new URLSearchParams({ text: state.text, model: state.model }).toString();
    const step = (slug, text) =>
      steps.has(slug)
        ? h("a", { href: `/learn/${slug}?${keep}`, "data-print-href": `/learn/${slug}` }, text)
        : text;
    const top = trace.next_token[0];
    const hs = m.n_embd / m.n_head;
    const num = (path, value, text) => checked(h("b", { class: "mono" }, text), path, value);
    const preLN = m.norm !== "post";

    const f = figure(ctx.figures, {
      title: `The whole path, on your text, in ${m.name}`,
      caption:
        `Every number above is read from ${m.name}'s card and from one forward pass over your text ` +
        "(the same trace the steps draw). Each link opens that step with your text and model.",
      name: "wrap-up",
      data: {
        model: m.name,
        parameters: m.parameters,
        tokens: trace.tokens,
        next_token: trace.next_token.slice(0, 5),
      },
    });
    const items = [
      [
        step("tokenization", "Tokenization"),
        `: your text became ${T} tokens (a ${m.tokenizer} tokenizer), each an integer id out of a ` +
          `vocabulary of ${m.vocab_size}.`,
      ],
      [
        step("embeddings", "Embeddings"),
        ` and `,
        step("positions", "positions"),
        `: each id picks a row of the token embedding table (wte), ${m.n_embd} numbers (C), and ` +
          (m.pos === "learned"
            ? "a row of the position table (wpe) is added"
            : "a fixed sinusoid of its position is added") +
          ": the start of the residual stream.",
      ],
      [
        step("qkv", "Queries, keys and values"),
        `, `,
        step("scores", "scores"),
        `, `,
        step("masks", "masks"),
        ` and `,
        step("softmax", "softmax"),
        `: in each of ${m.n_layer} blocks, c_attn makes q, k and v for ${m.n_head} heads of d_head = ` +
          `${hs}; q·k / √d_head scores every visible key, the causal mask removes later ones, and ` +
          "softmax turns each row into weights that sum to one.",
      ],
      [
        step("attention-output", "Weights × values"),
        ` and `,
        step("multi-head", "multi-head attention"),
        `: each head's output is Σ_j w_ij v_j; the ${m.n_head} heads are concatenated ` +
          `(${m.n_head} × ${hs} = ${m.n_embd}), projected by c_proj and added to the residual stream` +
          (preLN ? ": x + attn(ln_1(x))." : ", then normalised: ln_1(x + attn(x))."),
      ],
      [
        step("feed-forward", "Feed-forward and layer norm"),
        ": the MLP (c_fc, c_proj) then works on each token alone and adds its result too; layer norm " +
          "(ln_1, ln_2, ln_f) keeps the numbers in range.",
      ],
      [
        step("logit-lens", "Logit lens"),
        ` and `,
        step("sampling", "sampling"),
        `: the last position's vector becomes ${m.vocab_size} logits; for your text the most likely ` +
          `next token is ${quotedToken(top.token)} at `,
        num("trace.next_token.0.prob", top.prob, pct(top.prob, 1)),
        ". Temperature, top-k and top-p decide which token is actually drawn.",
      ],
      [
        step("kv-cache", "The KV cache"),
        ": to generate more, the keys and values of past tokens are kept, so each new token costs one " +
          "more row instead of a whole new pass.",
      ],
      [
        `All of this is ${m.name}: `,
        num("model.parameters", m.parameters, m.parameters.toLocaleString("en")),
        ` learned numbers (parameters) in ${m.n_layer} blocks of ${m.n_head} heads, a context of ` +
          `${m.context} tokens.`,
      ],
    ];
    f.body.style.maxHeight = "none"; // prose, not a figure to scroll through
    f.body.append(h("ol", { class: "stack wrap-up" }, ...items.map((parts) => h("li", {}, ...parts))));

    const next = h(
      "section",
      { class: "card", "aria-labelledby": "where-next" },
      h("h2", { id: "where-next" }, "Where next"),
      h(
        "ul",
        {},
        ...EXPLORERS.map(([href, name, what]) =>
          h(
            "li",
            {},
            h("a", { href: href === "/playground" ? `${href}?${keep}` : href }, name),
            `: ${what}.`,
          ),
        ),
      ),
      h("h3", {}, "Further reading"),
      h("ul", {}, ...READING.map(([title, href]) => h("li", {}, h("a", { href, rel: "noopener" }, title)))),
    );
    ctx.figures.append(next);
  },

  question: () => null,

  prose: ({ trace }) =>
    `A transformer turns your ${trace.tokens.length} tokens into one probability for every possible ` +
    "next token. Nothing in it is more than table lookups, matrix multiplies, softmax, layer norm and " +
    "additions to one running sum per token, the residual stream: the steps before this one showed " +
    "each of them with the served model's own numbers.\n\nThe same pieces, larger, make every GPT: " +
    "more layers, more heads, wider vectors and far more training text. Change your text or the model " +
    "above and every number here follows.",
};
