import type { Random } from '../clock.js'

/** Power of two choices: a uniformly random index in [0, n) different from `first` (n >= 2). */
export function secondChoice(first: number, n: number, random: Random): number {
  const j = (random() * (n - 1)) | 0
  return j >= first ? j + 1 : j
}

/** A uniformly random index in [0, n). */
export function randomIndex(n: number, random: Random): number {
  return (random() * n) | 0
}
