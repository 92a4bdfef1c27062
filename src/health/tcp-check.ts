/**
 * TCP connect check: passes when a connection to host:port is established (then closed at once).
 */
import net from 'node:net'
import type { CheckResult, CheckTarget, HealthCheck } from './check.js'

export class TcpCheck implements HealthCheck {
  check(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
    return new Promise<CheckResult>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason)
      // a Unix socket endpoint's host is `unix:/path`
      const socket = net.connect(target.host.startsWith('unix:') ? { path: target.host.slice(5) } : { host: target.host, port: target.port })
      const onAbort = (): void => {
        socket.destroy()
        reject(signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      socket.once('connect', () => {
        signal.removeEventListener('abort', onAbort)
        socket.destroy()
        resolve({ ok: true, reason: 'connected' })
      })
      socket.once('error', (err) => {
        signal.removeEventListener('abort', onAbort)
        socket.destroy()
        reject(err)
      })
    })
  }
}
