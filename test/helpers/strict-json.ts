/**
 * A strict JSON parser for log lines: like JSON.parse, but an object with a key twice throws (as
 * Elasticsearch refuses such a document). Small recursive descent over one value.
 */
export class DuplicateKeyError extends Error {}

export function parseStrict(text: string): unknown {
  let i = 0
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++
  }
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${i} in ${text.slice(0, 200)}`)
  }
  const str = (): string => {
    const start = i
    i++
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
    if (i >= text.length) fail('unterminated string')
    i++
    return JSON.parse(text.slice(start, i)) as string
  }
  const value = (): unknown => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const obj: Record<string, unknown> = {}
      const seen = new Set<string>()
      ws()
      if (text[i] === '}') return i++, obj
      for (;;) {
        ws()
        if (text[i] !== '"') fail('expected a key')
        const key = str()
        if (seen.has(key)) throw new DuplicateKeyError(`duplicate key "${key}" in ${text.slice(0, 300)}`)
        seen.add(key)
        ws()
        if (text[i++] !== ':') fail('expected :')
        obj[key] = value()
        ws()
        const d = text[i++]
        if (d === '}') return obj
        if (d !== ',') fail('expected , or }')
      }
    }
    if (c === '[') {
      i++
      const arr: unknown[] = []
      ws()
      if (text[i] === ']') return i++, arr
      for (;;) {
        arr.push(value())
        ws()
        const d = text[i++]
        if (d === ']') return arr
        if (d !== ',') fail('expected , or ]')
      }
    }
    if (c === '"') return str()
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64))
    if (!m) fail('unexpected token')
    i += m![0].length
    return JSON.parse(m![0]) as unknown
  }
  const v = value()
  ws()
  if (i !== text.length) fail('trailing text')
  return v
}
