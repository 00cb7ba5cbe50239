// Every setting and panel name of the site, one name per setting on every page: what ?lock= and ?hide= (and a
// live class's locks) may name. The link builder shows these labels; a name in neither table is a typo and is
// reported; a name of another page's setting is carried along the site's links without a word.
// The README's table of names is this file's; a test checks both agree with the pages.

// Settings (controls, [data-key]): name → label.
export const SETTINGS = {
  text: "Your text (the playground's prompt)",
  model: "Model",
  backend: "Backend: PyTorch or NumPy",
  temperature: "Temperature",
  top_k: "Top-k",
  top_p: "Top-p",
  repetition_penalty: "Repetition penalty",
  max_tokens: "Tokens to generate",
  seed: "Seed",
  samples: "Samples (playground)",
  sbs: "PyTorch | NumPy side by side (playground)",
  generate: "Generate button (playground)",
  beam: "Beam search button (playground)",
  share: "Share link button (playground)",
  layer: "Layer",
  head: "Head",
  rlayer: "Layer of a token's attention row (playground)",
  rhead: "Head of a token's attention row (playground)",
  cut: "Attention lines from (attention explorer)",
  step: "Generated token shown (attention explorer)",
  token: "Token",
  query: "Query token",
  key: "Key token",
  channels: "Channels shown (embeddings)",
  positions: "Number of positions",
  dims: "Wave dimensions (positions)",
  table: "Position table (positions step)",
  prompts: "Prompts of the batch (masks)",
  row: "Batch row (masks)",
  second: "Second prompt (masks step)",
  third: "Third prompt (masks step)",
  mlp: "MLP measure (feed-forward step)",
  k: "Candidates on hover (logit lens)",
  units: "Units (LSTM step)",
  fn: "Function (twins step)",
  beams: "Beams (architectures step)",
  length_penalty: "Length penalty (architectures step)",
  number: "Number to translate (architectures step)",
  masked: "Characters to mask (architectures step)",
  enc_layer: "Encoder layer (architectures step)",
  enc_head: "Encoder head (architectures step)",
  gpt_layer: "GPT layer (architectures step)",
  gpt_head: "GPT head (architectures step)",
  x: "Loss curves: x axis",
  y: "Loss curves: y axis",
  measure: "Measure buttons (compare)",
  task: "Training task (lab)",
  arch: "Architecture (lab)",
  n_layer: "Layers (lab)",
  n_head: "Heads (lab)",
  n_embd: "Width (lab)",
  norm: "Norm placement (lab)",
  pos: "Position encoding (lab)",
  lr: "Learning rate (lab)",
  warmup: "Warm-up steps (lab)",
  steps: "Training steps (lab)",
  batch_size: "Batch size (lab)",
  change: "Run again with one change (lab)",
};

// Panels ([data-panel]): name → what hiding it hides, in plain words.
export const PANELS = {
  controls: "The input bar: text, model and the page's pickers",
  settings: "The settings bar (model, backend, seed; the lab's settings)",
  question: "The whole predict-then-reveal question",
  reveal: "Only the answer: the question and its choices stay, the verdict and explanation stay hidden",
  formula: "The formula",
  code: "The NumPy (or Python) line",
  prose: "The explanation text of a lesson step",
  sampler: "The sampler's next-token bars (playground)",
  output: "The generated text (playground)",
  attention: "The attention panel (playground)",
  compare: "The comparison panel (playground side by side; architectures and LSTM steps)",
  try: "Try it: what comes next? (home)",
  headview: "The head view (attention explorer)",
  "model-view": "The layer × head grid (attention explorer)",
  zoom: "The zoomed head (attention explorer)",
  "per-token": "Attention per generated token (attention explorer)",
  batch: "The padded batch (masks)",
  causal: "The causal mask / decoder attention",
  padding: "The padding mask (masks)",
  combined: "The combined mask (masks)",
  "cross-mask": "The cross-attention mask (masks)",
  sinusoidal: "The sinusoidal positions (positions)",
  learned: "The learned positions (positions)",
  "sinusoidal-vectors": "Sinusoidal position vectors (positions)",
  "sinusoidal-waves": "Sinusoidal waves (positions)",
  "sinusoidal-similarity": "Sinusoidal position similarity (positions)",
  "learned-vectors": "Learned position vectors (positions)",
  "learned-waves": "Learned waves (positions)",
  "learned-similarity": "Learned position similarity (positions)",
  table: "The table of served models (compare)",
  measured: "The measured speeds (compare)",
  curves: "The loss curves",
  "curve-controls": "The loss curves' axis buttons (compare)",
  run: "The run: progress, loss and samples (lab)",
  reference: "The API reference (docs)",
  fill: "Encoder-only: fill the mask (architectures step)",
  bidirectional: "Encoder attention (architectures step)",
  cross: "Cross-attention (architectures step)",
  beams: "Beam search (architectures step)",
  gates: "Gates over time (LSTM step)",
  next: "Next character (LSTM step)",
  source: "The twin sources side by side (twins step)",
  values: "The same numbers from both twins (twins step)",
  diff: "Max difference per traced tensor (twins step)",
  schedule: "The learning-rate schedule (training step)",
  cards: "Final numbers from the model cards (training step)",
};

// Old names still read (an old link keeps working), written as the new name; per page, since one old name
// ("penalty") meant two settings.
export const ALIASES = {
  "/playground": { penalty: "repetition_penalty", prompt: "text" },
  "/learn/architectures": { penalty: "length_penalty" },
  "/learn/embeddings": { dims: "channels" },
  "/learn/positions": { n: "positions" },
  "/learn/kv-cache": { n: "max_tokens" },
  "/attention": { n: "max_tokens" },
};

export const aliasesFor = (path) => {
  const page = path.replace(/\/+$/, "") || "/";
  return Object.hasOwn(ALIASES, page) ? ALIASES[page] : {};
};
const OLD = new Set(Object.values(ALIASES).flatMap((a) => Object.keys(a)));

// A name of no setting (or panel) anywhere on the site, nor an old name: a typo.
export const unknownSetting = (name) => !Object.hasOwn(SETTINGS, name) && !OLD.has(name);
export const unknownPanel = (name) => !Object.hasOwn(PANELS, name) && !OLD.has(name);
