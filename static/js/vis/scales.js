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

// WCAG 2 relative luminance of a CSS colour (0 black … 1 white); null when it cannot be parsed.
export function luminance(colour) {
  const c = d3().color(colour);
  if (!c) return null;
  const { r, g, b } = c.rgb();
  const lin = (v) => {
    const x = v / 255;
    return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

// WCAG 2 contrast ratio of two colours: 1 (the same) … 21 (black on white).
export function contrastRatio(a, b) {
  const [la, lb] = [luminance(a), luminance(b)];
  if (la === null || lb === null) return 1;
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

// Black or white text on a coloured background: whichever has the larger contrast ratio (for any
// background one of them reaches at least 4.58:1, above WCAG AA's 4.5:1 for normal text).
export function readableTextColour(background) {
  if (luminance(background) === null) return "#000";
  return contrastRatio(background, "#000") >= contrastRatio(background, "#fff") ? "#000" : "#fff";
}

export function scaleFor(kind) {
  return { viridis, cividis }[kind] || viridis;
}

// "Nice" axis ticks from d3-array.
export function ticks(lo, hi, count = 5) {
  return d3().ticks(lo, hi, count);
}
