/** Small statistics helpers for the benchmark (median, percentiles, spread). */

export function quantile(xs: number[], q: number): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const i = (v.length - 1) * q;
  const lo = Math.floor(i), hi = Math.ceil(i);
  return v[lo] + (v[hi] - v[lo]) * (i - lo);
}

export const median = (xs: number[]) => quantile(xs, 0.5);

/** Median with min and max, rounded for the JSON file. */
export function summary(xs: number[], digits = 3): { median: number; min: number; max: number; n: number } {
  const v = xs.filter((x) => Number.isFinite(x));
  const r = (x: number) => Number.isFinite(x) ? +x.toFixed(digits) : NaN;
  return { median: r(median(v)), min: r(Math.min(...v)), max: r(Math.max(...v)), n: v.length };
}
