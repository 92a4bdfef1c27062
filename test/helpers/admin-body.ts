/**
 * Types for the JSON the admin API answers with, for tests that parse it. Built from the views the
 * server sends, so a misspelt field or a wrong type is a compile error rather than an `any`.
 */
import type { StateSnapshot } from '../../src/admin/snapshot.js'
import type { HistoryView, NodeView } from '../../src/admin/view.js'

/** `sendError`'s body; a 503 from /readyz also carries the readiness `ready` and `reason`. */
export interface ErrorBody {
  readonly code: string
  readonly message: string
  readonly status: number
  readonly reason: string
  readonly ready: boolean
}

/**
 * Any admin JSON body, as one record: /v1/node, /v1/endpoints/{id}/history, /v1/state and the list
 * routes, errors, reload and drain answers. A route sends only its own fields; reading another is
 * undefined at run time and fails the assertion, as it would with `any`.
 */
export type AdminBody = NodeView &
  HistoryView &
  Omit<StateSnapshot, 'node'> &
  ErrorBody & {
    /** POST /v1/reload. */
    readonly ok: boolean
    /** POST /v1/drain. */
    readonly drained: boolean
  }

/** What tests read of a redacted config (GET /v1/config, `redactConfig()`): secrets are strings. */
export interface RedactedConfig {
  readonly node: { readonly name: string }
  readonly admin: { readonly token?: string }
  readonly gossip: { readonly keys: readonly string[] }
  readonly alerts: { readonly webhooks: readonly { readonly url: string; readonly headers: Readonly<Record<string, string>> }[] }
  readonly services: Readonly<Record<string, { readonly healthCheck: { readonly headers: Readonly<Record<string, string>> } }>>
  readonly listeners: readonly { readonly routes: readonly { readonly service: string }[] }[]
}
