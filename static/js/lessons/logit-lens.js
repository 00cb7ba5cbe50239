// Step 12 · Logit lens: what every block's output would predict, at every position, through the model's own
// head.
import { checked, h, pct } from "../lib/dom.js";
import { figure } from "../vis/figure.js";
import { readableTextColour, viridis } from "../vis/scales.js";
import { s, svgRoot } from "../vis/svg.js";
import { quotedToken, tokenLabel } from "../vis/tokens.js";

const short = (t) => (tokenLabel(t).length > 4 ? `${tokenLabel(t).slice(0, 3)}…` : tokenLabel(t));

// Layers × positions: each cell the block's top prediction, coloured by its probability (viridis 0..1).
// A dot marks a prediction that equals the text's actual next token. Hover, focus + arrow keys: the top-k.
function grid(el, trace, readout) {
  const lens = trace.logit_lens;
  const L = lens.length;
  const T = trace.tokens.length;
  const widest = Math.max(...lens.flat().map((e) => short(e[0].token).length), 1);
  const cw = Math.max(22, Math.min(38, 8 + 7 * widest));
  const ch = 28;
  const left = 92;
  const top = 54;
  const svg = svgRoot(
    left + T * cw + 4,
    top + L * ch + 40,
    "logit lens: top prediction per block and position",
  );
  svg.setAttribute("tabindex", "0");
  const cells = [];
  const say = (l, t) => {
    for (const c of cells.flat()) c.firstChild.classList.remove("active");
    cells[l][t].firstChild.classList.add("active");
    const e = lens[l][t];
    readout.textContent =
      `block ${l}${l === L - 1 ? " (the output)" : ""}, position ${t} ${quotedToken(trace.tokens[t])} → ` +
      e.map((x, k) => `${k + 1}. ${quotedToken(x.token)} ${pct(x.prob)}`).join(" · ");
    at = [l, t];
  };
  let at = null;
  trace.tokens.forEach((tok, t) => {
    const x = left + t * cw + cw / 2;
    svg.append(
      s("text", { x, y: top - 8, transform: `rotate(-60 ${x} ${top - 8})`, class: "mono" }, tokenLabel(tok)),
    );
  });
  for (let l = 0; l < L; l++) {
    svg.append(
      s(
        "text",
        { x: left - 6, y: top + l * ch + ch / 2 + 4, "text-anchor": "end" },
        l === L - 1 ? `block ${l} = out` : `block ${l}`,
      ),
    );
    cells.push([]);
    for (let t = 0; t < T; t++) {
      const e = lens[l][t][0];
      const fill = viridis(e.prob);
      const hit = t + 1 < T && e.id === trace.ids[t + 1];
      const g = s("g", {
        class: "lens",
        "data-l": l,
        "data-t": t,
        "data-token": e.token,
        "data-value": e.prob,
      });
      g.append(
        s("rect", { class: "cell", x: left + t * cw, y: top + l * ch, width: cw - 1, height: ch - 1, fill }),
        s(
          "text",
          {
            x: left + t * cw + cw / 2,
            y: top + l * ch + ch / 2 + 4,
            "text-anchor": "middle",
            fill: readableTextColour(fill),
            class: "mono",
            "pointer-events": "none",
          },
          short(e.token),
        ),
        s(
          "title",
          {},
          `block ${l}, position ${t}: ` +
            lens[l][t].map((x) => `${tokenLabel(x.token)} ${pct(x.prob)}`).join(", "),
        ),
      );
      if (hit)
        g.append(
          s("circle", {
            cx: left + t * cw + cw - 6,
            cy: top + l * ch + 5,
            r: 2.5,
            fill: readableTextColour(fill),
          }),
        );
      g.addEventListener("mouseenter", () => say(l, t));
      svg.append(g);
      cells[l].push(g);
    }
  }
  const ly = top + L * ch + 10;
  for (let k = 0; k < 20; k++)
    svg.append(s("rect", { x: left + k * 8, y: ly, width: 8.5, height: 10, fill: viridis(k / 19) }));
  svg.append(
    s("text", { x: left, y: ly + 24 }, "0%"),
    s("text", { x: left + 160, y: ly + 24, "text-anchor": "end" }, "100%"),
    s("circle", { cx: left + 180, cy: ly + 5, r: 3, fill: "#333" }),
    s("text", { x: left + 188, y: ly + 9 }, "= the text's actual next token"),
  );
  svg.addEventListener("focus", () => !at && say(L - 1, T - 1));
  svg.addEventListener("keydown", (e) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (!at || !moves[e.key]) return;
    e.preventDefault();
    e.stopPropagation();
    say(
      Math.max(0, Math.min(L - 1, at[0] + moves[e.key][0])),
      Math.max(0, Math.min(T - 1, at[1] + moves[e.key][1])),
    );
  });
  el.replaceChildren(svg);
}

export default {
  defaults: { k: 5 },
  code: {
    name: "GPT.forward_cached",
    highlight: ["logit_lens=", "logits = self.head(x)"],
    only: true,
    context: 0,
  },
  formula:
    String.raw`\begin{aligned}p^{(\ell)}_t &= \operatorname{softmax}\!\big(\operatorname{LN}_f(h^{(` +
    String.raw`\ell)}_t)\, W_E^{\top}\big)\\ p^{(L)}_t &= \text{the model's own prediction}` +
    String.raw`\end{aligned}`,

  controls(ctx) {
    const el = h(
      "select",
      { id: "lesson-k", "data-key": "k", "aria-label": "candidates on hover" },
      ...[3, 5, 10].map((k) => h("option", { value: k, selected: k === ctx.state().k }, `top ${k}`)),
    );
    el.addEventListener("change", () => ctx.set({ k: Number(el.value) }));
    ctx.controls.append(h("label", { for: "lesson-k" }, "On hover"), el);
  },

  async load(state, ctx) {
    const k = [3, 5, 10].includes(state.k) ? state.k : 5;
    return ctx.api.postJSON("/api/trace", { model: state.model, text: state.text, top_k: k });
  },

  render(trace, _state, ctx) {
    const L = trace.logit_lens.length;
    const T = trace.tokens.length;
    const f = figure(ctx.figures, {
      title: `Logit lens: ${L} blocks × ${T} positions`,
      answer: true,
      caption:
        `Every block's output in ${trace.model}, on your text, sent through the model's final head ` +
        "(ln_f, then the unembedding). Each cell: the most likely next token and its probability " +
        `(colour); hover or focus (arrow keys) for the top ${trace.logit_lens[0][0].length}.`,
      name: "logit-lens",
      data: { tokens: trace.tokens, logit_lens: trace.logit_lens },
    });
    grid(f.body, trace, f.readout);
    const last = trace.logit_lens[L - 1][T - 1][0];
    const model = trace.next_token[0];
    f.body.after(
      h(
        "p",
        { class: "small", "data-final": "" },
        `Block ${L - 1} at the last position predicts ${quotedToken(last.token)} `,
        checked(
          h("b", { class: "mono" }, pct(last.prob)),
          `trace.logit_lens.${L - 1}.${T - 1}.0.prob`,
          last.prob,
        ),
        `; the model's real next-token prediction is ${quotedToken(model.token)} `,
        checked(h("b", { class: "mono" }, pct(model.prob)), "trace.next_token.0.prob", model.prob),
        last.id === model.id
          ? ": the same, because the last block's output is what the model's head reads."
          : ".",
      ),
    );
  },

  question(trace) {
    const L = trace.logit_lens.length;
    const T = trace.tokens.length;
    const col = trace.logit_lens.map((row) => row[T - 1][0]);
    const final = col[L - 1];
    const first = col.findIndex((e) => e.id === final.id);
    if (L < 2) return null;
    const guesses = col.slice(0, first).map((e) => quotedToken(e.token));
    const earlier = first
      ? `; before it the top guesses were ${guesses.join(", ")}`
      : ": even the first block's output already points to it";
    const onTop = col.map((e) => (e.id === final.id ? pct(e.prob, 0) : "–"));
    return {
      prompt:
        `At the last position the model finally predicts ${quotedToken(final.token)}. ` +
        `Which is the first block whose top guess there is already ${quotedToken(final.token)}?`,
      choices: col.map((_, l) => `block ${l}`),
      answer: first,
      reveal:
        `Block ${first}${earlier}. ` +
        `Probability of ${quotedToken(final.token)} on top, block by block: ${onTop.join(" → ")}.`,
    };
  },

  prose: (trace) =>
    "Every block writes into the same residual stream, and the model reads its prediction from the " +
    "stream only at the end: final LayerNorm, then the product with the token-embedding matrix. " +
    "The logit lens applies that same reading to the stream after every block, as if the model " +
    `stopped there.\n\nEarly blocks often guess a frequent token; later blocks refine the guess ` +
    "using the context. The last row is exactly the model's output, so its last cell equals the " +
    `next-token prediction (${quotedToken(trace.next_token[0].token)}). The dots mark where a ` +
    "block's guess is the character that really comes next in your text.",
};
