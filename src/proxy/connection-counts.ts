/**
 * Client (downstream) connections per listener name, as two plain counters the listener bumps
 * once per connection (never per request) and the admin reads at scrape time:
 * `commy_downstream_connections{listener}` (opened - closed) and the opened/closed totals. Like
 * the refusal counters (overload.ts), they outlive a listener replaced by a reload. Upstream
 * connections are the transport's (transport/undici.ts).
 */
import type { Socket } from 'node:net'
import type { UpstreamConnectionCount } from '../transport/undici.js'

/** One listener's counts. */
export class ConnectionCount {
  opened = 0
  closed = 0
  /** Bound once: one listener function for every socket of the listener. */
  readonly onClose = (): void => {
    this.closed++
  }

  /** A connection was accepted: counted now, and again when it closes. */
  readonly accepted = (socket: Socket): void => {
    this.opened++
    socket.once('close', this.onClose)
  }

  get open(): number {
    return this.opened - this.closed
  }
}

/** Connection counts per listener name, created at 0 when the listener is built. */
export class ConnectionCounts {
  private readonly byListener = new Map<string, ConnectionCount>()

  of(listener: string): ConnectionCount {
    let c = this.byListener.get(listener)
    if (!c) this.byListener.set(listener, (c = new ConnectionCount()))
    return c
  }

  get all(): ReadonlyMap<string, Readonly<Pick<ConnectionCount, 'opened' | 'closed' | 'open'>>> {
    return this.byListener
  }
}

/** What the data plane tells the admin about connections (read at scrape time). */
export interface ConnectionCounters {
  /** Listener name -> client connections (every listener present from 0). */
  readonly downstream: ReadonlyMap<string, Readonly<Pick<ConnectionCount, 'opened' | 'closed' | 'open'>>>
  /** Connections to endpoints, per endpoint with a pool. */
  readonly upstream: readonly UpstreamConnectionCount[]
}
