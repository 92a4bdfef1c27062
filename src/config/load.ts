/**
 * Reads sidecar.yaml: YAML with line numbers, `${ENV}` substitution, schema validation,
 * normalisation and freezing. Every problem becomes a ConfigIssue with file, line and key path;
 * the caller gets either a frozen SidecarConfig or a ConfigError listing them all.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { createHash } from 'node:crypto'
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Document, type Node as YamlNode } from 'yaml'
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value'
import { ConfigError, type ConfigIssue } from '../errors.js'
import { isSecretPath, REDACTED } from './secrets.js'
import { SidecarSchema, type RawSidecarConfig } from './schema.js'
import { normalizeConfig, type PathIssue } from './normalize.js'
import type { SidecarConfig } from './types.js'

export type Env = Readonly<Record<string, string | undefined>>

export interface LoadOptions {
  /** Variables for `${NAME}` substitution (the caller passes process.env). */
  readonly env?: Env
  /** Names of strategies registered in code, accepted besides the built-in ones. */
  readonly strategies?: readonly string[]
}

/** Loads and validates a config file; throws ConfigError. */
export function loadConfigFile(file: string, options: LoadOptions = {}): SidecarConfig {
  const path = resolve(file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ConfigError(path, [{ path: '', message: code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})` }])
  }
  return parseConfig(text, path, options)
}

/** Validates config text; `file` is used in messages only. Throws ConfigError. */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): SidecarConfig {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const issues: ConfigIssue[] = []
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? (e.pos?.[0] !== undefined ? lineCounter.linePos(e.pos[0]) : undefined)
    issues.push({ path: '', line: pos?.line, column: pos?.col, message: `YAML: ${e.message.split('\n')[0]}` })
  }
  if (issues.length > 0) throw new ConfigError(file, issues)

  const locate = (p: readonly (string | number)[]) => locatePath(doc, lineCounter, p)
  const add = (pi: PathIssue) => issues.push({ path: formatPath(pi.path), ...locate(pi.path), message: pi.message })

  let raw: unknown
  try {
    // an alias to no anchor, or too many aliases (the "billion laughs"): yaml throws here
    raw = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err)
    throw new ConfigError(file, [{ path: '', line: 1, message: `YAML: ${message}` }])
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, [{ path: '', line: 1, message: 'the config must be a mapping (listeners:, services:, ...)' }])
  }
  const substituted = substituteEnv(raw, [], options.env ?? {}, add)

  const seen = new Set<string>()
  for (const err of Value.Errors(SidecarSchema, substituted)) {
    const segs = pointerToPath(err.path)
    const key = formatPath(segs)
    if (seen.has(key)) continue // one message per key: a union reports every branch
    seen.add(key)
    add({ path: segs, message: describeSchemaError(err, segs) })
  }
  if (issues.length > 0) throw new ConfigError(file, issues)

  const version = createHash('sha256').update(text).digest('hex').slice(0, 12)
  const pathIssues: PathIssue[] = []
  const config = normalizeConfig(substituted as RawSidecarConfig, file, version, pathIssues, options.strategies)
  pathIssues.forEach(add)
  if (issues.length > 0) throw new ConfigError(file, issues)
  return config
}

/** One schema error as a sentence, decided by TypeBox's error type (never by its message text). */
function describeSchemaError(err: ValueError, segs: readonly (string | number)[]): string {
  const key = String(segs[segs.length - 1])
  if (err.type === ValueErrorType.ObjectAdditionalProperties || err.type === ValueErrorType.IntersectUnevaluatedProperties) {
    return `unknown key "${key}"`
  }
  if (err.type === ValueErrorType.ObjectRequiredProperty || err.value === undefined) return `required key "${key}" is missing`
  // a value at a secret's path is never echoed: config errors end up in logs and terminals
  const got = isSecretPath(segs) ? REDACTED : truncate(JSON.stringify(err.value))
  // the value's form: schema.ts's errorHint, else the description of a string or a union (whose
  // form it tells); TypeBox's own message names the form of a number, object or array
  const { description: meaning, errorHint, type } = err.schema as { description?: unknown; errorHint?: unknown; type?: unknown }
  const description = errorHint ?? (type === undefined || type === 'string' ? meaning : undefined)
  const desc = typeof description === 'string' && description !== '' ? ` (expected ${description})` : ''
  // a union (durations, enums, addresses) lists every branch: say what was wanted, not how each failed
  if (err.type === ValueErrorType.Union) return `invalid value ${got}${desc}`
  return `${lowerFirst(err.message)}${desc}, got ${got}`
}

/** TypeBox's sentence ("Expected integer to be ...") continued after "key: ". */
function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1)
}

function truncate(s: string | undefined): string {
  if (s === undefined) return 'nothing'
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

export function formatPath(segs: readonly (string | number)[]): string {
  let out = ''
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`
    else out += out === '' ? s : `.${s}`
  }
  return out
}

/** Finds the line of a key path: the key itself for mapping entries, the item for sequences. */
function locatePath(doc: Document, lc: LineCounter, segs: readonly (string | number)[]): { line?: number; column?: number } {
  let node: unknown = doc.contents
  let offset: number | undefined = doc.contents?.range?.[0]
  for (const s of segs) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(s))
      if (!pair) break
      offset = (pair.key as YamlNode).range?.[0] ?? offset
      node = pair.value
    } else if (isSeq(node) && typeof s === 'number') {
      const item = node.items[s] as YamlNode | undefined
      if (!item) break
      offset = item.range?.[0] ?? offset
      node = item
    } else break
  }
  if (offset === undefined) return {}
  const pos = lc.linePos(offset)
  return { line: pos.line, column: pos.col }
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/** Replaces `${NAME}` and `${NAME:-default}` in every string value. */
function substituteEnv(value: unknown, path: (string | number)[], env: Env, add: (i: PathIssue) => void): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value
    return value.replace(ENV_REF, (_m, name: string, dflt: string | undefined) => {
      const v = env[name]
      if (v !== undefined && v !== '') return v
      if (dflt !== undefined) return dflt
      add({ path, message: `environment variable ${name} is not set` })
      return ''
    })
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...path, i], env, add))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, [...path, k], env, add)
    return out
  }
  return value
}
