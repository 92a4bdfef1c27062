/**
 * The retained time series of one endpoint: two rings of fixed time buckets, in typed arrays.
 *
 *   summary ring (n = retention / bucket slots): bucket number, requests, errors, checks ok/failed,
 *     and the p50/p90/p99 bins, written when the bucket's full histogram leaves the detail ring;
 *   detail ring (d slots, d <= n): the full latency histogram (histogram.ts) of the d newest
 *     buckets, so percentiles over a recent window can be merged exactly (to the histogram).
 *
 * Buckets are identified by a positive number (time / bucketMs relative to the history's base);
 * a slot belongs to a bucket only while its stored number matches, so skipped (idle) buckets need
 * no work and read as empty. Adding a sample is O(1) and allocation-free; rolling to a new bucket
 * costs O(BINS) once per bucket.
 */
import { BINS, histogramTotal, quantileBin } from './histogram.js'

export interface TransitionRecord {
  /** Wall ms. */
  readonly at: number
  readonly from: string
  readonly to: string
  readonly reason: string
}

export const QUANTILES = [0.5, 0.9, 0.99] as const

export class Series {
  readonly id: string
  readonly service: string
  /** First bucket this series saw. */
  readonly first: number
  /** Newest bucket written. */
  cur: number
  readonly transitions: TransitionRecord[] = []
  private readonly n: number
  private readonly d: number
  private readonly no: Uint32Array
  private readonly counts: Uint32Array
  private readonly checks: Uint16Array
  private readonly pct: Uint16Array
  private readonly dno: Uint32Array
  /** d × BINS counters, allocated with the first latency sample (checks-only series stay small). */
  private hist: Uint32Array | undefined

  constructor(id: string, service: string, n: number, d: number, rel: number) {
    this.id = id
    this.service = service
    this.n = n
    this.d = d
    this.first = rel
    this.cur = 0
    this.no = new Uint32Array(n)
    this.counts = new Uint32Array(2 * n)
    this.checks = new Uint16Array(2 * n)
    this.pct = new Uint16Array(3 * n)
    this.dno = new Uint32Array(d)
  }

  addRequest(rel: number, bin: number, ok: boolean): void {
    const s = this.slot(rel)
    if (s < 0) return
    this.counts[2 * s]!++
    if (!ok) this.counts[2 * s + 1]!++
    const ds = rel % this.d
    if (this.dno[ds] !== rel) return
    const h = (this.hist ??= new Uint32Array(this.d * BINS))
    h[ds * BINS + bin]!++
  }

  addCheck(rel: number, ok: boolean): void {
    const s = this.slot(rel)
    if (s < 0) return
    const i = ok ? 2 * s : 2 * s + 1
    if (this.checks[i]! < 0xffff) this.checks[i]!++
  }

  addTransition(t: TransitionRecord, max: number): void {
    if (this.transitions.length >= max) this.transitions.shift()
    this.transitions.push(t)
  }

  /** True while bucket `rel` is retained (reads of other buckets give zeros). */
  has(rel: number): boolean {
    return rel > 0 && this.no[rel % this.n] === rel
  }

  requests(rel: number): number {
    return this.has(rel) ? this.counts[2 * (rel % this.n)]! : 0
  }

  errors(rel: number): number {
    return this.has(rel) ? this.counts[2 * (rel % this.n) + 1]! : 0
  }

  checksOk(rel: number): number {
    return this.has(rel) ? this.checks[2 * (rel % this.n)]! : 0
  }

  checksFailed(rel: number): number {
    return this.has(rel) ? this.checks[2 * (rel % this.n) + 1]! : 0
  }

  /** Bin of QUANTILES[k] for bucket `rel`, -1 when unknown (no request, or not retained). */
  quantileBin(rel: number, k: number): number {
    if (!this.has(rel)) return -1
    const ds = rel % this.d
    if (this.dno[ds] === rel) {
      if (!this.hist) return -1
      return quantileBin(this.hist, ds * BINS, histogramTotal(this.hist, ds * BINS), QUANTILES[k]!)
    }
    return this.pct[3 * (rel % this.n) + k]! - 1
  }

  /** Adds bucket `rel`'s full histogram to `acc`; false when it is no longer in the detail ring. */
  addHistogramTo(rel: number, acc: Uint32Array): boolean {
    const ds = rel % this.d
    if (rel <= 0 || this.dno[ds] !== rel || !this.has(rel)) return false
    const h = this.hist
    if (!h) return true
    const off = ds * BINS
    for (let i = 0; i < BINS; i++) acc[i]! += h[off + i]!
    return true
  }

  /** Bytes held by the typed arrays. */
  bytes(): number {
    return this.no.byteLength + this.counts.byteLength + this.checks.byteLength + this.pct.byteLength + this.dno.byteLength + (this.hist?.byteLength ?? 0)
  }

  /** Summary slot of `rel` after rolling forward to it; -1 when `rel` is older than retained. */
  private slot(rel: number): number {
    if (rel > this.cur) this.roll(rel)
    return this.has(rel) ? rel % this.n : -1
  }

  private roll(rel: number): void {
    const s = rel % this.n
    this.no[s] = rel
    this.counts[2 * s] = 0
    this.counts[2 * s + 1] = 0
    this.checks[2 * s] = 0
    this.checks[2 * s + 1] = 0
    this.pct[3 * s] = 0
    this.pct[3 * s + 1] = 0
    this.pct[3 * s + 2] = 0
    const ds = rel % this.d
    const old = this.dno[ds]!
    if (old !== rel) {
      if (old !== 0) this.seal(old, ds)
      this.hist?.fill(0, ds * BINS, (ds + 1) * BINS)
      this.dno[ds] = rel
    }
    this.cur = rel
  }

  /** Bucket `old` leaves the detail ring: keep its percentiles in its summary slot. */
  private seal(old: number, ds: number): void {
    const s = old % this.n
    if (this.no[s] !== old || !this.hist) return
    const off = ds * BINS
    const total = histogramTotal(this.hist, off)
    for (let k = 0; k < QUANTILES.length; k++) this.pct[3 * s + k] = quantileBin(this.hist, off, total, QUANTILES[k]!) + 1
  }
}
