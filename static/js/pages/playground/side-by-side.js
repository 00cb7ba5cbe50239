// Side by side: the same request on PyTorch, then on NumPy, and the traces' largest differences.
import { postJSON, streamEvents } from "../../lib/api.js";
import { checked, fmt, h } from "../../lib/dom.js";
import { figure } from "../../vis/figure.js";
import { addToken, chip, outFig, request, speed } from "./output.js";
import { $, promptError, session, startRun, state, stop } from "./state.js";

const cmpFig = figure($("compare-box"), { title: "PyTorch | NumPy side by side", name: "backends" });
cmpFig.root.hidden = !state.sbs;
outFig.root.hidden = state.sbs;
cmpFig.body.append(
  h(
    "p",
    { class: "muted small" },
    "Press Generate: the same prompt, seed and settings run on both backends, one after the other.",
  ),
);

async function sideBySide() {
  const controller = startRun();
  const texts = {};
  const cols = h("div", { class: "grid cols-2" });
  const verdict = h("div", { class: "stack" });
  cmpFig.body.replaceChildren(cols, verdict);
  cmpFig.setCaption(
    `${state.model}, seed ${state.seed}, temperature ${state.temperature}, ` +
      `top-k ${state.top_k || "off"}, top-p ${state.top_p}: sampling is done once, in NumPy, from each ` +
      "backend's logits, so equal seeds give equal text when the logits agree.",
  );
  try {
    for (const b of ["torch", "numpy"]) {
      const out = h("div", { class: "text-stream" });
      const stats = h("p", { class: "mono small" });
      cols.append(
        h("section", { "data-backend": b }, h("h4", {}, b === "torch" ? "PyTorch" : "NumPy"), out, stats),
      );
      const ms = [];
      let windowStart = 0;
      texts[b] = "";
      await streamEvents("/api/generate", request(b, false), {
        signal: controller.signal,
        onEvent: (name, d) => {
          if (name === "start") out.append(...d.prompt_tokens.map((t) => chip(t, "prompt")));
          else if (name === "token") {
            ms.push(d.ms);
            texts[b] += d.text;
            addToken(out, d, d.index, false, windowStart);
            windowStart = d.window_start;
            stats.textContent = speed(ms);
          } else if (name === "done") stats.textContent = speed(ms, d);
          else if (name === "error") stats.textContent = d.message;
        },
      });
    }
    const diff = await postJSON(
      "/api/compare-backends",
      { model: state.model, text: state.text },
      { signal: controller.signal },
    );
    cmpFig.setData({ texts, compare: diff });
    const same = texts.torch === texts.numpy;
    verdict.append(
      h(
        "p",
        { class: same ? "ok" : "error", id: "same-text" },
        same ? "The two generated texts are identical." : "The generated texts differ.",
      ),
      h(
        "p",
        { class: "small" },
        `One traced forward of the ${diff.tokens}-token prompt: `,
        diff.timings
          .map((t) => `${t.backend === "torch" ? "PyTorch" : "NumPy"} ${fmt(t.ms, 1)} ms`)
          .join(" · "),
      ),
      h(
        "table",
        { class: "data" },
        h(
          "thead",
          {},
          h("tr", {}, h("th", {}, "trace tensor"), h("th", { class: "num" }, "max |NumPy − PyTorch|")),
        ),
        h(
          "tbody",
          {},
          Object.entries(diff.max_abs_diff).map(([k, v]) =>
            h(
              "tr",
              {},
              h("td", { class: "mono" }, k),
              h(
                "td",
                { class: "num" },
                checked(h("span", { title: String(v) }, v.toExponential(2)), `compare.max_abs_diff.${k}`, v),
              ),
            ),
          ),
        ),
      ),
    );
  } catch (e) {
    promptError(e);
  } finally {
    if (session.run === controller) stop();
  }
}

export { cmpFig, sideBySide };
