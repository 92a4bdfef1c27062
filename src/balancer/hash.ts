/**
 * A stable 32-bit string hash (FNV-1a over UTF-16 code units, finished with murmur3's fmix32).
 * Pure integer arithmetic: the same string gives the same number in every process, Node version
 * and platform, which is what lets every sidecar of the mesh build the same hash ring.
 */
export function hash32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return fmix32(h)
}

/** murmur3's finaliser: spreads every input bit over the whole word. */
export function fmix32(x: number): number {
  let h = x | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** A second, independent value in [0, 1) derived from a hash (e.g. for per-key admission). */
export function unitFromHash(h: number): number {
  return fmix32(h ^ 0x5bd1e995) / 4294967296
}
