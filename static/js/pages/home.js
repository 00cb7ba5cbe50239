// Home: one card per served model, from its card.json.
import { fmt, h } from "../lib/dom.js";
import { pageData } from "../lib/state.js";

const { models } = pageData();
const box = document.getElementById("model-cards");
for (const m of models) {
  const c = m.card || {};
  const v = c.validation || {};
  const rows = [
    ["architecture", `${m.architecture} · ${m.n_layer} layers × ${m.n_head} heads × ${m.n_embd}`],
    ["parameters", m.parameters.toLocaleString()],
    ["tokenizer", `${m.tokenizer}, ${m.vocab_size} tokens`],
    ["context", `${m.context} tokens`],
    ["variant", `${m.norm}-LN · ${m.pos} positions · ${m.activation}`],
  ];
  const loss = v.loss ?? c.val_loss;
  if (loss !== undefined) rows.push(["validation loss", `${fmt(loss, 4)} nats/token`]);
  const bpc = v.bits_per_char ?? c.val_bpc;
  if (bpc !== undefined) rows.push(["bits per character", fmt(bpc, 3)]);
  box.append(
    h(
      "article",
      { class: "card", "data-model": m.name },
      h("h3", {}, m.name),
      c.data?.text ? h("p", { class: "muted small" }, `trained on ${c.data.text}, ${(c.steps || 0).toLocaleString()} steps`) : null,
      h("table", { class: "data" }, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))))),
      h("p", { class: "row small" },
        h("a", { href: `/playground?model=${encodeURIComponent(m.name)}` }, "generate with it"),
        h("a", { href: `/learn?model=${encodeURIComponent(m.name)}` }, "learn with it")),
    ),
  );
}
document.body.dataset.ready = "1";
