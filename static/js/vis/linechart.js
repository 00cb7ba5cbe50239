// Lines over a shared x axis (loss curves, sinusoid waves). Axes use d3-array's nice ticks.
// series: [{name, points: [[x, y], ...], colour, dash}] options: {xLabel, yLabel, width, height, label,
// readout, logY}
import { fmt } from "../lib/dom.js";
import { argmax } from "../lib/math.js";
import { ticks } from "./scales.js";
import { s, svgRoot } from "./svg.js";
import { tabulate } from "./table.js";

export const PALETTE = [
  "#0072b2",
  "#e69f00",
  "#009e73",
  "#cc79a7",
  "#56b4e9",
  "#d55e00",
  "#f0e442",
  "#000000",
];

export function render(el, series, options = {}) {
  const width = options.width || 640;
  const height = options.height || 300;
  const m = { l: 56, r: 120, t: 10, b: 40 };
  const all = series.flatMap((x) => x.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const x0 = options.xMin ?? Math.min(...xs);
  const x1 = options.xMax ?? Math.max(...xs);
  const y0 = options.yMin ?? Math.min(...ys);
  const y1 = options.yMax ?? Math.max(...ys);
  const W = width - m.l - m.r;
  const H = height - m.t - m.b;
  const X = (v) => m.l + ((v - x0) / (x1 - x0 || 1)) * W;
  const Y = (v) => m.t + H - ((v - y0) / (y1 - y0 || 1)) * H;
  const svg = svgRoot(width, height, options.label || "line chart");
  const axis = s("g", { class: "axis" });
  axis.append(s("line", { x1: m.l, y1: m.t + H, x2: m.l + W, y2: m.t + H }));
  axis.append(s("line", { x1: m.l, y1: m.t, x2: m.l, y2: m.t + H }));
  for (const t of ticks(x0, x1, 6)) {
    axis.append(s("line", { x1: X(t), y1: m.t + H, x2: X(t), y2: m.t + H + 4 }));
    axis.append(s("text", { x: X(t), y: m.t + H + 16, "text-anchor": "middle" }, compact(t)));
  }
  for (const t of ticks(y0, y1, 5)) {
    axis.append(s("line", { x1: m.l - 4, y1: Y(t), x2: m.l + W, y2: Y(t), stroke: "#eee" }));
    axis.append(s("text", { x: m.l - 6, y: Y(t) + 4, "text-anchor": "end" }, compact(t)));
  }
  if (options.xLabel)
    axis.append(s("text", { x: m.l + W / 2, y: height - 6, "text-anchor": "middle" }, options.xLabel));
  if (options.yLabel) {
    axis.append(
      s(
        "text",
        { x: 12, y: m.t + H / 2, transform: `rotate(-90 12 ${m.t + H / 2})`, "text-anchor": "middle" },
        options.yLabel,
      ),
    );
  }
  svg.append(axis);
  series.forEach((ser, k) => {
    const colour = ser.colour || PALETTE[k % PALETTE.length];
    const d = ser.points
      .filter((p) => Number.isFinite(p[1]))
      .map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`)
      .join("");
    svg.append(
      s(
        "path",
        {
          d,
          fill: "none",
          stroke: colour,
          "stroke-width": ser.width || 2,
          "stroke-dasharray": ser.dash || null,
        },
        s("title", {}, ser.name),
      ),
    );
    if (ser.markers) {
      for (const p of ser.points) svg.append(s("circle", { cx: X(p[0]), cy: Y(p[1]), r: 2.5, fill: colour }));
    }
    svg.append(
      s("line", {
        x1: width - m.r + 10,
        y1: m.t + 10 + 16 * k,
        x2: width - m.r + 26,
        y2: m.t + 10 + 16 * k,
        stroke: colour,
        "stroke-width": 3,
        "stroke-dasharray": ser.dash || null,
      }),
    );
    svg.append(s("text", { x: width - m.r + 30, y: m.t + 14 + 16 * k }, ser.name));
  });
  // hover / keyboard: the nearest x, every series' value there
  const cursor = s("line", {
    x1: 0,
    y1: m.t,
    x2: 0,
    y2: m.t + H,
    stroke: "#999",
    "stroke-dasharray": "3 3",
    visibility: "hidden",
  });
  svg.append(cursor);
  const xsSorted = [...new Set(xs)].sort((a, b) => a - b);
  let at = -1;
  const show = (idx) => {
    at = Math.max(0, Math.min(xsSorted.length - 1, idx));
    const xv = xsSorted[at];
    cursor.setAttribute("x1", X(xv));
    cursor.setAttribute("x2", X(xv));
    cursor.setAttribute("visibility", "visible");
    if (options.readout) {
      const parts = series.map((ser) => {
        const p = ser.points.find((q) => q[0] === xv);
        return p ? `${ser.name} ${fmt(p[1], 4)}` : null;
      });
      const values = parts.filter(Boolean).join(" · ");
      options.readout.textContent = `${options.xLabel || "x"} ${compact(xv)}: ${values}`;
    }
  };
  svg.setAttribute("tabindex", "0");
  svg.addEventListener("mousemove", (e) => {
    const box = svg.getBoundingClientRect();
    const xv = x0 + (((e.clientX - box.left) * (width / box.width) - m.l) / W) * (x1 - x0);
    show(argmax(xsSorted.map((v) => -Math.abs(v - xv)))); // the nearest x
  });
  svg.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      e.stopPropagation();
      show(at + (e.key === "ArrowRight" ? 1 : -1));
    }
  });
  tabulate(svg, () => {
    const byX = series.map((ser) => new Map(ser.points.map(([xv, yv]) => [xv, yv])));
    return {
      caption: options.label || "line chart",
      columns: [options.xLabel || "x", ...series.map((ser) => ser.name)],
      rows: xsSorted.map((xv) => [xv, ...byX.map((m) => m.get(xv) ?? "")]),
    };
  });
  el.replaceChildren(svg);
  return svg;
}

function compact(v) {
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  return Number.isInteger(v) ? String(v) : String(+v.toFixed(3));
}
