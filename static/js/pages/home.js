// Home: a live next-token guess on the reader's text, and one card per served model.
import { latestOnly, postJSON } from "../lib/api.js";
import { debounce, fmt, h } from "../lib/dom.js";
import { cardValidationLoss } from "../lib/metrics.js";
import { pageData, readState, writeState } from "../lib/state.js";
import { render as renderBars } from "../vis/bars.js";

const { models } = pageData();
const generative = models.filter((m) => m.architecture === "gpt" || m.architecture === "lstm");

function shape(m) {
  if (m.architecture === "lstm") return `LSTM · ${m.n_layer} layers × ${m.n_hidden} units`;
  const heads = m.n_head ? ` × ${m.n_head} heads` : "";
  return `${m.architecture} · ${m.n_layer} layers${heads} × ${m.n_embd}`;
}

function card(m) {
  const c = m.card || {};
  const v = c.validation || {};
  const rows = [
    ["architecture", shape(m)],
    ["parameters", m.parameters.toLocaleString()],
    ["tokenizer", `${m.tokenizer}, ${m.vocab_size} tokens`],
    ["context", `${m.context} tokens`],
  ];
  if (m.norm) rows.push(["variant", `${m.norm}-LN · ${m.pos} positions · ${m.activation}`]);
  const loss = cardValidationLoss(c);
  if (loss !== undefined) rows.push(["validation loss", `${fmt(loss, 4)} nats/token`]);
  const bpc = v.bits_per_char ?? c.val_bpc;
  if (bpc !== undefined) rows.push(["bits per character", fmt(bpc, 3)]);
  const acc = c.accuracy?.test;
  if (acc?.exact_match !== undefined) {
    const of = acc.numbers ? ` of ${acc.numbers.toLocaleString()} numbers` : "";
    rows.push(["held-out accuracy", `${(100 * acc.exact_match).toFixed(2)}%${of}`]);
  }
  if (c.task && c.task !== "lm")
    rows.push(["task", c.task === "numbers" ? "digits → English words" : c.task]);
  const canGenerate = m.architecture === "gpt" || m.architecture === "lstm";
  return h(
    "article",
    { class: "card", "data-model": m.name },
    h("h3", {}, m.name),
    c.data?.text
      ? h(
          "p",
          { class: "muted small" },
          `trained on ${c.data.text}, ${(c.steps || 0).toLocaleString()} steps`,
        )
      : null,
    h(
      "table",
      { class: "data" },
      h(
        "tbody",
        {},
        rows.map(([k, val]) => h("tr", {}, h("th", {}, k), h("td", {}, val))),
      ),
    ),
    h(
      "p",
      { class: "row small" },
      canGenerate
        ? h("a", { href: `/playground?model=${encodeURIComponent(m.name)}` }, "generate with it")
        : null,
      h("a", { href: `/learn?model=${encodeURIComponent(m.name)}` }, "learn with it"),
    ),
  );
}

document.getElementById("model-cards").append(...models.map(card));

async function tryIt() {
  const input = document.getElementById("try-text");
  if (!input || !generative.length) return;
  const select = document.getElementById("try-model");
  const defaults = { text: input.value, model: generative[0].name };
  const state = readState(defaults);
  for (const m of generative)
    select.append(h("option", { value: m.name, selected: m.name === state.model }, m.name));
  input.value = state.text;
  const box = document.getElementById("try-next");
  const error = document.getElementById("try-error");
  const ask = latestOnly((body, signal) => postJSON("/api/sampler", body, { signal }));
  const update = async () => {
    const text = input.value;
    writeState({ text, model: select.value }, defaults);
    document.getElementById("try-learn").href =
      `/learn/tokenization?${new URLSearchParams({ text, model: select.value })}`;
    if (!text) return;
    try {
      const r = await ask({ model: select.value, prompt: text, temperature: 1, n: 8 });
      if (!r) return;
      error.hidden = true;
      const raw = r.stages[0];
      renderBars(
        box,
        r.tokens.map((t, i) => ({ token: t, prob: raw.probs[i] })),
        { label: "most likely next tokens" },
      );
      document.getElementById("try-caption").textContent =
        `${r.model} (NumPy) reads your ${text.length} characters and gives every one of ` +
        `its ${raw.kept} tokens a probability; these are the ${r.tokens.length} most likely next ` +
        `ones. Entropy ${raw.entropy_bits.toFixed(2)} bits.`;
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  };
  input.addEventListener("input", debounce(update, 250));
  select.addEventListener("change", update);
  await update();
}

tryIt().finally(() => (document.body.dataset.ready = "1"));
