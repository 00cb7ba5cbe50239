// /positions: sinusoidal vs learned position vectors side by side — heatmap, waves, cosine similarity.
import { getJSON } from "../lib/api.js";
import { checked, debounce, fmt, h, modelSelect } from "../lib/dom.js";
import { applyTeacherPresets, pageData, readState, writeState } from "../lib/state.js";
import { figure } from "../vis/figure.js";
import { render as heatmap } from "../vis/heatmap.js";
import { render as lines } from "../vis/linechart.js";

const { models } = pageData();
const gpts = models.filter((m) => m.architecture === "gpt");
const learnedModels = gpts.filter((m) => m.pos === "learned");
const controls = document.getElementById("positions-controls");
const figures = document.getElementById("positions-figures");
const errorBox = document.getElementById("positions-error");
const preferred = gpts.find((m) => m.name === "shakespeare-char") || gpts[0];
const defaults = { model: preferred?.name || "", positions: 64, dims: "0,10,20,40" };
let state = readState(defaults);
if (!gpts.some((m) => m.name === state.model)) state.model = defaults.model;
const model = () => gpts.find((m) => m.name === state.model);
const set = (patch) => {
  state = { ...state, ...patch };
  writeState(state, defaults);
  refresh();
};

const select = modelSelect(gpts, state.model, () => true, {
  id: "pos-model",
  "data-key": "model",
  "aria-label": "model",
});
const slider = h("input", {
  type: "range",
  id: "pos-n",
  min: 2,
  max: model()?.context || 128,
  value: state.positions,
  step: 1,
  "data-key": "positions",
  "aria-label": "number of positions",
});
const out = h("output", { for: "pos-n" }, String(state.positions));
const dims = h("input", {
  type: "text",
  id: "pos-dims",
  value: state.dims,
  size: 14,
  "data-key": "dims",
  "aria-label": "dimensions drawn as waves, comma separated",
});
select.addEventListener("change", () => {
  slider.max = gpts.find((x) => x.name === select.value)?.context || 128;
  set({ model: select.value, positions: Math.min(state.positions, Number(slider.max)) });
});
slider.addEventListener("input", () => (out.textContent = slider.value));
slider.addEventListener("change", () => set({ positions: Number(slider.value) }));
dims.addEventListener(
  "input",
  debounce(() => set({ dims: dims.value }), 400),
);
controls.append(
  h("label", { for: "pos-model" }, "Model"),
  select,
  h("span", { class: "slider-inline" }, h("label", { for: "pos-n" }, "Positions"), slider, out),
  h("label", { for: "pos-dims" }, "Wave dimensions"),
  dims,
);
applyTeacherPresets();

let generation = 0;
async function refresh() {
  const mine = ++generation;
  try {
    const m = model();
    if (!m) throw new Error("No GPT model is served.");
    const n = Math.max(2, Math.min(state.positions, m.context));
    const own = m.pos === "learned" ? m : learnedModels[0];
    const q = (kind, name) => `/api/positional?kind=${kind}&model=${encodeURIComponent(name)}&positions=${n}`;
    const [sin, learned] = await Promise.all([
      getJSON(q("sinusoidal", m.name)),
      own ? getJSON(q("learned", own.name)) : null,
    ]);
    if (mine !== generation) return;
    errorBox.hidden = true;
    draw({ sinusoidal: sin, learned }, m, own, n);
  } catch (e) {
    if (mine !== generation) return;
    errorBox.textContent = e.message || String(e);
    errorBox.hidden = false;
  }
  document.body.dataset.ready = String(mine);
}

// Dense heatmaps: cells without gaps, and about every `want`-th label kept (on the heatmap's own label grid).
function dense(el, cell, want) {
  const every = Math.ceil(10 / cell);
  const step = every * Math.max(1, Math.round(want / every));
  el.querySelectorAll("rect.cell").forEach((r) => {
    const w = Number(r.getAttribute("width")) + 1;
    r.setAttribute("width", w);
    r.setAttribute("height", w);
  });
  for (const t of el.querySelectorAll("svg > g.mono text")) if (Number(t.textContent) % step) t.remove();
}

function draw(data, m, own, n) {
  figures.replaceChildren();
  const C = m.n_embd;
  const kinds = [
    { key: "sinusoidal", d: data.sinusoidal, who: `fixed sinusoids at ${m.name}'s width (${C} dims)` },
    {
      key: "learned",
      d: data.learned,
      who: own ? `${own.name}'s learned table (transformer.wpe, ${own.n_embd} dims)` : null,
    },
  ];
  const pos = [...Array(n).keys()].map(String);
  const wanted = [
    ...new Set(
      state.dims
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(Number),
    ),
  ].filter((d) => Number.isInteger(d) && d >= 0);
  const pairs = ["vectors", "waves", "similarity"].map(() =>
    figures.appendChild(h("div", { class: "grid cols-2" })),
  );
  for (const { key, d, who } of kinds) {
    if (!d) {
      const note = h(
        "section",
        { class: "card", "data-panel": key },
        h("h3", {}, "Learned positions"),
        h(
          "p",
          { class: "muted" },
          `${m.name} uses ${m.pos} positions and no served model has a learned table, so there is ` +
            "nothing to learn from here.",
        ),
      );
      pairs[0].append(note);
      continue;
    }
    const width = d.vectors[0].length;
    const title = key === "sinusoidal" ? "Sinusoidal" : "Learned";
    const cellV = Math.max(3, Math.min(12, Math.floor(520 / width)));
    const fv = figure(pairs[0], {
      title: `${title}: ${n} positions × ${width} dims`,
      caption: `${who}: row p is the vector added at position p. Blue negative, red positive.`,
      name: `positions-${key}`,
      data: d.vectors,
      panel: `${key}-vectors`,
    });
    heatmap(
      fv.body,
      { matrix: d.vectors, rows: pos, cols: [...Array(width).keys()].map(String) },
      {
        scale: "diverging",
        cell: cellV,
        readout: fv.readout,
        label: `${title} position vectors`,
        describe: (i, j, v) => `${key}: position ${i}, dim ${j}: ${fmt(v, 4)}`,
      },
    );
    dense(fv.body, cellV, 16);

    const dimsHere = wanted.filter((x) => x < width).slice(0, 6);
    const fw = figure(pairs[1], {
      title: `${title}: dims ${dimsHere.join(", ") || "none"} as waves`,
      caption:
        `${who}: value of each chosen dimension along the positions. ` +
        (key === "sinusoidal"
          ? "Even dims are sines, odd dims cosines; the wavelength grows with the dimension."
          : "Learned curves are smooth only where training made them so."),
      name: `waves-${key}`,
      data: dimsHere.map((x) => ({ dim: x, values: d.vectors.map((r) => r[x]) })),
      panel: `${key}-waves`,
    });
    const series = dimsHere.map((x) => ({ name: `dim ${x}`, points: d.vectors.map((r, p) => [p, r[x]]) }));
    if (series.length) {
      const svg = lines(fw.body, series, {
        xLabel: "position",
        yLabel: "value",
        width: 560,
        height: 240,
        readout: fw.readout,
        label: `${title} waves`,
      });
      svg.style.maxWidth = "100%";
      svg.style.height = "auto";
    } else fw.body.append(h("p", { class: "muted" }, `Pick dimensions between 0 and ${width - 1}.`));

    const fs = figure(pairs[2], {
      title: `${title}: cosine similarity of positions`,
      caption:
        `${who}: cell (p, q) is cos(PE[p], PE[q]). Near positions look alike; how fast it falls tells ` +
        "how sharply the model can tell them apart.",
      name: `similarity-${key}`,
      data: d.similarity,
      panel: `${key}-similarity`,
    });
    const cellS = Math.max(3, Math.min(14, Math.floor(520 / n)));
    heatmap(
      fs.body,
      { matrix: d.similarity, rows: pos, cols: pos },
      {
        scale: "diverging",
        min: -1,
        max: 1,
        cell: cellS,
        readout: fs.readout,
        label: `${title} position similarity`,
        describe: (i, j, v) => `${key}: cos(position ${i}, position ${j}) = ${fmt(v, 4)}`,
      },
    );
    dense(fs.body, cellS, n > 32 ? 8 : n > 12 ? 4 : 1);
    const probe = [1, 2, 4, 8, 16, 32, 64].filter((q) => q < n);
    fs.root.insertBefore(
      h(
        "p",
        { class: "pos-nums small", "data-nums": key },
        "cos(position 0, q):",
        probe.map((q) =>
          h(
            "span",
            {},
            `q=${q} `,
            checked(
              h("span", {}, fmt(d.similarity[0][q], 4)),
              `${key}.similarity.0.${q}`,
              d.similarity[0][q],
            ),
          ),
        ),
      ),
      fs.root.querySelector("figcaption"),
    );
  }
}

refresh();
