/**
 * What the data plane refused or dropped to protect itself, as plain counters read at scrape time
 * (admin/metrics.ts follows them): connections refused per listener and reason, access-log lines
 * dropped because the log sink could not keep up, descriptor exhaustion by operation, and the
 * inbound listener's authorization decisions per (service, caller).
 */
import type { ExhaustionOp } from './descriptors.js'
import type { AuthzCount } from './inbound-gate.js'
import type { RefusalReason } from './listener.js'

export interface OverloadCounters {
  /** Listener name -> refusals by reason (every configured listener present, from 0). */
  readonly refused: ReadonlyMap<string, Readonly<Record<RefusalReason, number>>>
  readonly accessLogDropped: number
  readonly descriptorExhaustion: Readonly<Record<ExhaustionOp, number>>
  /** Inbound (mTLS) requests admitted and refused, per local service and calling service; undefined without `inbound`. */
  readonly authz?: ReadonlyMap<string, Readonly<AuthzCount>>
}

/** Refusal counters per listener name; they outlive a listener replaced by a reload. */
export class Refusals {
  private readonly byListener = new Map<string, Record<RefusalReason, number>>()

  /** The counters of `listener`, created at 0. */
  of(listener: string): Record<RefusalReason, number> {
    let c = this.byListener.get(listener)
    if (!c) this.byListener.set(listener, (c = { limit: 0, descriptors: 0, tls: 0, identity: 0, abuse: 0 }))
    return c
  }

  get all(): ReadonlyMap<string, Readonly<Record<RefusalReason, number>>> {
    return this.byListener
  }
}
