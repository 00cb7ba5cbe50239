// Building SVG by hand: figures stay plain SVG, so they export as SVG and PNG as they are.
export const NS = "http://www.w3.org/2000/svg";

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function svgRoot(width, height, label) {
  return s("svg", {
    xmlns: NS,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
  });
}

// A diagonal-hatch pattern for masked cells (never plain white).
export function hatchDefs(id = "hatch") {
  return s(
    "defs",
    {},
    s(
      "pattern",
      { id, width: 5, height: 5, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      s("rect", { width: 5, height: 5, fill: "#eeeeee" }),
      s("line", { x1: 0, y1: 0, x2: 0, y2: 5, stroke: "#aaaaaa", "stroke-width": 2 }),
    ),
  );
}
