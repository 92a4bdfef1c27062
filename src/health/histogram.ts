/**
 * A fixed log-linear latency histogram (HDR style) over microseconds: values below 16 µs have
 * one bin per µs, above that every power of two is split into 8 equal bins, up to 2^27 µs
 * (about 134 s; larger values land in the last bin). 200 bins in all, so a histogram is a
 * `Uint32Array` slice of BINS counters that can be summed bin by bin to merge time buckets.
 *
 * Precision: a percentile is reported as the middle of its bin, which is within 1/16 (6.25%) of
 * any value in that bin from 16 µs up, and within 0.5 µs below.
 */
const SUB_BITS = 3
const SUB = 1 << SUB_BITS
const LINEAR = 2 * SUB
const MAX_EXP = 27

export const BINS = LINEAR + (MAX_EXP - (SUB_BITS + 1)) * SUB
/** Stated relative precision of a reported percentile. */
export const HISTOGRAM_PRECISION = 1 / (2 * SUB)

const MAX_US = 2 ** MAX_EXP - 1

/** Bin index of a latency in ms. O(1), allocation-free. */
export function binOf(latencyMs: number): number {
  if (!(latencyMs > 0)) return 0
  const us = Math.floor(latencyMs * 1000)
  if (us >= MAX_US) return BINS - 1
  if (us < LINEAR) return us
  const e = 31 - Math.clz32(us)
  return LINEAR + (e - SUB_BITS - 1) * SUB + ((us >>> (e - SUB_BITS)) & (SUB - 1))
}

/** The value reported for a bin, in ms: the middle of the bin. */
export function binValueMs(bin: number): number {
  if (bin < LINEAR) return (bin + 0.5) / 1000
  const e = SUB_BITS + 1 + ((bin - LINEAR) >>> SUB_BITS)
  const sub = (bin - LINEAR) & (SUB - 1)
  const width = 2 ** (e - SUB_BITS)
  const low = (SUB + sub) * width
  return (low + width / 2) / 1000
}

/**
 * Bin holding the q-quantile (0 < q <= 1) of `total` samples counted in `counts[offset ..
 * offset+BINS)`: the first bin where the cumulative count reaches ceil(q × total). -1 when empty.
 */
export function quantileBin(counts: Uint32Array, offset: number, total: number, q: number): number {
  if (total <= 0) return -1
  const rank = Math.max(1, Math.ceil(q * total))
  let seen = 0
  for (let i = 0; i < BINS; i++) {
    seen += counts[offset + i]!
    if (seen >= rank) return i
  }
  return BINS - 1
}

/** Sum of the counters of one histogram. */
export function histogramTotal(counts: Uint32Array, offset: number): number {
  let n = 0
  for (let i = 0; i < BINS; i++) n += counts[offset + i]!
  return n
}
