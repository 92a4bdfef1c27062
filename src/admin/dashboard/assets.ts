/**
 * The dashboard's static assets by path, with strong ETags. Built on demand per server (no
 * module-level state); everything is served by commy itself, nothing from a CDN.
 *
 * The browser script is a real source file, `client.js` beside this module (type-checked by
 * tsconfig.dashboard.json, copied next to the compiled module by the build): it is read on the
 * first request for it, once per server, from `src/` under the tests and from `dist/src/` when built.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { DASHBOARD_HTML } from './html.js'
import { DASHBOARD_CSS } from './css.js'
import { FAVICON_SVG } from './icon.js'

export interface AssetContent {
  readonly body: string
  readonly etag: string
}

export interface Asset {
  readonly type: string
  readonly headers: Readonly<Record<string, string>>
  /** Body and ETag; a file is read on the first call and kept (a failed read is tried again next time). */
  content(): Promise<AssetContent>
}

/** Reads a text file; injectable for tests. */
export type ReadText = (url: URL) => Promise<string>

export interface DashboardAssetOptions {
  readonly readText?: ReadText
}

/** Where the browser script lives: beside this module, in `src/` and in `dist/src/` alike. */
export const DASHBOARD_CLIENT_URL = new URL('./client.js', import.meta.url)

/** No inline script or style, no third-party origin, no framing. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

function withEtag(body: string): AssetContent {
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }
}

function inline(body: string, type: string, headers: Record<string, string> = {}): Asset {
  const content = Promise.resolve(withEtag(body))
  return { type, headers, content: () => content }
}

function fromFile(url: URL, type: string, readText: ReadText): Asset {
  let loading: Promise<AssetContent> | undefined
  return {
    type,
    headers: {},
    content() {
      loading ??= readText(url).then(withEtag, (err: unknown) => {
        loading = undefined
        throw err
      })
      return loading
    },
  }
}

const readUtf8: ReadText = (url) => readFile(url, 'utf8')

export function dashboardAssets(options: DashboardAssetOptions = {}): ReadonlyMap<string, Asset> {
  return new Map([
    ['/', inline(DASHBOARD_HTML, 'text/html; charset=utf-8', { 'content-security-policy': DASHBOARD_CSP })],
    ['/assets/dashboard.css', inline(DASHBOARD_CSS, 'text/css; charset=utf-8')],
    ['/assets/dashboard.js', fromFile(DASHBOARD_CLIENT_URL, 'text/javascript; charset=utf-8', options.readText ?? readUtf8)],
    ['/favicon.svg', inline(FAVICON_SVG, 'image/svg+xml')],
  ])
}
