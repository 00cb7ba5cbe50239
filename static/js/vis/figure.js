// The frame every figure sits in: title, export buttons (PNG, SVG, JSON), body, readout, the numbers as a
// table (folded), caption.
import { h, keyboardScrollable } from "../lib/dom.js";
import { withTerms } from "../lib/glossary.js";
import { tablesFor } from "./table.js";

let counter = 0;

// Returns {root, body, readout, setCaption(text), setData(obj)}. `name` is the download file stem.
// On a lesson page, `answer: true` marks the whole figure as giving the question's answer away, and
// `titleAnswer` is a part of the title that does (both carry data-answer: hidden until a choice is picked;
// export labels use the title without it).
export function figure(
  parent,
  { title, caption = "", name = "figure", data = null, panel = null, answer = false, titleAnswer = "" },
) {
  const id = `fig-${++counter}`;
  const body = keyboardScrollable(h("div", { class: "body" }), title);
  const readout = h("div", { class: "readout", "aria-live": "polite" });
  const cap = h("figcaption", { id: `${id}-cap` }, withTerms(caption));
  let current = data;
  const exportBar = h(
    "div",
    { class: "export", role: "group", "aria-label": `export ${title}` },
    h(
      "button",
      {
        class: "secondary small image-export",
        type: "button",
        onclick: () => exportPNG(body, name),
        "aria-label": `download ${title} as PNG`,
      },
      "PNG",
    ),
    h(
      "button",
      {
        class: "secondary small image-export",
        type: "button",
        onclick: () => exportSVG(body, name),
        "aria-label": `download ${title} as SVG`,
      },
      "SVG",
    ),
    h(
      "button",
      {
        class: "secondary small",
        type: "button",
        onclick: () => exportJSON(current, name),
        "aria-label": `download the data of ${title} as JSON`,
      },
      "JSON",
    ),
  );
  const root = h(
    "figure",
    {
      class: "fig",
      "aria-labelledby": `${id}-title`,
      "aria-describedby": `${id}-cap`,
      dataset: { ...(panel ? { panel } : {}), ...(answer ? { answer: "" } : {}) },
    },
    h(
      "header",
      {},
      h("h3", { id: `${id}-title` }, title, titleAnswer ? h("span", { "data-answer": "" }, titleAnswer) : ""),
      exportBar,
    ),
    body,
    readout,
    dataTable(body, () => current, title),
    cap,
  );
  parent.append(root);
  return {
    root,
    body,
    readout,
    setCaption: (text) => cap.replaceChildren(...withTerms(text)),
    setData: (d) => (current = d),
    setTitle: (t) => {
      root.querySelector("h3").textContent = t;
      root.querySelector(".fig-table summary .of").textContent = ` of ${t}`;
      body.dataset.scrollLabel = t;
    },
  };
}

// "Table": the figure's numbers as a table, built when opened and again whenever the figure is redrawn
// while it is open.
function dataTable(body, data, title) {
  const wrap = h("div", { class: "table-wrap" });
  const summary = h("summary", {}, "Table", h("span", { class: "of visually-hidden" }, ` of ${title}`));
  const details = h("details", { class: "fig-table" }, summary, wrap);
  keyboardScrollable(wrap, "the numbers as a table");
  const build = () => wrap.replaceChildren(...tablesFor(body, data()));
  let timer = 0;
  const redrawn = new MutationObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(build, 200);
  });
  details.addEventListener("toggle", () => {
    if (details.open) {
      build();
      redrawn.observe(body, { childList: true, subtree: true });
    } else {
      redrawn.disconnect();
      wrap.replaceChildren();
    }
  });
  return details;
}

// An enlarged view that closes: a Close button in its header and Escape anywhere inside it call onClose.
export function closable(fig, onClose, label = "Close") {
  const button = h("button", { type: "button", class: "secondary small", onclick: onClose }, label);
  fig.root.querySelector("header").append(button);
  fig.root.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !fig.root.hidden) {
      e.preventDefault();
      e.stopPropagation();
      onClose();
    }
  });
  return button;
}

// A small "check it by hand" table above a figure's caption: rows of [label, cell, cell, …].
export function addWorkedTable(fig, title, rows) {
  const row = ([label, ...cells]) =>
    h(
      "tr",
      {},
      label ? h("th", { scope: "row", style: "white-space:nowrap" }, label) : h("td", {}),
      ...cells.map((c) => h("td", { class: "num" }, c)),
    );
  const table = h(
    "table",
    { class: "data worked" },
    h("caption", { class: "small muted" }, title),
    h("tbody", {}, rows.map(row)),
  );
  fig.root.querySelector("figcaption").before(keyboardScrollable(h("div", { class: "body" }, table), title));
  return table;
}

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function firstSVG(body) {
  return body.querySelector("svg");
}

export function svgText(svg) {
  const copy = svg.cloneNode(true);
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  const style = document.createElementNS("http://www.w3.org/2000/svg", "style");
  style.textContent = "text{font-family:system-ui,sans-serif;font-size:11px}.mono{font-family:monospace}";
  copy.prepend(style);
  return new XMLSerializer().serializeToString(copy);
}

export function exportSVG(body, name) {
  const svg = firstSVG(body);
  if (!svg) return;
  download(new Blob([svgText(svg)], { type: "image/svg+xml" }), `${name}.svg`);
}

export function exportPNG(body, name, scale = 2) {
  const svg = firstSVG(body);
  if (!svg) return;
  const w = Number(svg.getAttribute("width")) || svg.clientWidth;
  const hgt = Number(svg.getAttribute("height")) || svg.clientHeight;
  const img = new Image();
  const url = URL.createObjectURL(new Blob([svgText(svg)], { type: "image/svg+xml" }));
  img.onload = () => {
    const canvas = document.createElement("canvas");
    canvas.width = w * scale;
    canvas.height = hgt * scale;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    URL.revokeObjectURL(url);
    canvas.toBlob((blob) => download(blob, `${name}.png`), "image/png");
  };
  img.src = url;
}

export function exportJSON(data, name) {
  download(new Blob([JSON.stringify(data ?? null, null, 1)], { type: "application/json" }), `${name}.json`);
}
