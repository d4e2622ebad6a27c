/** Quantiles of samples, for the bench's histograms (the steal row, bench:wake). */

/** The `q` quantile (0..1) of `xs`, nearest rank; NaN when empty. */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  if (xs.length === 0) return Number.NaN
  const sorted = xs.toSorted((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}
