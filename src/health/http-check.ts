/**
 * HTTP check: sends `method path` with the configured headers and passes when the status is in
 * the expected range and, if `expectBody` is set, the body (first 64 KiB) contains it. The body is
 * always consumed or destroyed, so the keep-alive connection can be reused or is closed.
 */
import { request, type Dispatcher } from 'undici'
import type { HealthCheckConfig } from '../config/types.js'
import type { CheckResult, CheckTarget, HealthCheck } from './check.js'

/** Body bytes read to look for `expectBody` (or drained for reuse) before giving up. */
export const MAX_CHECK_BODY = 64 * 1024

export class HttpCheck implements HealthCheck {
  private readonly config: HealthCheckConfig
  private readonly dispatcher: Dispatcher | undefined
  private readonly headers: Record<string, string>

  constructor(config: HealthCheckConfig, dispatcher?: Dispatcher) {
    this.config = config
    this.dispatcher = dispatcher
    this.headers = { 'user-agent': 'commy-health-check', ...config.headers }
  }

  async check(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
    const { path, method, expectStatus, expectBody } = this.config
    const host = target.host.includes(':') ? `[${target.host}]` : target.host
    const res = await request(`http://${host}:${target.port}${path}`, {
      method,
      headers: this.headers,
      signal,
      dispatcher: this.dispatcher,
    })
    const status = res.statusCode
    const inRange = status >= expectStatus[0] && status <= expectStatus[1]
    if (!inRange || expectBody === undefined) {
      await res.body.dump({ limit: MAX_CHECK_BODY })
      return { ok: inRange, reason: `HTTP ${status} from ${path}` }
    }
    if (await bodyContains(res.body, expectBody)) return { ok: true, reason: `HTTP ${status} from ${path}` }
    return { ok: false, reason: `HTTP ${status} from ${path}: body does not contain ${JSON.stringify(expectBody)}` }
  }
}

/** Reads until `needle` is found or MAX_CHECK_BODY bytes were read; the body is finished either way. */
async function bodyContains(body: Dispatcher.ResponseData['body'], needle: string): Promise<boolean> {
  let text = ''
  let bytes = 0
  body.setEncoding('utf8')
  try {
    for await (const chunk of body) {
      const s = chunk as string
      bytes += Buffer.byteLength(s)
      text += s
      if (text.includes(needle)) return true
      if (bytes >= MAX_CHECK_BODY) return false
      // keep only what a match across the chunk boundary can need
      if (text.length > needle.length) text = text.slice(text.length - needle.length)
    }
    return false
  } finally {
    if (!body.destroyed) body.destroy()
  }
}
