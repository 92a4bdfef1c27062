/**
 * The dashboard's static assets by path, with strong ETags. Built on demand per server (no
 * module-level state); everything is served by commy itself, nothing from a CDN.
 */
import { createHash } from 'node:crypto'
import { DASHBOARD_HTML } from './html.js'
import { DASHBOARD_CSS } from './css.js'
import { DASHBOARD_JS } from './client.js'
import { FAVICON_SVG } from './icon.js'

export interface Asset {
  readonly body: string
  readonly type: string
  readonly etag: string
  readonly headers: Readonly<Record<string, string>>
}

/** No inline script or style, no third-party origin, no framing. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

function asset(body: string, type: string, headers: Record<string, string> = {}): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
  return { body, type, etag, headers }
}

export function dashboardAssets(): ReadonlyMap<string, Asset> {
  return new Map([
    ['/', asset(DASHBOARD_HTML, 'text/html; charset=utf-8', { 'content-security-policy': DASHBOARD_CSP })],
    ['/assets/dashboard.css', asset(DASHBOARD_CSS, 'text/css; charset=utf-8')],
    ['/assets/dashboard.js', asset(DASHBOARD_JS, 'text/javascript; charset=utf-8')],
    ['/favicon.svg', asset(FAVICON_SVG, 'image/svg+xml')],
  ])
}
