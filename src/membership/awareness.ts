/**
 * Lifeguard's local health awareness: a small score (0 = healthy … max) of how much this node
 * doubts itself. Missed nacks, failed probes, having to refute a suspicion of ourselves and our own
 * event-loop stalls raise it; successful probes lower it. Probe intervals and timeouts are scaled
 * by (score + 1), so a node that is itself slow probes less aggressively and blames others less.
 *
 * `FixedHealth` is the null object used when Lifeguard is off: always healthy, never scales.
 */
export interface LocalHealth {
  readonly score: number
  /** Adds `delta` (negative to recover), clamped to [0, max]. */
  apply(delta: number): void
  /** `ms` scaled by (score + 1). */
  scale(ms: number): number
}

export class Awareness implements LocalHealth {
  private value = 0
  constructor(
    private readonly max = 8,
    private readonly onChange?: (score: number, delta: number) => void,
  ) {}

  get score(): number {
    return this.value
  }

  apply(delta: number): void {
    const next = Math.min(this.max - 1, Math.max(0, this.value + delta))
    if (next === this.value) return
    this.value = next
    this.onChange?.(next, delta)
  }

  scale(ms: number): number {
    return ms * (this.value + 1)
  }
}

export class FixedHealth implements LocalHealth {
  readonly score = 0
  apply(_delta: number): void {}
  scale(ms: number): number {
    return ms
  }
}
