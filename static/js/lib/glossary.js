// One glossary for every page: one name per thing (plain name first, the code name beside it), the step that
// teaches it, and a one-line definition. A lesson's prose, captions and question pass their text through
// withTerms(): a term used before the step that teaches it becomes an inline definition, shown on hover and
// on keyboard focus (a button described by its tooltip): words come in order.
import { h } from "./dom.js";

// key: {name, taught (the step's slug), definition, match (how it is written in the pages' text)}
export const GLOSSARY = {
  wte: {
    name: "token embedding table (wte)",
    taught: "embeddings",
    definition: "The learned table with one row of numbers per vocabulary entry; token id t reads row t.",
    match: /\bwte\b|\btoken embedding table\b/,
  },
  wpe: {
    name: "position table (wpe)",
    taught: "positions",
    definition: "The learned table with one row per position; row p is added to the token at position p.",
    match: /\bwpe\b|\bposition table\b/,
  },
  residual: {
    name: "residual stream",
    taught: "feed-forward",
    definition:
      "The running vector of each token: the embeddings, to which every block adds its attention and MLP " +
      "output.",
    match: /\bresidual stream\b/,
  },
  layernorm: {
    name: "layer norm (ln_1, ln_2, ln_f)",
    taught: "feed-forward",
    definition:
      "Rescales a vector to mean 0 and variance 1, then by a learned gain and shift; ln_1 sits before " +
      "attention, ln_2 before the MLP, ln_f before the output head.",
    match: /\bln_[12f]\b|\bLayerNorm\b|\blayer norm\b/,
  },
  c_attn: {
    name: "c_attn (Q, K, V projection)",
    taught: "qkv",
    definition: "The one matrix that maps each token's vector to its query, key and value, for every head.",
    match: /\bc_attn\b/,
  },
  c_proj: {
    name: "c_proj (output projection)",
    taught: "attention-output",
    definition:
      "The matrix that maps the heads' outputs, side by side, back to the width of the residual stream.",
    match: /\bc_proj\b|\bW_O\b/,
  },
  mlp: {
    name: "MLP (c_fc, c_proj)",
    taught: "feed-forward",
    definition:
      "The feed-forward part of a block: widen each token's vector (c_fc), apply GELU, narrow it back " +
      "(c_proj).",
    match: /\bMLP\b|\bc_fc\b/,
  },
  d_head: {
    name: "head size d_head",
    taught: "qkv",
    definition: "How many numbers each head's query, key and value have; scores are divided by √d_head.",
    match: /\bd_head\b/,
  },
  softmax: {
    name: "softmax",
    taught: "softmax",
    definition: "exp of each score divided by the sum of the exps: positive weights that add up to 1.",
    match: /\bsoftmax\b/,
  },
  causal: {
    name: "causal mask",
    taught: "masks",
    definition: "Hides every later token from a query, so a token sees only itself and the tokens before it.",
    match: /\bcausal mask\b/,
  },
  logits: {
    name: "logits",
    taught: "sampling",
    definition: "The model's raw score for every vocabulary entry; softmax turns them into probabilities.",
    match: /\blogits?\b/,
  },
  perplexity: {
    name: "perplexity",
    taught: "training",
    definition:
      "e to the power of the loss: roughly how many equally likely next tokens the model is choosing among.",
    match: /\bperplexity\b/,
  },
};

let here = { slug: null, order: [] };

// The step whose text is being written and the steps in teaching order (the lesson shell calls this once).
export function setStep(slug, order) {
  here = { slug, order };
}

// Does `key` need its definition on the current step (used before the step that teaches it)?
export function early(key, step = here) {
  const at = step.order.indexOf(step.slug);
  const taught = step.order.indexOf(GLOSSARY[key].taught);
  return at >= 0 && (taught < 0 || at < taught);
}

let tips = 0;
// A term with its definition on hover and focus.
export function term(key, text = GLOSSARY[key].name) {
  const id = `term-${++tips}`;
  const g = GLOSSARY[key];
  return h(
    "span",
    { class: "term", "data-term": key },
    h("button", { type: "button", class: "term-word", "aria-describedby": id }, text),
    h("span", { role: "tooltip", id, class: "term-tip" }, `${g.name}: ${g.definition}`),
  );
}

// A string → nodes: each glossary term used before its teaching step becomes term(); the rest stays text.
export function withTerms(text) {
  const keys = Object.keys(GLOSSARY).filter((k) => early(k));
  if (!keys.length || !text) return [text];
  const any = new RegExp(keys.map((k) => GLOSSARY[k].match.source).join("|"), "g");
  const out = [];
  let last = 0;
  for (const m of String(text).matchAll(any)) {
    const key = keys.find((k) => new RegExp(`^(?:${GLOSSARY[k].match.source})$`).test(m[0]));
    out.push(text.slice(last, m.index), term(key, m[0]));
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out.filter((x) => x !== "");
}
