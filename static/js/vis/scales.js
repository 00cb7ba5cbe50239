// Colour scales, colour-blind safe: viridis for probabilities and weights, cividis as an
// alternative, a blue–white–red diverging scale for signed values. Masked cells are hatched.
const d3 = () => window.d3;

export function viridis(t) {
  return d3().interpolateViridis(clamp01(t));
}

export function cividis(t) {
  return d3().interpolateCividis(clamp01(t));
}

// Signed values: -maxAbs → blue, 0 → white, +maxAbs → red.
export function diverging(v, maxAbs) {
  const t = maxAbs > 0 ? 0.5 - v / (2 * maxAbs) : 0.5;
  return d3().interpolateRdBu(clamp01(t));
}

export function clamp01(t) {
  return Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0));
}

// Dark text on light cells, light text on dark cells.
export function inkOn(colour) {
  const c = d3().color(colour);
  if (!c) return "#000";
  const { r, g, b } = c.rgb();
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#111" : "#fff";
}

export function scaleFor(kind) {
  return { viridis, cividis }[kind] || viridis;
}

// "Nice" axis ticks from d3-array.
export function ticks(lo, hi, count = 5) {
  return d3().ticks(lo, hi, count);
}
