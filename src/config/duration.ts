const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parses `500ms`, `2s`, `1.5m`, `1h` or a number of ms. Returns undefined when it is not a duration. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(value.trim())
  if (!m) return undefined
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!)
}
