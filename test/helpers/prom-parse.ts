/**
 * A strict parser for the Prometheus text exposition format (0.0.4), for tests:
 * `# HELP name text`, `# TYPE name type`, and `name{label="value",...} value [timestamp]` lines.
 * Throws on a line it cannot read, so a test parsing /metrics also checks the format.
 * Samples of a histogram/summary (`_bucket`, `_sum`, `_count`) belong to their family.
 */
export interface PromSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface PromFamily {
  readonly name: string
  help: string | undefined
  type: string | undefined
  readonly samples: PromSample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

export function parseProm(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>()
  const family = (name: string): PromFamily => {
    let f = families.get(name)
    if (!f) families.set(name, (f = { name, help: undefined, type: undefined, samples: [] }))
    return f
  }
  const lines = text.split('\n')
  lines.forEach((raw, i) => {
    const line = raw.trimEnd()
    const where = `line ${i + 1}: ${JSON.stringify(raw)}`
    if (line === '') return
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line)
      if (!m) return // other comments are allowed
      const [, kind, name, rest = ''] = m
      if (!NAME.test(name!)) throw new Error(`bad metric name in ${where}`)
      const f = family(name!)
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP for ${name} in ${where}`)
        f.help = unescape(rest, false)
      } else {
        if (!TYPES.has(rest)) throw new Error(`bad TYPE in ${where}`)
        if (f.type !== undefined) throw new Error(`second TYPE for ${name} in ${where}`)
        if (f.samples.length > 0) throw new Error(`TYPE after samples for ${name} in ${where}`)
        f.type = rest
      }
      return
    }
    const sample = parseSample(line, where)
    const base = sample.name.replace(/_(bucket|sum|count)$/, '')
    const owner = base !== sample.name && ['histogram', 'summary'].includes(families.get(base)?.type ?? '') ? base : sample.name
    family(owner).samples.push(sample)
  })
  return families
}

function parseSample(line: string, where: string): PromSample {
  let i = 0
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i]!)) i++
  const name = line.slice(0, i)
  if (!NAME.test(name)) throw new Error(`bad sample name in ${where}`)
  const labels: Record<string, string> = {}
  if (line[i] === '{') {
    i++
    for (;;) {
      while (line[i] === ' ') i++
      if (line[i] === '}') {
        i++
        break
      }
      let j = i
      while (j < line.length && /[a-zA-Z0-9_]/.test(line[j]!)) j++
      const label = line.slice(i, j)
      if (!LABEL_NAME.test(label) || line[j] !== '=' || line[j + 1] !== '"') throw new Error(`bad label at ${j} in ${where}`)
      i = j + 2
      let value = ''
      for (;;) {
        const c = line[i]
        if (c === undefined) throw new Error(`unterminated label value in ${where}`)
        if (c === '"') break
        if (c === '\\') {
          const n = line[i + 1]
          if (n === 'n') value += '\n'
          else if (n === '\\' || n === '"') value += n
          else throw new Error(`bad escape in ${where}`)
          i += 2
        } else {
          value += c
          i++
        }
      }
      i++
      if (label in labels) throw new Error(`duplicate label ${label} in ${where}`)
      labels[label] = value
      if (line[i] === ',') i++
      else if (line[i] !== '}') throw new Error(`expected , or } at ${i} in ${where}`)
    }
  }
  const rest = line.slice(i).trim().split(/\s+/)
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw new Error(`bad value in ${where}`)
  const value = parseValue(rest[0]!)
  if (value === undefined) throw new Error(`bad value in ${where}`)
  if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) throw new Error(`bad timestamp in ${where}`)
  return { name, labels, value }
}

/** As Go's strconv.ParseFloat, which Prometheus uses: Inf/NaN in any letter case. */
function parseValue(s: string): number | undefined {
  const l = s.toLowerCase()
  if (l === '+inf' || l === 'inf') return Infinity
  if (l === '-inf') return -Infinity
  if (l === 'nan') return NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return undefined
  return Number(s)
}

function unescape(s: string, quotes: boolean): string {
  return s.replace(/\\(n|\\|")/g, (m, c: string) => (c === 'n' ? '\n' : c === '"' && !quotes ? m : c))
}

/** The samples named `name` (e.g. `x_bucket`) whose labels include every pair of `labels`. */
export function samples(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): PromSample[] {
  const out: PromSample[] = []
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) out.push(s)
    }
  }
  return out
}

/** Sum of the matching samples' values (0 when none). */
export function total(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number {
  return samples(families, name, labels).reduce((a, s) => a + s.value, 0)
}
