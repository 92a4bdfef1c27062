/**
 * Where a sidecar.yaml carries secrets, in one place: the admin token, gossip keys, webhook URLs
 * (Slack-style URLs carry the secret in the path) and headers, the OTLP exporter's headers, and health-check headers whose name
 * looks like a credential. The config loader never echoes a value at these paths in an error, and
 * the admin API's `/v1/config` redacts them (admin/views.ts `redactConfig`).
 */

/** Shown instead of a secret value. */
export const REDACTED = '[redacted]'

/** A header name that looks like a credential. */
export const SENSITIVE_HEADER = /authorization|cookie|token|secret|password|api[-_]?key|auth/i

type Seg = string | number

/** A key path as written in sidecar.yaml (or inside such a value) that holds a secret. */
export function isSecretPath(path: readonly Seg[]): boolean {
  const [a, b, , d] = path
  if (a === 'admin') return b === 'token'
  if (a === 'gossip') return b === 'key' || b === 'keys'
  if (a === 'alerts' && b === 'webhooks') return d === 'url' || d === 'headers'
  if (a === 'tracing' && b === 'otlp') return path[2] === 'headers'
  // services.<name>.healthCheck.headers.<header>, local.services.<i>.healthCheck.headers.<header>
  if ((a === 'services' || (a === 'local' && b === 'services')) && path.includes('healthCheck')) {
    const i = path.indexOf('headers')
    if (i < 0) return false
    const header = path[i + 1]
    // a whole headers object (a wrong type): it may hold credentials
    return header === undefined || SENSITIVE_HEADER.test(String(header))
  }
  return false
}

/**
 * PEM key material (or any PEM block): a value holding it is never echoed. The mesh TLS keys are
 * files (`tls.key`, `listeners[].tls.key`, `local.services[].tls.key`) read only by
 * tls/material.ts, which names the file and the reason, never the content; a config value that
 * holds PEM text instead of a path is refused without being shown.
 */
export const PEM_TEXT = /-----BEGIN [A-Z0-9 ]+-----/

/** A file path as it may be shown in an error or log: never PEM text pasted in its place. */
export function shownPath(value: string): string {
  return PEM_TEXT.test(value) || value.includes('\n') ? REDACTED : value
}
