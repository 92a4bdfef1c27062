/**
 * The machine a bench ran on, for every JSON summary line: Node version, CPU model and how many
 * CPUs (figures from different machines are not comparable, and a shared one is noisy).
 */
import { cpus } from 'node:os'

export interface Machine {
  readonly node: string
  readonly cpu: string
  readonly cpus: number
}

export function machine(): Machine {
  const list = cpus()
  return { node: process.version, cpu: list[0]?.model ?? 'unknown', cpus: list.length }
}
