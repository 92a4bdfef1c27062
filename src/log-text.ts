/**
 * `log.format: text`: one line per record for a terminal, `time LEVEL component msg key=value…`
 * (logfmt-style pairs, as Go services and `linkerd viz tap` print them):
 *
 *   2026-12-04T21:10:34.123Z INFO  gossip member joined node=a member=b address=127.0.0.1:7946
 *
 * A value is printed bare when it is plain (letters, digits and `_ . : / @ % + - , ~`), else
 * JSON-quoted with non-ASCII escaped too, so a client cannot break a line, forge one, or send
 * terminal escapes. Nested objects are flattened with dots (`err.message=…`); an error's stack is
 * kept only at level error and above. Pure functions; log.ts applies them to pino's JSON lines.
 */

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' }
const PLAIN = /^[\w.:/@%+\-,~]+$/
const NON_ASCII = /[\u007f-\uffff]/g
/** pino's own keys, shown in the fixed columns or not at all. */
const FIXED = new Set(['level', 'time', 'msg', 'component', 'pid', 'hostname'])
const MAX_DEPTH = 4
// eslint-disable-next-line no-control-regex -- control characters are what a message must not carry to a terminal
const CONTROL = /[\u0000-\u001f\u007f]/g

/** A value as it appears after `key=`: bare when plain, JSON-quoted (ASCII only) otherwise. */
export function textValue(s: string): string {
  if (PLAIN.test(s)) return s
  return JSON.stringify(s).replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Epoch ms as ISO 8601 UTC with milliseconds. */
export function timeText(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms)
}

/** A pino level number as its padded name. */
export function levelText(level: unknown): string {
  return (typeof level === 'number' ? LEVELS[level] : undefined) ?? String(level).toUpperCase().padEnd(5)
}

function pairs(out: string[], prefix: string, value: unknown, depth: number, withStack: boolean): void {
  if (value === null || value === undefined) return void out.push(`${prefix}=null`)
  if (typeof value === 'string') return void out.push(`${prefix}=${textValue(value)}`)
  if (typeof value === 'number' || typeof value === 'boolean') return void out.push(`${prefix}=${String(value)}`)
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) {
    return void out.push(`${prefix}=${textValue(value.map(String).join(','))}`)
  }
  if (typeof value === 'object' && depth < MAX_DEPTH) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'stack' && !withStack) continue
      pairs(out, `${prefix}.${k}`, v, depth + 1, withStack)
    }
    return
  }
  out.push(`${prefix}=${textValue(JSON.stringify(value) ?? 'undefined')}`)
}

/** One parsed pino record as a text line (ending in a newline). */
export function recordText(record: Record<string, unknown>): string {
  const level = record.level
  const withStack = typeof level === 'number' && level >= 50
  const component = typeof record.component === 'string' ? record.component : '-'
  const msg = typeof record.msg === 'string' && record.msg !== '' ? record.msg.replace(CONTROL, ' ') : '-'
  const out: string[] = [`${timeText(Number(record.time))} ${levelText(level)} ${textValue(component)} ${msg}`]
  for (const [k, v] of Object.entries(record)) {
    if (FIXED.has(k)) continue
    pairs(out, k, v, 0, withStack)
  }
  return `${out.join(' ')}\n`
}

/** pino's JSON line(s) as text lines; a line that is not JSON passes unchanged. */
export function jsonLinesToText(chunk: string): string {
  let out = ''
  let start = 0
  while (start < chunk.length) {
    let end = chunk.indexOf('\n', start)
    if (end < 0) end = chunk.length
    const line = chunk.slice(start, end)
    start = end + 1
    if (line === '') continue
    try {
      const parsed: unknown = JSON.parse(line)
      out += parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? recordText(parsed as Record<string, unknown>) : `${line}\n`
    } catch {
      out += `${line}\n`
    }
  }
  return out
}
