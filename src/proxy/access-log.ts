/**
 * The access log: one line per finished request, written to the logs' batched destination.
 * JSON (default) is pino's line format (`{"level":30,"time":...,"log":"access",...fields}`,
 * readable by pino-pretty and friends); `log.format: text` gives the terminal form of log-text.ts
 * (`time INFO access GET /path 200 1.2ms key=value…`). Lines are built here rather than by
 * `pino.info()`: with a fixed record shape a template is about 5 µs per request cheaper in the
 * proxy (measured with `npm run bench`, commy vs commy-nolog), and this runs on every request.
 *
 * Fields: listener, method, path, route, service, endpoint (the one that answered), status,
 * durationMs, bytes, attempts, requestId, code, explain, and who asked: `host`, `client`
 * (address), `userAgent`, `protocol`, plus the constant `node`. `tries` (each try's endpoint and
 * its status or COMMY_ERR_* code) only when there was more than one try or a try failed, so the
 * common line stays short. Names and addresses are quoted once (caches bounded in entries and
 * length); everything the client sent is JSON-escaped.
 */
import type { AccessSettings, LineStream } from '../log.js'
import { textValue, timeText } from '../log-text.js'
import { classify } from '../pipeline/failure-classifier.js'
import type { RequestObserver, RequestRecord, TryRecord } from './request-record.js'

const q = JSON.stringify
/** Entries of the cache of our own names (listeners, routes, services, endpoints, codes). */
const QUOTE_CACHE_MAX = 4096
/** Entries and length of the cache of client-sent values (Host, user agent, address). */
const CLIENT_CACHE_MAX = 1024
const CLIENT_CACHE_LEN = 128

export interface AccessLineOptions {
  /** This node's name (`node.name`): on every line. */
  readonly node?: string | undefined
}

/** Builds access lines; keeps the JSON-quoted form of recurring values. */
export class AccessLineFormat {
  private readonly quoted = new Map<string, string>()
  private readonly clientQuoted = new Map<string, string>()
  private readonly nodeField: string
  private readonly nodeText: string

  constructor(options: AccessLineOptions = {}) {
    this.nodeField = options.node !== undefined ? `,"node":${q(options.node)}` : ''
    this.nodeText = options.node !== undefined ? ` node=${textValue(options.node)}` : ''
  }

  /** JSON string of a value that recurs (names, addresses, codes). */
  private name(s: string): string {
    let v = this.quoted.get(s)
    if (v === undefined) {
      v = q(s)
      if (this.quoted.size < QUOTE_CACHE_MAX) this.quoted.set(s, v)
    }
    return v
  }

  /** JSON string of a client-sent value that usually recurs (Host, user agent, client address). */
  private client(s: string): string {
    let v = this.clientQuoted.get(s)
    if (v === undefined) {
      v = q(s)
      if (s.length <= CLIENT_CACHE_LEN && this.clientQuoted.size < CLIENT_CACHE_MAX) this.clientQuoted.set(s, v)
    }
    return v
  }

  /** `r` as one pino-format JSON line at level info (30). */
  line(r: RequestRecord, time: number): string {
    let line = `{"level":30,"time":${time},"log":"access"${this.nodeField},"listener":${this.name(r.listener)},"method":${this.name(r.method)},"path":${q(r.path)}`
    if (r.route !== undefined) line += `,"route":${this.name(r.route)}`
    if (r.service !== undefined) line += `,"service":${this.name(r.service)}`
    if (r.endpoint !== undefined) line += `,"endpoint":${this.name(r.endpoint)}`
    line += `,"status":${r.status},"durationMs":${r.durationMs},"bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut},"attempts":${r.attempts},"requestId":${q(r.requestId)}`
    if (r.code !== undefined) line += `,"code":${this.name(r.code)}`
    if (r.host !== undefined) line += `,"host":${this.client(r.host)}`
    if (r.client !== undefined) line += `,"client":${this.client(r.client)}`
    if (r.userAgent !== undefined) line += `,"userAgent":${this.client(r.userAgent)}`
    if (r.httpVersion !== undefined) line += `,"protocol":${protocol(r.httpVersion)}`
    if (r.grpcStatus !== undefined) line += `,"grpcStatus":${r.grpcStatus}`
    if (showTries(r.tries)) line += `,"tries":${this.triesJson(r.tries)}`
    if (r.explain !== undefined) line += `,"explain":${r.explain}`
    return `${line}}\n`
  }

  private triesJson(tries: readonly TryRecord[]): string {
    let s = '['
    for (let i = 0; i < tries.length; i++) {
      const t = tries[i]!
      s += `${i === 0 ? '' : ','}{"endpoint":${this.name(t.endpoint)}`
      if (t.status !== undefined) s += `,"status":${t.status}`
      if (t.code !== undefined) s += `,"code":${this.name(t.code)}`
      s += '}'
    }
    return `${s}]`
  }

  /** `r` as one text line (log.format: text): `time INFO access METHOD path status duration key=value…`. */
  text(r: RequestRecord, time: number): string {
    let line = `${timeText(time)} INFO  access ${textValue(r.method)} ${textValue(r.path)} ${r.status} ${r.durationMs}ms${this.nodeText} listener=${textValue(r.listener)}`
    if (r.route !== undefined) line += ` route=${textValue(r.route)}`
    if (r.service !== undefined) line += ` service=${textValue(r.service)}`
    if (r.endpoint !== undefined) line += ` endpoint=${textValue(r.endpoint)}`
    if (r.code !== undefined) line += ` code=${r.code}`
    line += ` bytesIn=${r.bytesIn} bytesOut=${r.bytesOut} attempts=${r.attempts} requestId=${textValue(r.requestId)}`
    if (r.host !== undefined) line += ` host=${textValue(r.host)}`
    if (r.client !== undefined) line += ` client=${textValue(r.client)}`
    if (r.userAgent !== undefined) line += ` userAgent=${textValue(r.userAgent)}`
    if (r.httpVersion !== undefined) line += ` protocol=${textValue(`HTTP/${r.httpVersion === '2.0' ? '2' : r.httpVersion}`)}`
    if (r.grpcStatus !== undefined) line += ` grpcStatus=${r.grpcStatus}`
    if (showTries(r.tries)) {
      line += ' tries='
      for (let i = 0; i < r.tries.length; i++) {
        const t = r.tries[i]!
        line += `${i === 0 ? '' : ','}${textValue(t.endpoint)}:${t.code ?? t.status ?? '-'}`
      }
    }
    if (r.explain !== undefined) line += ` explain=${r.explain}`
    return `${line}\n`
  }
}

const PROTOCOLS: Record<string, string> = { '1.0': '"HTTP/1.0"', '1.1': '"HTTP/1.1"', '2.0': '"HTTP/2"' }

/** `HTTP/1.1` for Node's `1.1` (JSON-quoted). */
function protocol(httpVersion: string): string {
  return PROTOCOLS[httpVersion] ?? q(`HTTP/${httpVersion}`)
}

/** Tries are shown when there was more than one, or the only one failed (the failure classifier's verdict, or an error). */
export function showTries(tries: readonly TryRecord[]): boolean {
  if (tries.length > 1) return true
  const t = tries[0]
  return t !== undefined && (t.code !== undefined || (t.status !== undefined && classify(t.status).verdict === 'failure'))
}

/** `r` as one access line (without the cache: for tests and one-offs). */
export function accessLine(r: RequestRecord, time: number, options?: AccessLineOptions): string {
  return new AccessLineFormat(options).line(r, time)
}

export interface AccessLogOptions extends AccessLineOptions {
  /** Read per request: off writes nothing, `text` the terminal form (default: on, JSON). */
  readonly settings?: AccessSettings
}

/** Observer writing the access log to `stream`; `now` gives wall-clock ms. */
export function accessLog(stream: LineStream, now: () => number = Date.now, options: AccessLogOptions = {}): RequestObserver {
  const format = new AccessLineFormat(options)
  const settings = options.settings
  if (settings === undefined) return (r) => stream.write(format.line(r, now()))
  return (r) => {
    if (!settings.enabled) return
    stream.write(settings.format === 'json' ? format.line(r, now()) : format.text(r, now()))
  }
}
