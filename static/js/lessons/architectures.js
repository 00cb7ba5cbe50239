// Step 13 · Encoder, decoder, encoder-decoder: fill the mask (bidirectional), numbers → words
// (cross-attention, beams).
import { checked, fmt, h, pct } from "../lib/dom.js";
import { render as bars } from "../vis/bars.js";
import { figure } from "../vis/figure.js";
import { fitCell, render as heatmap } from "../vis/heatmap.js";

const arch = (a) => (m) => m.architecture === a;
const isNumbersGPT = (m) =>
  m.architecture === "gpt" && (m.card?.task === "numbers" || /number/i.test(m.name));
const pick = (ctx, a) => {
  const m = ctx.model();
  return m.architecture === a ? m : ctx.models.find(arch(a));
};
const causalGPT = (ctx) =>
  ctx.models.find((m) => m.name === "shakespeare-char") ||
  ctx.models.find((m) => arch("gpt")(m) && !isNumbersGPT(m));
const safe = (p) => p.catch((e) => ({ error: e.message }));
const clamp = (v, n) => Math.max(0, Math.min(n - 1, v));
// shipped: held-out test exact match
const accuracy = (c = {}) => c.accuracy?.test?.exact_match ?? c.val_accuracy;
const letters = (text) => Array.from(text).flatMap((c, i) => (/\p{L}/u.test(c) ? [i] : []));

// Which characters to hide: the URL's list, else none when the text holds █, else two letters.
function hidden(state) {
  if (state.masked)
    return state.masked
      .split(",")
      .map(Number)
      .filter((i) => Number.isInteger(i) && i >= 0 && i < Array.from(state.text).length);
  if (state.text.includes("\u2588")) return [];
  const L = letters(state.text);
  return [...new Set([L[Math.floor(L.length / 3)], L[Math.floor((2 * L.length) / 3)]])].filter(
    (i) => i !== undefined,
  );
}

function control(ctx, key, label, el) {
  el.id = `lesson-${key}`;
  el.dataset.key = key;
  el.setAttribute("aria-label", label);
  el.addEventListener("change", () =>
    ctx.set({ [key]: el.type === "text" ? el.value.trim() : Number(el.value) }),
  );
  ctx.controls.append(h("label", { for: el.id }, label), el);
}
const options = (n, name, v) =>
  Array.from({ length: n }, (_, i) => h("option", { value: i, selected: i === v }, `${name} ${i}`));

// Mark every cell of a heatmap for the tests: path prefix + i.j.
function markCells(body, prefix, M) {
  for (const r of body.querySelectorAll("rect.cell")) {
    checked(r, `${prefix}.${r.dataset.i}.${r.dataset.j}`, M[r.dataset.i][r.dataset.j]);
  }
}

export default {
  // one control per meaning: layer/head pick the cross-attention map of the encoder-decoder's decoder;
  // the masked LM's encoder and the GPT each have their own pair
  defaults: {
    masked: "",
    number: "4012",
    beams: 4,
    length_penalty: 1,
    layer: 0,
    head: 0,
    enc_layer: 0,
    enc_head: 0,
    gpt_layer: 0,
    gpt_head: 0,
  },
  accepts: (m) => m.architecture === "encoder" || m.architecture === "encoder-decoder",
  preferredModel: "numbers-to-words",
  code: {
    module: "encdec",
    name: "CrossAttention.__call__",
    highlight: ["q_attn(x)", "k.transpose", "probs @ v"],
    only: false,
  },
  formula:
    String.raw`\begin{aligned}p(x_i \mid x_{\setminus i}) &= \operatorname{softmax}\big(` +
    String.raw`\text{head}(h_i)\big),\ \ h = \text{Enc}(x)\\\text{cross} &= \operatorname{softmax}` +
    String.raw`\big(Q_{\text{dec}} K_{\text{enc}}^{\top} / ` +
    String.raw`\sqrt{d_{\text{head}}} + M_{\text{pad}}\big)\, V_{` +
    String.raw`\text{enc}}\end{aligned}`,

  controls(ctx) {
    const s = ctx.state();
    const enc = pick(ctx, "encoder");
    const ed = pick(ctx, "encoder-decoder");
    const gpt = causalGPT(ctx);
    control(
      ctx,
      "number",
      "Number",
      h("input", { type: "text", value: s.number, size: 8, maxlength: 6, inputmode: "numeric" }),
    );
    control(
      ctx,
      "beams",
      "Beams",
      h(
        "select",
        {},
        [1, 2, 3, 4, 6, 8].map((b) => h("option", { value: b, selected: b === s.beams }, String(b))),
      ),
    );
    control(
      ctx,
      "length_penalty",
      "Length penalty",
      h("input", {
        type: "number",
        min: -2,
        max: 2,
        step: 0.5,
        value: s.length_penalty,
        style: "width:4.5em",
      }),
    );
    const pair = (m, layers, prefix, what) => {
      if (!m) return;
      control(
        ctx,
        `${prefix}layer`,
        `${what} layer`,
        h("select", {}, options(layers, "layer", s[`${prefix}layer`])),
      );
      control(
        ctx,
        `${prefix}head`,
        `${what} head`,
        h("select", {}, options(m.n_head, "head", s[`${prefix}head`])),
      );
    };
    pair(ed, ed?.n_dec_layer ?? ed?.n_layer, "", "Cross-attention");
    pair(enc, enc?.n_layer, "enc_", "Encoder");
    pair(gpt, gpt?.n_layer, "gpt_", "GPT");
  },

  async load(state, ctx) {
    const enc = pick(ctx, "encoder");
    const ed = pick(ctx, "encoder-decoder");
    const gpt = causalGPT(ctx);
    const dec = ctx.models.find(isNumbersGPT);
    const layerHeadOf = (m, n, prefix = "") => ({
      layer: clamp(state[`${prefix}layer`], n ?? m.n_layer),
      head: clamp(state[`${prefix}head`], m.n_head),
    });
    const postOrError = (url, body) => safe(ctx.api.postJSON(url, body));
    const positions = hidden(state);
    const [fill, causal, tr, gen] = await Promise.all([
      enc && postOrError("/api/fill-mask", { model: enc.name, text: state.text, positions }),
      enc &&
        gpt &&
        postOrError("/api/trace", {
          model: gpt.name,
          text: state.text,
          ...layerHeadOf(gpt, undefined, "gpt_"),
        }),
      ed &&
        postOrError("/api/translate", {
          model: ed.name,
          source: state.number,
          num_beams: state.beams,
          length_penalty: state.length_penalty,
        }),
      ed &&
        dec &&
        postOrError("/api/beam", {
          model: dec.name,
          prompt: `${state.number}=`,
          num_beams: 1,
          max_new_tokens: 64,
        }),
    ]);
    return {
      enc,
      ed,
      gpt,
      dec,
      fill,
      causal,
      tr,
      gen,
      positions,
      encAt: enc && layerHeadOf(enc, undefined, "enc_"),
      edAt: ed && layerHeadOf(ed, ed.n_dec_layer),
    };
  },

  render(d, state, ctx) {
    // A request that failed: its message in the figure, and true.
    const err = (f, r) => {
      if (!r?.error) return false;
      f.body.append(h("p", { class: "error" }, r.error));
      return true;
    };
    if (d.enc) {
      const { layer: L, head: H } = d.encAt;
      const f = figure(ctx.figures, {
        title: `Encoder-only: fill the mask (${d.enc.name})`,
        caption:
          `${d.enc.name} reads your text with the chosen characters hidden (█) and scores every ` +
          "vocabulary entry at each hidden position, using the characters on both sides. " +
          "Click a character to hide or show it.",
        name: "fill-mask",
        data: d.fill,
        panel: "fill",
      });
      const chars = Array.from(state.text);
      const toggle = (i) => {
        const now = new Set(d.positions);
        if (now.has(i)) now.delete(i);
        else now.add(i);
        if (now.size) ctx.set({ masked: [...now].sort((a, b) => a - b).join(",") });
      };
      f.body.append(
        h(
          "div",
          { class: "tokens", role: "group", "aria-label": "characters to hide" },
          chars.map((c, i) =>
            h(
              "button",
              {
                type: "button",
                class: `tok${d.positions.includes(i) ? " selected" : ""}`,
                style: "color:inherit;font:inherit;cursor:pointer",
                "data-pos": i,
                "data-key": "masked",
                "aria-pressed": String(d.positions.includes(i)),
                "aria-label": `character ${i} ${JSON.stringify(c)}`,
                onclick: () => toggle(i),
              },
              d.positions.includes(i) ? "█" : c === " " ? "·" : c,
            ),
          ),
        ),
      );
      if (!err(f, d.fill)) {
        const cols = h("div", {
          class: "grid",
          style: "grid-template-columns:repeat(auto-fill,minmax(200px,1fr))",
        });
        d.fill.masked.forEach((m, k) => {
          const box = h("div", { "data-masked": m.position });
          const o = m.original;
          box.append(
            h(
              "h4",
              { style: "margin:4px 0;font-size:.9rem" },
              `position ${m.position}`,
              o ? ` (was “${o.token}”: ` : "",
              o ? checked(h("b", {}, pct(o.prob)), `fill.masked.${k}.original.prob`, o.prob) : "",
              o ? ")" : "",
            ),
          );
          const g = bars(
            h("div"),
            m.candidates.map((c) => ({ token: c.token, prob: c.prob })),
            { label: `candidates at position ${m.position}` },
          );
          for (const [j, p] of g.querySelectorAll(".p").entries()) {
            checked(p, `fill.masked.${k}.candidates.${j}.prob`, m.candidates[j].prob);
          }
          box.append(g);
          cols.append(box);
        });
        f.body.append(
          cols,
          h("p", { class: "mono small" }, "most likely: ", h("span", { "data-filled": "" }, d.fill.filled)),
        );

        const pair = h("div", { class: "grid cols-2" });
        ctx.figures.append(pair);
        const A = d.fill.attention[L][H];
        const T = A.length;
        const e = figure(pair, {
          title: `Encoder attention, layer ${L} head ${H}`,
          caption:
            `${d.enc.name} on your masked text: every query (row) may look at every key (column), ` +
            "before and after it. No cell is masked.",
          name: `encoder-attention-L${L}H${H}`,
          data: A,
          panel: "bidirectional",
        });
        heatmap(
          e.body,
          { matrix: A, rows: d.fill.tokens, cols: d.fill.tokens },
          {
            min: 0,
            max: 1,
            cell: fitCell(e.body, T),
            readout: e.readout,
            label: "encoder attention",
            rowTitle: "query",
            colTitle: "key",
          },
        );
        e.body.append(
          h(
            "p",
            { class: "small" },
            "first token → last token: ",
            checked(
              h("b", { class: "mono" }, fmt(A[0][T - 1])),
              `fill.attention.${L}.${H}.0.${T - 1}`,
              A[0][T - 1],
            ),
          ),
        );
        const g = figure(pair, {
          title: `Decoder (GPT) attention, layer ${d.causal?.layer ?? 0} head ${d.causal?.head ?? 0}`,
          caption:
            `${d.gpt?.name || "no GPT served"} on your text: a query sees only itself and the keys ` +
            "before it; the hatched upper triangle is the causal mask.",
          name: "causal-attention",
          data: d.causal,
          panel: "causal",
        });
        if (!d.gpt) g.body.append(h("p", { class: "muted" }, "No GPT is served to compare with."));
        else if (!err(g, d.causal))
          heatmap(
            g.body,
            {
              matrix: d.causal.attention[d.causal.layer][d.causal.head],
              rows: d.causal.tokens,
              cols: d.causal.tokens,
            },
            {
              mask: d.causal.mask,
              min: 0,
              max: 1,
              cell: fitCell(g.body, d.causal.tokens.length),
              readout: g.readout,
              label: "causal attention",
              rowTitle: "query",
              colTitle: "key",
            },
          );
      }
    }
    if (!d.ed) return;
    const { layer: L, head: H } = d.edAt;
    const tr = d.tr;
    const c = figure(ctx.figures, {
      title: `Encoder-decoder: ${state.number} → words, cross-attention layer ${L} head ${H}`,
      caption:
        `${d.ed.name}: the encoder reads the digits once; each word the decoder writes (greedy, row) ` +
        `attends to the source digits (column). Decoder layer ${L}, head ${H}; rows sum to 1.`,
      name: `cross-attention-L${L}H${H}`,
      data: tr,
      panel: "cross",
      answer: true,
    });
    if (err(c, tr)) return;
    const M = tr.cross_attention[L][H];
    heatmap(
      c.body,
      { matrix: M, rows: tr.greedy.tokens, cols: tr.source_tokens },
      {
        min: 0,
        max: 1,
        values: true,
        readout: c.readout,
        label: "cross-attention",
        rowTitle: "word",
        colTitle: "digit",
      },
    );
    markCells(c.body, `tr.cross_attention.${L}.${H}`, M);
    const ok =
      tr.reference === null
        ? ""
        : tr.greedy.text === tr.reference
          ? " ✓ right"
          : ` ✗ (right: ${tr.reference})`;
    c.body.append(h("p", {}, "greedy: ", h("b", { "data-greedy": "" }, tr.greedy.text || "(nothing)"), ok));

    const b = figure(ctx.figures, {
      title:
        `Beam search: ${state.beams} beam${state.beams > 1 ? "s" : ""}, ` +
        `length penalty ${state.length_penalty}`,
      caption:
        `${d.ed.name} on ${state.number}: the live beams after every step, best first, with score = Σ ` +
        `log p / length^${state.length_penalty}; ✓ = finished (wrote </s>).`,
      name: "beam-steps",
      data: tr.steps,
      panel: "beams",
    });
    const cell = (x, path) =>
      h(
        "td",
        { class: x.finished ? "" : "muted" },
        x.text || "·",
        " ",
        checked(h("span", { class: "mono small" }, fmt(x.score, 2)), path, x.score),
        x.finished ? " ✓" : "",
      );
    b.body.append(
      h(
        "table",
        { class: "data" },
        h("tr", {}, h("th", {}, "step"), h("th", { colspan: state.beams }, "beams (score), best first")),
        tr.steps.map((s, i) =>
          h(
            "tr",
            {},
            h("th", {}, String(s.step)),
            s.beams.map((x, k) => cell(x, `tr.steps.${i}.beams.${k}.score`)),
          ),
        ),
      ),
    );
    b.body.append(
      h(
        "p",
        {},
        "best: ",
        h("b", {}, tr.best.text),
        " ",
        checked(h("span", { class: "mono" }, fmt(tr.best.score, 3)), "tr.best.score", tr.best.score),
      ),
    );

    const t = figure(ctx.figures, {
      title: "The same task, two architectures",
      name: "numbers-compare",
      panel: "compare",
      caption:
        "Parameters and held-out exact match (greedy, numbers never trained on) from each model's " +
        `card; the output is computed now for ${state.number}.`,
    });
    const answer = d.gen?.best ? d.gen.best.text.split("\n")[0] : d.gen?.error || "";
    const row = (m, out) =>
      h(
        "tr",
        { "data-model": m.name },
        h("td", {}, m.name),
        h("td", {}, m.architecture),
        h("td", { class: "num" }, m.parameters.toLocaleString("en")),
        h("td", { class: "num" }, accuracy(m.card) === undefined ? "—" : pct(accuracy(m.card))),
        h("td", { style: "word-break:break-all" }, out),
      );
    t.body.append(
      h(
        "table",
        { class: "data" },
        h(
          "tr",
          {},
          ["model", "architecture", "parameters", "exact match", "output"].map((x) => h("th", {}, x)),
        ),
        row(d.ed, tr.greedy.text),
        d.dec
          ? row(d.dec, answer)
          : h(
              "tr",
              {},
              h("td", { colspan: 5, class: "muted" }, "No decoder-only model on this task is served."),
            ),
      ),
    );
  },

  question(d) {
    const tr = d.tr;
    if (!tr || tr.error || !tr.greedy.tokens.length || tr.source_tokens.length < 2) return null;
    const row = tr.cross_attention[d.edAt.layer][d.edAt.head][0];
    const best = row.indexOf(Math.max(...row));
    return {
      prompt:
        `Which source digit does the first word, “${tr.greedy.tokens[0]}”, attend to most ` +
        `(layer ${d.edAt.layer}, head ${d.edAt.head})?`,
      choices: tr.source_tokens.map((x, i) => `digit ${i + 1} (“${x}”)`),
      answer: best,
      reveal:
        `Digit ${best + 1}, with weight ${fmt(row[best])}. A trained model looks at the digit that ` +
        "decides the word: “thousand” at the thousands, “forty” at the tens.",
    };
  },

  prose: () =>
    "A GPT is a decoder: each token sees only the tokens before it, so it can write text one token " +
    "at a time. An encoder drops the causal mask: every token sees the whole input, before and after " +
    "it. It cannot generate left to right, but it can fill a gap from both sides, which is how " +
    "BERT-style models are trained.\n\nAn encoder-decoder does both: the encoder reads the source " +
    "once, and each decoder block adds cross-attention, whose queries come from the words written so " +
    "far and whose keys and values come from the encoder's output. The heatmap shows which digits " +
    "each word reads. Beam search keeps several partial answers and extends the best; " +
    "with one beam it is greedy. A decoder-only GPT can learn the same task as one line of text, " +
    "“4012=four thousand twelve”.",
};
