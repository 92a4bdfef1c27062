/**
 * Reading the Docker deployment files without a Docker engine: a Dockerfile parser (stages and
 * instructions, exec-form arrays), the .dockerignore matcher (Docker's rules: last match wins, a
 * pattern also matches a parent directory of the path) and compose's `${VAR}` interpolation.
 */
import { readFileSync } from 'node:fs'

export interface Instruction {
  readonly op: string
  /** The text after the instruction word, continuation lines joined. */
  readonly args: string
  readonly line: number
}

export interface Stage {
  readonly from: string
  readonly name: string | undefined
  readonly instructions: readonly Instruction[]
}

export interface Dockerfile {
  /** ARG lines before the first FROM (name -> default). */
  readonly args: Readonly<Record<string, string>>
  readonly stages: readonly Stage[]
}

export function parseDockerfile(text: string): Dockerfile {
  const args: Record<string, string> = {}
  const stages: { from: string; name: string | undefined; instructions: Instruction[] }[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let line = lines[i]!.trim()
    if (line === '' || line.startsWith('#')) continue
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++
      const next = lines[i]!.trim()
      line = `${line.slice(0, -1).trimEnd()} ${next.startsWith('#') ? '' : next}`.trimEnd()
    }
    const m = /^(\S+)\s*(.*)$/.exec(line)!
    const op = m[1]!.toUpperCase()
    const rest = m[2]!
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!
      stages.push({ from: f[1]!, name: f[2], instructions: [] })
    } else if (stages.length === 0 && op === 'ARG') {
      const [name, value] = rest.split('=')
      args[name!] = value ?? ''
    } else stages.at(-1)!.instructions.push({ op, args: rest, line: start + 1 })
  }
  return { args, stages }
}

export function readDockerfile(path: string): Dockerfile {
  return parseDockerfile(readFileSync(path, 'utf8'))
}

/** The words of an exec-form (`["a", "b"]`) argument; throws on the shell form. */
export function execForm(args: string): string[] {
  const v = JSON.parse(args) as unknown
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`not an exec-form array: ${args}`)
  return v
}

/** COPY/ADD: flags (`--from=build`), sources and destination. */
export function copyArgs(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.split(/\s+/)
  let from: string | undefined
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length)
  }
  const dest = words.pop()!
  return { from, sources: words, dest }
}

/** The instructions of one stage with this op. */
export const ops = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op)

interface Pattern {
  readonly negate: boolean
  readonly re: RegExp
  readonly depth: number
}

function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*'
      i += glob[i + 2] === '/' ? 2 : 1
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/** A .dockerignore: `included(path)` says whether a repository path reaches the build context. */
export function dockerignore(text: string): { included(path: string): boolean } {
  const patterns: Pattern[] = []
  for (const raw of text.split('\n')) {
    let p = raw.trim()
    if (p === '' || p.startsWith('#')) continue
    const negate = p.startsWith('!')
    if (negate) p = p.slice(1).trim()
    p = p.replace(/^\/+/, '').replace(/\/+$/, '')
    patterns.push({ negate, re: globToRegExp(p), depth: p.split('/').length })
  }
  return {
    included(path: string): boolean {
      const parts = path.split('/')
      let excluded = false
      for (const p of patterns) {
        // the path itself, or the parent directory with as many components as the pattern
        const match = p.re.test(path) || (!p.re.source.includes('.*') && parts.length > p.depth && p.re.test(parts.slice(0, p.depth).join('/')))
        if (match) excluded = !p.negate
      }
      return !excluded
    },
  }
}

/** Compose interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `$$`. */
export function interpolate(value: string, env: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (m, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (m === '$$') return '$'
    const v = env[name!]
    const unset = v === undefined || (op?.startsWith(':') === true && v === '')
    if (!unset) return v
    if (op?.endsWith('?')) throw new Error(`required variable ${name} is missing: ${arg}`)
    if (op?.endsWith('-')) return arg ?? ''
    return ''
  })
}

/** `interpolate` over every string of a parsed YAML value. */
export function interpolateAll(value: unknown, env: Readonly<Record<string, string | undefined>>): unknown {
  if (typeof value === 'string') return interpolate(value, env)
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)]))
  return value
}
