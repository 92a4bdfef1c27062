/** Scores go into JSON (explain header, admin view): Infinity becomes -1 ("never picked"). */
export function finiteScore(x: number): number {
  return Number.isFinite(x) ? x : -1
}
