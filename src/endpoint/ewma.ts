/**
 * Peak-EWMA latency (as in Finagle and linkerd's tower `PeakEwma`): a sample above the current
 * estimate replaces it at once (the peak), lower samples decay it exponentially with `decayMs`.
 * An estimate that has seen no sample reads as `undefined` so that strategies can try new endpoints.
 */
export class PeakEwma {
  private value = 0
  private stamp = 0
  private seen = false
  constructor(private readonly decayMs: number) {}

  observe(latencyMs: number, now: number): void {
    if (!this.seen) {
      this.value = latencyMs
      this.seen = true
    } else if (latencyMs > this.value) {
      this.value = latencyMs
    } else {
      const elapsed = Math.max(0, now - this.stamp)
      const w = Math.exp(-elapsed / this.decayMs)
      this.value = this.value * w + latencyMs * (1 - w)
    }
    this.stamp = now
  }

  /** Current estimate, decayed towards zero-cost while no sample arrives; undefined before any sample. */
  get(now: number): number | undefined {
    if (!this.seen) return undefined
    const elapsed = Math.max(0, now - this.stamp)
    return this.value * Math.exp(-elapsed / this.decayMs)
  }

  /** Last estimate without decay (for views). */
  peek(): number | undefined {
    return this.seen ? this.value : undefined
  }

  reset(): void {
    this.seen = false
    this.value = 0
  }
}
