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

/** `name    1.23x` lines of a bench's ratios, names padded to `width` (`-` for a ratio not measured). */
export function ratioLines(ratios: Readonly<Record<string, number | undefined>>, width: number): string[] {
  return Object.entries(ratios).map(([k, v]) => `${k.padEnd(width)} ${v ?? '-'}x`)
}

/** Prints a bench's table, then its JSON summary line last (with the machine it ran on). */
export function report(table: readonly string[], summary: { readonly bench: string } & Readonly<Record<string, unknown>>): void {
  process.stdout.write(`${table.join('\n')}\n`)
  const { bench, ...rest } = summary
  process.stdout.write(`${JSON.stringify({ bench, ...machine(), ...rest })}\n`)
}
