// @ts-check
/**
 * The dashboard's browser script (plain ES2020, no framework, no build step, no external assets),
 * served as it is at /assets/dashboard.js. It reads the event stream /v1/events (fetch-based SSE,
 * so a bearer token can be sent), falls back to polling /v1/state every second, and updates keyed
 * DOM rows in place. Every value from the server is set with textContent (member names and tags
 * come from gossip: never trusted as HTML).
 *
 * Type-checked with `npm run typecheck:dashboard` (tsconfig.dashboard.json: DOM lib, no Node
 * types). A classic script, not a module: everything stays inside the function below.
 */

// ---------- the JSON it reads (a copy of the fields used; the source of truth is src/admin/view.ts
// and src/admin/snapshot.ts: change them together) ----------

/** @typedef {'healthy' | 'unhealthy' | 'ejected' | 'draining'} EndpointState */
/** @typedef {'closed' | 'open' | 'half-open'} BreakerState */
/** @typedef {'alive' | 'suspect' | 'dead' | 'left'} MemberState */

/**
 * @typedef {object} NodeView
 * @property {string} name
 * @property {string | null} zone
 * @property {string} version commy's package version
 * @property {string} configVersion the config's short hash
 * @property {boolean} draining
 * @property {number} uptimeMs
 * @property {{ identity: string, notAfter: number } | null} [tls] the node's mesh identity and its certificate's expiry (wall ms)
 */

/**
 * @typedef {object} Readiness
 * @property {boolean} ready
 * @property {string} [reason]
 */

/**
 * @typedef {object} MemberView
 * @property {string} name
 * @property {string} address gossip `host:port`
 * @property {MemberState} state
 * @property {number} incarnation
 * @property {string | null} zone
 * @property {readonly string[]} services
 * @property {boolean} self
 */

/**
 * @typedef {object} ServiceView
 * @property {string} name
 * @property {string} strategy
 * @property {string} [protocol] http1 | http2 (services.<name>.protocol)
 * @property {Record<string, number>} [grpcStatus] gRPC calls since start by final grpc-status name
 * @property {boolean} panic
 * @property {number} [endpoints]
 * @property {number} [healthy]
 * @property {number | null} [successRate] 0..1 over the last minute, null without traffic
 * @property {number | null} [trySuccessRate] of every try to its endpoints (before retries)
 * @property {number} [rps]
 * @property {number | null} [p50Ms]
 * @property {number | null} [p99Ms]
 */

/**
 * @typedef {object} EndpointView
 * @property {string} id `service~host:port`
 * @property {string} service
 * @property {string} address
 * @property {EndpointState} state
 * @property {string} reason 'ok' when healthy
 * @property {BreakerState} breaker
 * @property {number} inFlight
 * @property {number | null} ewmaLatencyMs
 * @property {number} weight
 * @property {number} effectiveWeight
 * @property {string | null} zone
 * @property {readonly string[]} tags
 * @property {string | null} node gossip node that announced it
 * @property {string} source
 * @property {boolean} [maintenance] drained by an operator (POST /v1/endpoints/{id}/drain)
 * @property {number | null} [successRate] 0..1 over the last minute, null without traffic
 * @property {number} [rps]
 * @property {number | null} [p50Ms]
 * @property {number | null} [p99Ms]
 */

/**
 * @typedef {object} AlertView
 * @property {string} name
 * @property {string} rule
 * @property {string | null} service
 * @property {string} [endpoint]
 * @property {'firing' | 'resolved'} state
 * @property {'warning' | 'critical'} severity
 * @property {number} value
 * @property {number} threshold
 * @property {number} startedAt
 * @property {number} [resolvedAt]
 */

/**
 * @typedef {object} SeriesView complete history buckets only, oldest first
 * @property {readonly number[]} rps
 * @property {readonly (number | null)[]} p99
 */

/**
 * @typedef {object} StateSnapshot one frame of /v1/events, or /v1/state
 * @property {number} t wall ms when built
 * @property {NodeView} node
 * @property {Readiness} readiness
 * @property {readonly MemberView[]} members
 * @property {readonly ServiceView[]} services
 * @property {readonly EndpointView[]} endpoints
 * @property {readonly AlertView[]} alerts
 * @property {Readonly<Record<string, SeriesView>>} series by endpoint id
 * @property {number} omittedEndpoints
 * @property {readonly ServerEvent[]} [events] recent events, when the sidecar keeps them
 */

/**
 * @typedef {object} ServerEvent an event the sidecar reports (a named frame of /v1/events, or `events` in a snapshot)
 * @property {string} [kind]
 * @property {string} [type]
 * @property {number} [at]
 * @property {number} [t]
 * @property {string} [message]
 * @property {string} [reason]
 * @property {string} [endpoint]
 * @property {string} [service]
 * @property {string} [node]
 * @property {string} [target] maintenance: 'endpoint' | 'local'
 * @property {string} [id] maintenance: the endpoint id or local service name
 * @property {boolean} [on] maintenance: on or off
 * @property {string} [by] who asked (peer address, "(token)" when one came)
 */

/**
 * @typedef {object} RouteView one route of GET /v1/routes
 * @property {string} name
 * @property {unknown} [match]
 * @property {string} [service]
 * @property {number} [requests]
 * @property {number | null} [successRate]
 * @property {number} [rps]
 * @property {number | null} [p50Ms]
 * @property {number | null} [p99Ms]
 */

/**
 * @typedef {object} RoutesView GET /v1/routes
 * @property {readonly { name: string, listen?: string, routes: readonly RouteView[] }[]} listeners
 */

/**
 * @typedef {object} TimelineEvent one line of the events timeline
 * @property {number} at wall ms
 * @property {string} kind breaker | ejection | health | endpoint | maintenance | member | reload | alert | drain | undrain
 * @property {string} text human sentence
 * @property {'ok' | 'warn' | 'bad' | ''} tone
 */

/**
 * @typedef {object} HistoryView /v1/endpoints/{id}/history
 * @property {number} bucketMs
 * @property {readonly { start: number, requests: number, errors: number, p50?: number | null, p99: number | null }[]} buckets
 * @property {readonly { at: number, from: string, to: string, reason: string }[]} transitions
 */

/**
 * @typedef {object} ActionReply the JSON of POST /v1/reload and /v1/drain (an error body when refused)
 * @property {string} [version]
 * @property {string} [message]
 */

/** @typedef {'connecting' | 'sse' | 'polling' | 'offline'} Mode */

// ---------- the keyed views the script keeps (one per rendered item) ----------

/**
 * @typedef {object} Spark
 * @property {SVGSVGElement} root
 * @property {SVGPathElement} area
 * @property {SVGPathElement} line
 * @property {number} w
 * @property {number} h
 */

/**
 * @typedef {object} EndpointRow
 * @property {HTMLTableRowElement} root
 * @property {HTMLElement} state
 * @property {HTMLElement} addr
 * @property {HTMLElement} sub
 * @property {HTMLElement} success
 * @property {HTMLElement} weight
 * @property {HTMLElement} inflight
 * @property {HTMLElement} ewma
 * @property {Spark} rpsSpark
 * @property {HTMLElement} rps
 * @property {Spark} p99Spark
 * @property {HTMLElement} p99
 * @property {HTMLElement} breaker
 * @property {HTMLElement} reason
 */

/**
 * @typedef {object} ServiceCard
 * @property {HTMLElement} root
 * @property {HTMLElement} name
 * @property {HTMLElement} strategy
 * @property {Record<EndpointState, HTMLElement>} bar
 * @property {HTMLElement} healthy
 * @property {HTMLElement} success
 * @property {HTMLElement} rps
 * @property {HTMLElement} panic
 * @property {HTMLElement} tbody
 * @property {Map<string, EndpointRow>} rows
 */

/**
 * @typedef {object} MemberRow
 * @property {HTMLTableRowElement} root
 * @property {HTMLElement} name
 * @property {HTMLElement} self
 * @property {HTMLElement} sub
 * @property {HTMLElement} state
 * @property {HTMLElement} zone
 */

/**
 * @typedef {object} GoldenRow
 * @property {HTMLTableRowElement} root
 * @property {HTMLElement} name
 * @property {HTMLElement} success
 * @property {HTMLElement} tries
 * @property {HTMLElement} rps
 * @property {HTMLElement} p50
 * @property {HTMLElement} p99
 * @property {Record<EndpointState, HTMLElement>} bar
 * @property {HTMLElement} healthy
 * @property {HTMLElement} strategy
 * @property {HTMLElement} protocol
 */

/**
 * @typedef {object} RouteRow
 * @property {HTMLTableRowElement} root
 * @property {HTMLElement} listener
 * @property {HTMLElement} name
 * @property {HTMLElement} match
 * @property {HTMLElement} service
 * @property {HTMLElement} success
 * @property {HTMLElement} rps
 * @property {HTMLElement} p50
 * @property {HTMLElement} p99
 * @property {HTMLElement} requests
 */

/**
 * @typedef {object} AlertRow
 * @property {HTMLLIElement} root
 * @property {HTMLElement} sev
 * @property {HTMLElement} what
 * @property {HTMLElement} when
 * @property {HTMLElement} detail
 */

(function () {
  'use strict'
  const SVG = 'http://www.w3.org/2000/svg'
  /** @type {readonly EndpointState[]} */
  const ENDPOINT_STATES = ['healthy', 'unhealthy', 'ejected', 'draining']
  /** @type {Record<Mode, string>} */
  const MODE_LABELS = { sse: 'live', polling: 'polling', offline: 'offline', connecting: 'connecting' }
  const THEMES = ['auto', 'dark', 'light']
  /** @type {readonly (readonly [string, string?])[]} */
  const COLUMNS = [['State'], ['Endpoint'], ['Success', 'r'], ['Req/s', 'r'], ['p99', 'r'], ['EWMA', 'r'], ['In flight', 'r'], ['Weight', 'r'], ['Breaker'], ['Reason']]
  /** Events kept on the timeline. */
  const MAX_EVENTS = 200
  /** How often the routes view is read again (it is not part of the event stream). */
  const ROUTES_EVERY_MS = 2000

  // ---------- the page's fixed elements (html.ts), looked up once ----------

  /**
   * @template {HTMLElement} E
   * @param {string} id
   * @param {{ new (): E }} type
   * @returns {E}
   */
  function byId(id, type) {
    const e = document.getElementById(id)
    if (!(e instanceof type)) throw new Error(`dashboard: #${id} is missing or not a ${type.name}`)
    return e
  }
  /** @param {string} id */
  const $ = (id) => byId(id, HTMLElement)
  // JSON from the admin API is `unknown` until its caller names the shape (trusted for shape, never as HTML)
  /** @param {Response} res @returns {Promise<unknown>} */
  const readJson = (res) => res.json()
  /** @param {string} text @returns {unknown} */
  const parseJson = (text) => JSON.parse(text)

  const ui = {
    nodeName: $('node-name'),
    nodeZone: $('node-zone'),
    nodeVersion: $('node-version'),
    configVersion: $('config-version'),
    nodeUptime: $('node-uptime'),
    nodeTls: $('node-tls'),
    nodeIdentity: $('node-identity'),
    nodeCertLeft: $('node-cert-left'),
    readiness: $('readiness'),
    live: $('live'),
    reload: byId('reload', HTMLButtonElement),
    drain: byId('drain', HTMLButtonElement),
    theme: byId('theme', HTMLButtonElement),
    auth: $('auth'),
    authForm: byId('auth-form', HTMLFormElement),
    authToken: byId('auth-token', HTMLInputElement),
    sumSuccess: $('sum-success'),
    sumMembers: $('sum-members'),
    sumServices: $('sum-services'),
    sumEndpoints: $('sum-endpoints'),
    sumBreakers: $('sum-breakers'),
    sumInflight: $('sum-inflight'),
    sumRps: $('sum-rps'),
    sumAlerts: $('sum-alerts'),
    servicesNote: $('services-note'),
    services: $('services'),
    noServices: $('no-services'),
    golden: $('golden'),
    routes: $('routes'),
    routesNote: $('routes-note'),
    noRoutes: $('no-routes'),
    events: $('events'),
    noEvents: $('no-events'),
    members: $('members'),
    alerts: $('alerts'),
    noAlerts: $('no-alerts'),
    detail: byId('detail', HTMLDialogElement),
    detailTitle: $('detail-title'),
    detailSub: $('detail-sub'),
    detailState: $('detail-state'),
    detailStats: $('detail-stats'),
    epDrain: byId('ep-drain', HTMLButtonElement),
    epUndrain: byId('ep-undrain', HTMLButtonElement),
    chartRps: $('chart-rps'),
    chartSuccess: $('chart-success'),
    chartP99: $('chart-p99'),
    detailTransitions: $('detail-transitions'),
    detailEmpty: $('detail-empty'),
    toast: $('toast'),
    updated: $('updated'),
  }
  const liveLabel = ui.live.lastElementChild

  // ---------- state ----------
  const params = new URLSearchParams(location.search)
  let token = sessionStorage.getItem('commy.admin.token') || ''
  let authNeeded = false
  /** @type {Mode | ''} */
  let mode = ''
  let pollTimer = 0
  let retryTimer = 0
  let watchdog = 0
  let toastTimer = 0
  /** @type {AbortController | null} */
  let streamCtrl = null
  /** @type {string | null} */
  let detailId = null
  /** @type {Map<string, ServiceCard>} */
  const serviceCards = new Map()
  /** @type {Map<string, MemberRow>} */
  const memberRows = new Map()
  /** @type {Map<string, AlertRow>} */
  const alertRows = new Map()
  /** @type {Map<string, GoldenRow>} */
  const goldenRows = new Map()
  /** @type {Map<string, RouteRow>} */
  const routeRows = new Map()
  /** Newest first. @type {TimelineEvent[]} */
  const timeline = []
  /** Keys of the events already on the timeline (server events can arrive twice). @type {Set<string>} */
  const eventKeys = new Set()
  /** @type {StateSnapshot | null} */
  let last = null
  let routesTimer = 0
  let routesMissing = false
  let draining = false
  let timelineDirty = false

  // ---------- small helpers ----------

  /**
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, string | number | null | undefined> | null} [attrs] null/undefined values are left out
   * @param {readonly (Node | string)[]} [kids]
   * @returns {HTMLElementTagNameMap[K]}
   */
  function el(tag, attrs, kids) {
    const e = document.createElement(tag)
    if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, String(v))
    if (kids) e.append(...kids)
    return e
  }
  /**
   * @template {keyof SVGElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, string | number>} attrs
   * @returns {SVGElementTagNameMap[K]}
   */
  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVG, tag)
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
    return e
  }
  /** @param {Node} node @param {string | number | null | undefined} value */
  function text(node, value) {
    const s = value === null || value === undefined ? '' : String(value)
    if (node.textContent !== s) node.textContent = s
  }
  /** @param {Element} node @param {string} cls */
  function setClass(node, cls) {
    if (node.className !== cls) node.className = cls
  }
  /** @param {HTMLElement} node @param {string} key @param {string} value */
  function setData(node, key, value) {
    if (node.dataset[key] !== value) node.dataset[key] = value
  }
  /** Absent (an older sidecar, no traffic yet): an em dash. */
  const NONE = '—'
  /** @param {number | null | undefined} n */
  function fmtNum(n) {
    if (n === null || n === undefined || Number.isNaN(n)) return NONE
    if (n >= 10000) return `${Math.round(n / 1000)}k`
    if (n >= 1000) return `${(n / 1000).toFixed(1)}k`
    if (n >= 100) return String(Math.round(n))
    if (n >= 10) return n.toFixed(1)
    return n === 0 ? '0' : n.toFixed(2)
  }
  /** @param {number | null | undefined} ms */
  function fmtMs(ms) {
    if (ms === null || ms === undefined || Number.isNaN(ms)) return NONE
    if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`
    if (ms >= 100) return `${Math.round(ms)} ms`
    if (ms >= 10) return `${ms.toFixed(1)} ms`
    if (ms >= 0.1) return `${ms.toFixed(2)} ms`
    if (ms === 0) return '0 ms'
    return '< 0.1 ms'
  }
  /** A success rate (0..1) as a percentage; null: no traffic. @param {number | null | undefined} r */
  function fmtPct(r) {
    if (r === null || r === undefined || Number.isNaN(r)) return NONE
    if (r >= 1) return '100%'
    const p = r * 100
    return `${p >= 99 ? p.toFixed(2) : p.toFixed(1)}%`
  }
  /** Linkerd's colours: green at 99% and over, amber from 95%, red under. @param {number | null | undefined} r */
  function toneOf(r) {
    if (r === null || r === undefined) return ''
    return r >= 0.99 ? 'ok' : r >= 0.95 ? 'warn' : 'bad'
  }
  /** A span of time for people: 60000 -> "60 s", 90000 -> "1.5 min", 250 -> "250 ms". @param {number} ms */
  function fmtSpan(ms) {
    if (ms < 1000) return `${Math.round(ms)} ms`
    const s = ms / 1000
    if (s < 120) return `${Number.isInteger(s) ? s : s.toFixed(1)} s`
    const m = s / 60
    if (m < 120) return `${Number.isInteger(m) ? m : m.toFixed(1)} min`
    return `${(m / 60).toFixed(1)} h`
  }
  /** Raw milliseconds in server messages ("ejected for 60000ms") read as spans ("ejected for 60 s"). @param {string} msg */
  function human(msg) {
    return msg.replace(/\b(\d+(?:\.\d+)?)\s?ms\b/g, (_, n) => fmtSpan(Number(n)))
  }
  /** @param {number} ms */
  function fmtDur(ms) {
    const s = Math.max(0, Math.floor(ms / 1000))
    const d = Math.floor(s / 86400)
    const h = Math.floor((s % 86400) / 3600)
    const m = Math.floor((s % 3600) / 60)
    const r = s % 60
    if (d) return `${d}d ${h}h`
    if (h) return `${h}h ${m}m`
    if (m) return `${m}m ${r}s`
    return `${r}s`
  }
  /** @param {number} t */
  function clock(t) {
    return new Date(t).toLocaleTimeString()
  }
  /** @param {unknown} err */
  function messageOf(err) {
    return err instanceof Error ? err.message : String(err)
  }
  /** @param {Record<string, string>} [extra] @returns {Record<string, string>} */
  function headers(extra) {
    /** @type {Record<string, string>} */
    const h = { accept: 'application/json' }
    if (token) h.authorization = `Bearer ${token}`
    return { ...h, ...extra }
  }

  /**
   * Keyed reconciliation: one view per item, reused across updates, its root kept in order.
   * @template T
   * @template {{ root: HTMLElement }} V
   * @param {HTMLElement} parent
   * @param {Map<string, V>} views the views of `parent`'s children, by key (updated here)
   * @param {readonly T[]} items
   * @param {(item: T) => string} keyOf
   * @param {(item: T) => V} create
   * @param {(view: V, item: T) => void} update
   */
  function sync(parent, views, items, keyOf, create, update) {
    const old = new Map(views)
    views.clear()
    /** @type {Element | null} */
    let prev = null
    for (const item of items) {
      const key = keyOf(item)
      let view = old.get(key)
      if (view) old.delete(key)
      else {
        view = create(item)
        view.root.dataset.key = key
      }
      views.set(key, view)
      update(view, item)
      /** @type {Element | null} */
      const want = prev ? prev.nextElementSibling : parent.firstElementChild
      if (view.root !== want) parent.insertBefore(view.root, want)
      prev = view.root
    }
    for (const view of old.values()) view.root.remove()
  }

  // ---------- sparklines ----------

  /** @param {string} kind @param {number} w @param {number} h @returns {Spark} */
  function spark(kind, w, h) {
    const root = svgEl('svg', { class: `spark ${kind}`, width: w, height: h, viewBox: `0 0 ${w} ${h}`, 'aria-hidden': 'true' })
    const area = svgEl('path', { class: 'area', d: '' })
    const line = svgEl('path', { class: 'line', d: '' })
    root.append(svgEl('line', { class: 'base', x1: 0, y1: h - 0.5, x2: w, y2: h - 0.5 }), area, line)
    return { root, area, line, w, h }
  }
  /** @param {Spark} s @param {readonly (number | null)[]} values null: a gap @param {number} floor the least top of the scale */
  function drawSpark(s, values, floor) {
    const { w, h } = s
    const n = values.length
    let max = floor || 1
    for (const v of values) if (v !== null && v > max) max = v
    let line = ''
    let area = ''
    let open = false
    let startX = 0
    let lastX = 0
    const step = n > 1 ? w / (n - 1) : 0
    for (const [j, v] of values.entries()) {
      const x = n > 1 ? j * step : w
      if (v === null) {
        if (open) {
          area += `L${lastX.toFixed(1)} ${h}L${startX.toFixed(1)} ${h}Z`
          open = false
        }
        continue
      }
      const y = h - 1 - (v / max) * (h - 3)
      if (!open) {
        line += `M${x.toFixed(1)} ${y.toFixed(1)}`
        area += `M${x.toFixed(1)} ${h}L${x.toFixed(1)} ${y.toFixed(1)}`
        startX = x
        open = true
      } else {
        line += `L${x.toFixed(1)} ${y.toFixed(1)}`
        area += `L${x.toFixed(1)} ${y.toFixed(1)}`
      }
      lastX = x
    }
    if (open) area += `L${lastX.toFixed(1)} ${h}L${startX.toFixed(1)} ${h}Z`
    s.area.setAttribute('d', area)
    s.line.setAttribute('d', line)
  }

  // ---------- charts with axes (endpoint detail) ----------

  /** The smallest "nice" number (1, 2, 2.5, 5 x 10^k) at or above `v`. @param {number} v */
  function niceCeil(v) {
    if (!(v > 0)) return 1
    const p = Math.pow(10, Math.floor(Math.log10(v)))
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p
    return 10 * p
  }
  /** @param {number} t */
  function hhmm(t) {
    const d = new Date(t)
    return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
  }
  /**
   * A line chart with a labelled y axis (0, half, top), time labels on the x axis and the last
   * value written out. Points are bucket starts; null values are gaps.
   * @param {HTMLElement} host
   * @param {string} kind css class (rps | ok | p99)
   * @param {readonly number[]} times wall ms per point
   * @param {readonly (number | null)[]} values
   * @param {{ format: (v: number) => string, top?: number, floor?: number }} opts `top`: fixed scale top; `floor`: least scale top
   */
  function axisChart(host, kind, times, values, opts) {
    const W = 300
    const H = 150
    const L = 46
    const R = 10
    const T = 18
    const B = 22
    const w = W - L - R
    const h = H - T - B
    const root = svgEl('svg', { class: `chart ${kind}`, width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img' })
    let max = 0
    for (const v of values) if (v !== null && v > max) max = v
    const top = opts.top ?? niceCeil(Math.max(max, opts.floor ?? 0))
    const y = (/** @type {number} */ v) => T + h - (v / top) * h
    const n = times.length
    const x = (/** @type {number} */ i) => L + (n > 1 ? (i / (n - 1)) * w : w)
    const yAxis = svgEl('g', { class: 'axis y-axis' })
    for (const v of [0, top / 2, top]) {
      yAxis.append(svgEl('line', { class: 'grid', x1: L, x2: L + w, y1: y(v), y2: y(v) }))
      const label = svgEl('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' })
      label.textContent = opts.format(v)
      yAxis.append(label)
    }
    const xAxis = svgEl('g', { class: 'axis x-axis' })
    xAxis.append(svgEl('line', { class: 'base', x1: L, x2: L + w, y1: T + h + 0.5, y2: T + h + 0.5 }))
    if (n > 0) {
      const marks = n > 2 ? [0, Math.floor((n - 1) / 2), n - 1] : n === 2 ? [0, 1] : [0]
      for (const i of marks) {
        const label = svgEl('text', { x: x(i), y: H - 6, 'text-anchor': i === 0 && n > 1 ? 'start' : i === n - 1 ? 'end' : 'middle' })
        label.textContent = hhmm(times[i] ?? 0)
        xAxis.append(label)
      }
    }
    let d = ''
    let pen = false
    values.forEach((v, i) => {
      if (v === null) {
        pen = false
        return
      }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`
      pen = true
    })
    const line = svgEl('path', { class: 'line', d })
    const lastIndex = values.length - 1
    const lastValue = lastIndex >= 0 ? values[lastIndex] : null
    const now = svgEl('text', { class: 'now', x: L + w, y: 12, 'text-anchor': 'end' })
    now.textContent = n === 0 ? 'no data yet' : lastValue === null || lastValue === undefined ? `last: ${NONE}` : `last: ${opts.format(lastValue)}`
    root.append(yAxis, xAxis, line, now)
    if (lastValue !== null && lastValue !== undefined) root.append(svgEl('circle', { class: 'dot', cx: x(lastIndex), cy: y(lastValue), r: 2.5 }))
    host.replaceChildren(root)
    root.dataset.top = String(top)
  }

  // ---------- rendering ----------

  /** @param {StateSnapshot} snap */
  function render(snap) {
    const node = snap.node
    text(ui.nodeName, node.name)
    ui.nodeZone.hidden = !node.zone
    text(ui.nodeZone, node.zone || '')
    text(ui.nodeVersion, node.version)
    text(ui.configVersion, node.configVersion)
    text(ui.nodeUptime, fmtDur(node.uptimeMs))
    const tls = node.tls
    ui.nodeTls.hidden = !tls
    if (tls) {
      const left = tls.notAfter - snap.t
      text(ui.nodeIdentity, tls.identity)
      text(ui.nodeCertLeft, left > 0 ? fmtDur(left) : 'expired')
      setClass(ui.nodeTls, left < 7 * 86_400_000 ? 'muted cert-soon' : 'muted')
      const until = `certificate valid until ${new Date(tls.notAfter).toISOString()}`
      if (ui.nodeTls.title !== until) ui.nodeTls.title = until
    }
    const rd = ui.readiness
    draining = node.draining
    text(ui.drain, draining ? 'Undrain' : 'Drain')
    ui.drain.title = draining ? 'Take traffic again and rejoin (POST /v1/undrain)' : 'Stop taking traffic and leave the cluster'
    if (node.draining) {
      setClass(rd, 'badge warn')
      text(rd, 'Draining')
    } else if (snap.readiness.ready) {
      setClass(rd, 'badge ok')
      text(rd, 'Ready')
    } else {
      setClass(rd, 'badge bad')
      text(rd, `Not ready: ${snap.readiness.reason || 'unknown'}`)
    }
    setData(rd, 'ready', String(snap.readiness.ready))
    document.title = `${node.name} · commy`

    /** @type {Map<string, EndpointView[]>} */
    const byService = new Map()
    for (const s of snap.services) byService.set(s.name, [])
    for (const ep of snap.endpoints) {
      let list = byService.get(ep.service)
      if (!list) byService.set(ep.service, (list = []))
      list.push(ep)
    }
    const services = snap.services.slice().sort((a, b) => (a.name < b.name ? -1 : 1))
    sync(ui.services, serviceCards, services, (s) => s.name, createService, (card, s) => {
      updateService(card, s, byService.get(s.name) ?? [], snap)
    })
    ui.noServices.hidden = services.length > 0
    sync(ui.golden, goldenRows, services, (s) => s.name, createGolden, (row, s) => {
      updateGolden(row, s, byService.get(s.name) ?? [])
    })
    text(ui.servicesNote, snap.omittedEndpoints ? `(${snap.omittedEndpoints} endpoints not shown)` : '')

    const members = snap.members.slice().sort((a, b) => Number(b.self) - Number(a.self) || (a.name < b.name ? -1 : 1))
    sync(ui.members, memberRows, members, (m) => m.name, createMember, updateMember)

    const alerts = snap.alerts
      .slice()
      .sort((a, b) => (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) || b.startedAt - a.startedAt)
    sync(ui.alerts, alertRows, alerts, (a) => [a.name, a.service, a.endpoint, a.startedAt].join('|'), createAlert, (row, a) => {
      updateAlert(row, a, snap.t)
    })
    ui.noAlerts.hidden = alerts.length > 0

    let alive = 0
    let healthy = 0
    let open = 0
    let inflight = 0
    let rps = 0
    let firing = 0
    let served = 0
    let succeeded = 0
    for (const m of snap.members) if (m.state === 'alive') alive++
    for (const ep of snap.endpoints) {
      if (ep.state === 'healthy') healthy++
      if (ep.breaker === 'open') open++
      inflight += ep.inFlight
    }
    // totals from the services (what clients got), the endpoints' sum when the services carry no rate
    for (const s of services) {
      const eps = byService.get(s.name) ?? []
      const r = s.rps ?? eps.reduce((a, ep) => a + (ep.rps ?? 0), 0)
      rps += r
      const sr = successOf(s, eps)
      if (sr !== null && r > 0) {
        served += r
        succeeded += sr * r
      }
    }
    const success = served > 0 ? succeeded / served : null
    text(ui.sumSuccess, fmtPct(success))
    setClass(ui.sumSuccess, 'value num' + (toneOf(success) === 'ok' ? ' ok' : toneOf(success) === 'warn' ? ' warn' : toneOf(success) === 'bad' ? ' bad' : ''))
    for (const a of snap.alerts) if (a.state === 'firing') firing++
    text(ui.sumMembers, `${alive} / ${snap.members.length}`)
    setClass(ui.sumMembers, 'value num' + (alive < snap.members.length ? ' warn' : ''))
    text(ui.sumServices, snap.services.length)
    text(ui.sumEndpoints, `${healthy} / ${snap.endpoints.length}`)
    setClass(ui.sumEndpoints, 'value num' + (healthy < snap.endpoints.length ? ' warn' : ''))
    text(ui.sumBreakers, open)
    setClass(ui.sumBreakers, 'value num' + (open ? ' bad' : ''))
    text(ui.sumInflight, inflight)
    text(ui.sumRps, fmtNum(rps))
    text(ui.sumAlerts, firing)
    setClass(ui.sumAlerts, 'value num' + (firing ? ' bad' : ''))
    text(ui.updated, clock(snap.t))
    noteChanges(last, snap)
    last = snap
    if (detailId) updateDetailState(detailId)
  }

  /**
   * A service's success rate: its own, else the endpoints' weighted by their rate (an older
   * sidecar: null when there is no rate).
   * @param {ServiceView} s @param {readonly EndpointView[]} eps
   */
  function successOf(s, eps) {
    if (s.successRate !== undefined) return s.successRate
    let n = 0
    let ok = 0
    for (const ep of eps) {
      if (ep.successRate === undefined || ep.successRate === null || !ep.rps) continue
      n += ep.rps
      ok += ep.successRate * ep.rps
    }
    return n > 0 ? ok / n : null
  }

  // ---------- golden signals per service ----------

  /** @returns {GoldenRow} */
  function createGolden() {
    const bar = {
      healthy: el('span', { class: 'healthy' }),
      unhealthy: el('span', { class: 'unhealthy' }),
      ejected: el('span', { class: 'ejected' }),
      draining: el('span', { class: 'draining' }),
    }
    const parts = {
      name: el('a', { class: 'svc' }),
      success: el('td', { class: 'r success num' }),
      tries: el('td', { class: 'r tries num' }),
      rps: el('td', { class: 'r rps num' }),
      p50: el('td', { class: 'r p50 num' }),
      p99: el('td', { class: 'r p99 num' }),
      healthy: el('span', { class: 'healthy-count num' }),
      strategy: el('td', { class: 'muted' }),
      protocol: el('td', { class: 'muted protocol' }),
    }
    const root = el('tr', { 'data-testid': 'golden-row' }, [
      el('td', null, [parts.name]),
      parts.success,
      parts.tries,
      parts.rps,
      parts.p50,
      parts.p99,
      el('td', null, [el('span', { class: 'spark-cell' }, [el('span', { class: 'health-bar' }, ENDPOINT_STATES.map((k) => bar[k])), parts.healthy])]),
      parts.strategy,
      parts.protocol,
    ])
    return { root, bar, ...parts }
  }
  /** @param {GoldenRow} row @param {ServiceView} s @param {readonly EndpointView[]} eps */
  function updateGolden(row, s, eps) {
    setData(row.root, 'service', s.name)
    text(row.name, s.name)
    row.name.setAttribute('href', `#service-${s.name}`)
    const sr = successOf(s, eps)
    text(row.success, fmtPct(sr))
    setClass(row.success, `r success num ${toneOf(sr)}`)
    setData(row.root, 'success', sr === null ? '' : String(sr))
    const tries = s.trySuccessRate
    text(row.tries, fmtPct(tries))
    setClass(row.tries, `r tries num ${toneOf(tries)}`)
    const rps = s.rps ?? eps.reduce((a, ep) => a + (ep.rps ?? 0), 0)
    text(row.rps, fmtNum(rps))
    text(row.p50, fmtMs(s.p50Ms))
    text(row.p99, fmtMs(s.p99Ms))
    /** @type {Record<EndpointState, number>} */
    const counts = { healthy: 0, unhealthy: 0, ejected: 0, draining: 0 }
    for (const ep of eps) counts[ep.state] = (counts[ep.state] || 0) + 1
    const total = eps.length || 1
    for (const k of ENDPOINT_STATES) row.bar[k].style.width = `${(counts[k] / total) * 100}%`
    text(row.healthy, `${counts.healthy} / ${eps.length}`)
    setData(row.root, 'healthy', `${counts.healthy}/${eps.length}`)
    text(row.strategy, s.strategy)
    text(row.protocol, protocolText(s))
  }

  /**
   * `HTTP/1.1`, or `HTTP/2 · gRPC OK 12, UNAVAILABLE 3` (the three commonest final statuses).
   * @param {ServiceView} s
   */
  function protocolText(s) {
    const p = s.protocol === 'http2' ? 'HTTP/2' : 'HTTP/1.1'
    if (!s.grpcStatus) return p
    const top = Object.entries(s.grpcStatus)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name, n]) => `${name} ${n >= 10000 ? `${Math.round(n / 1000)}k` : n}`)
    return `${p} · gRPC ${top.join(', ')}`
  }

  // ---------- routes (GET /v1/routes, read every ROUTES_EVERY_MS) ----------

  /** @param {unknown} m a route's match as configured */
  function matchText(m) {
    if (m === null || m === undefined) return 'any'
    if (typeof m === 'string') return m
    if (typeof m !== 'object') return String(m)
    const r = /** @type {{ host?: unknown, pathPrefix?: unknown, headers?: unknown }} */ (m)
    if ('pathPrefix' in r || 'host' in r) {
      const out = []
      if (typeof r.host === 'string') out.push(`host ${r.host}`)
      if (typeof r.pathPrefix === 'string') out.push(`${r.pathPrefix}*`)
      if (r.headers && typeof r.headers === 'object') for (const [k, v] of Object.entries(r.headers)) out.push(`${k}: ${String(v)}`)
      return out.length ? out.join(' · ') : 'any'
    }
    const parts = []
    for (const [k, v] of Object.entries(/** @type {Record<string, unknown>} */ (m))) {
      if (v === undefined || v === null) continue
      parts.push(`${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    }
    return parts.length ? parts.join(' · ') : 'any'
  }
  /** @returns {RouteRow} */
  function createRoute() {
    const parts = {
      listener: el('td', { class: 'listener' }),
      name: el('td', { class: 'name' }),
      match: el('code', { class: 'match' }),
      service: el('td', { class: 'service' }),
      success: el('td', { class: 'r success num' }),
      rps: el('td', { class: 'r rps num' }),
      p50: el('td', { class: 'r p50 num' }),
      p99: el('td', { class: 'r p99 num' }),
      requests: el('td', { class: 'r requests num' }),
    }
    const root = el('tr', { 'data-testid': 'route-row' }, [
      parts.listener,
      parts.name,
      el('td', { class: 'reason' }, [parts.match]),
      parts.service,
      parts.success,
      parts.rps,
      parts.p50,
      parts.p99,
      parts.requests,
    ])
    return { root, ...parts }
  }
  /** @param {RouteRow} row @param {{ listener: { name: string, listen?: string }, route: RouteView }} item */
  function updateRoute(row, { listener, route }) {
    setData(row.root, 'listener', listener.name)
    setData(row.root, 'route', route.name)
    row.listener.replaceChildren(listener.name, ...(listener.listen ? [el('span', { class: 'sub mono' }, [listener.listen])] : []))
    text(row.name, route.name)
    text(row.match, matchText(route.match))
    text(row.service, route.service ?? NONE)
    const sr = route.successRate ?? null
    text(row.success, fmtPct(sr))
    setClass(row.success, `r success num ${toneOf(sr)}`)
    setData(row.root, 'success', sr === null ? '' : String(sr))
    text(row.rps, fmtNum(route.rps))
    text(row.p50, fmtMs(route.p50Ms))
    text(row.p99, fmtMs(route.p99Ms))
    text(row.requests, route.requests === undefined ? NONE : route.requests.toLocaleString('en'))
  }
  /** @param {RoutesView} view */
  function renderRoutes(view) {
    const items = view.listeners.flatMap((listener) => listener.routes.map((route) => ({ listener, route })))
    sync(ui.routes, routeRows, items, (i) => `${i.listener.name}/${i.route.name}`, createRoute, updateRoute)
    ui.noRoutes.hidden = items.length > 0
    text(ui.routesNote, `${view.listeners.length} listener${view.listeners.length === 1 ? '' : 's'} · success rate, requests / s and latency over the last minute`)
  }
  async function pollRoutes() {
    if (authNeeded || routesMissing) return
    try {
      const res = await fetch('/v1/routes', { headers: headers(), cache: 'no-store' })
      if (res.status === 404) {
        routesMissing = true
        text(ui.routesNote, 'this sidecar has no routes view (GET /v1/routes)')
        ui.noRoutes.hidden = true
        return
      }
      if (!res.ok) return
      renderRoutes(/** @type {RoutesView} */ (await readJson(res)))
    } catch {
      // offline: the live badge says so; the last rows stay
    }
  }
  function startRoutes() {
    if (routesTimer) return
    void pollRoutes()
    routesTimer = setInterval(() => void pollRoutes(), ROUTES_EVERY_MS)
  }

  // ---------- events timeline ----------

  /** @param {TimelineEvent} e @param {string} [key] */
  function addEvent(e, key) {
    const k = key ?? `${e.at}|${e.kind}|${e.text}`
    if (eventKeys.has(k)) return
    eventKeys.add(k)
    let i = 0
    while (i < timeline.length && (timeline[i]?.at ?? 0) > e.at) i++
    timeline.splice(i, 0, e)
    while (timeline.length > MAX_EVENTS) timeline.pop()
    if (eventKeys.size > MAX_EVENTS * 4) {
      eventKeys.clear()
      for (const t of timeline) eventKeys.add(`${t.at}|${t.kind}|${t.text}`)
    }
    timelineDirty = true
  }
  function renderTimeline() {
    timelineDirty = false
    const now = Date.now()
    const rows = timeline.map((e) =>
      el('li', { 'data-testid': 'event-row', 'data-kind': e.kind, class: e.tone }, [
        el('span', { class: 'kind' }, [e.kind]),
        el('span', { class: 'what' }, [e.text]),
        el('span', { class: 'when num', title: new Date(e.at).toISOString() }, [now - e.at < 60_000 ? clock(e.at) : `${fmtDur(now - e.at)} ago`]),
      ]),
    )
    ui.events.replaceChildren(...rows)
    ui.noEvents.hidden = rows.length > 0
  }
  /** @param {string} id endpoint id @param {string} service */
  function shortId(id, service) {
    return id.startsWith(`${service}~`) ? `${service} ${id.slice(service.length + 1)}` : id
  }
  /** When the sidecar last told of an action itself, by subject (a diff of snapshots then adds nothing). @type {Map<string, number>} */
  const told = new Map()
  /** @param {string} subject @param {number} at */
  function toldRecently(subject, at) {
    const t = told.get(subject)
    return t !== undefined && Math.abs(at - t) < 15_000
  }
  /**
   * An event the sidecar sent (a named frame of /v1/events such as drain, undrain, maintenance; or
   * `events` in a snapshot), in the timeline's words.
   * @param {ServerEvent} ev @param {number} fallbackAt
   */
  function serverEvent(ev, fallbackAt) {
    const kind = String(ev.kind ?? ev.type ?? 'event')
    const at = typeof ev.at === 'number' ? ev.at : typeof ev.t === 'number' ? ev.t : fallbackAt
    const by = ev.by ? ` · by ${ev.by}` : ''
    /** @type {string} */
    let what
    /** @type {TimelineEvent['tone']} */
    let tone = ''
    if (kind === 'maintenance' && ev.id) {
      const subject = ev.target === 'local' ? `local service ${ev.id}` : shortId(ev.id, ev.id.split('~')[0] ?? '')
      what = `${subject} ${ev.on === false ? 'out of maintenance (undrained)' : 'in maintenance (drained)'}`
      tone = ev.on === false ? 'ok' : 'warn'
      told.set(`maintenance|${ev.id}`, Date.now())
    } else if (kind === 'drain' || kind === 'undrain') {
      what = kind === 'drain' ? 'this sidecar started draining' : 'this sidecar takes traffic again'
      tone = kind === 'drain' ? 'warn' : 'ok'
      told.set(kind, Date.now())
    } else {
      const who = ev.endpoint ? shortId(ev.endpoint, ev.service ?? '') : ev.id ?? ev.node ?? ev.service ?? ''
      const said = ev.message ?? ev.reason ?? ''
      what = [who, said ? human(said) : ''].filter(Boolean).join(': ') || kind
    }
    addEvent({ at, kind, text: what + by, tone }, `srv|${at}|${kind}|${ev.id ?? ''}|${what}`)
  }
  /**
   * What changed between two snapshots, as timeline events: breakers, ejections and other endpoint
   * states, maintenance, members, config reloads, drain, alerts (alerts and a draining node are
   * back-filled from the first snapshot, with their own times).
   * @param {StateSnapshot | null} prev @param {StateSnapshot} snap
   */
  function noteChanges(prev, snap) {
    const at = snap.t
    for (const ev of snap.events ?? []) serverEvent(ev, at)
    for (const a of snap.alerts) {
      const where = a.service ? ` · ${a.service}` : ''
      const tone = a.severity === 'critical' ? 'bad' : 'warn'
      addEvent({ at: a.startedAt, kind: 'alert', text: `${a.name}${where} firing (${a.severity})`, tone }, `alert|${a.name}|${a.service}|${a.endpoint}|${a.startedAt}|firing`)
      if (a.state === 'resolved' && a.resolvedAt !== undefined) {
        addEvent({ at: a.resolvedAt, kind: 'alert', text: `${a.name}${where} resolved`, tone: 'ok' }, `alert|${a.name}|${a.service}|${a.endpoint}|${a.startedAt}|resolved`)
      }
    }
    if (!prev) {
      if (snap.node.draining) addEvent({ at, kind: 'drain', text: 'this sidecar is draining', tone: 'warn' })
      renderTimeline()
      return
    }
    if (prev.node.configVersion !== snap.node.configVersion) {
      addEvent({ at, kind: 'reload', text: `config reloaded: ${prev.node.configVersion} → ${snap.node.configVersion}`, tone: 'ok' })
    }
    if (prev.node.draining !== snap.node.draining && !toldRecently(snap.node.draining ? 'drain' : 'undrain', Date.now())) {
      addEvent(
        snap.node.draining
          ? { at, kind: 'drain', text: 'this sidecar started draining', tone: 'warn' }
          : { at, kind: 'undrain', text: 'this sidecar takes traffic again', tone: 'ok' },
      )
    }
    const before = new Map(prev.endpoints.map((ep) => [ep.id, ep]))
    for (const ep of snap.endpoints) {
      const was = before.get(ep.id)
      before.delete(ep.id)
      const name = shortId(ep.id, ep.service)
      if (!was) {
        addEvent({ at, kind: 'endpoint', text: `${name} added (${ep.source})`, tone: '' })
        continue
      }
      if (was.breaker !== ep.breaker) {
        addEvent({ at, kind: 'breaker', text: `${name} breaker ${was.breaker} → ${ep.breaker}`, tone: ep.breaker === 'open' ? 'bad' : ep.breaker === 'closed' ? 'ok' : 'warn' })
      }
      if (Boolean(was.maintenance) !== Boolean(ep.maintenance) && !toldRecently(`maintenance|${ep.id}`, Date.now())) {
        addEvent({ at, kind: 'maintenance', text: `${name} ${ep.maintenance ? 'in maintenance (drained)' : 'out of maintenance'}`, tone: ep.maintenance ? 'warn' : 'ok' })
      }
      // a state the breaker or maintenance explains was told just above
      if (was.state !== ep.state && was.breaker === ep.breaker && Boolean(was.maintenance) === Boolean(ep.maintenance)) {
        const why = ep.state === 'healthy' ? '' : `: ${human(ep.reason)}`
        const kind = ep.state === 'ejected' && !/breaker/.test(ep.reason) ? 'ejection' : 'health'
        addEvent({ at, kind, text: `${name} ${was.state} → ${ep.state}${why}`, tone: ep.state === 'healthy' ? 'ok' : 'bad' })
      }
    }
    for (const ep of before.values()) addEvent({ at, kind: 'endpoint', text: `${shortId(ep.id, ep.service)} removed`, tone: '' })
    const members = new Map(prev.members.map((m) => [m.name, m]))
    for (const m of snap.members) {
      const was = members.get(m.name)
      members.delete(m.name)
      if (!was) addEvent({ at, kind: 'member', text: `${m.name} joined (${m.state})`, tone: 'ok' })
      else if (was.state !== m.state) addEvent({ at, kind: 'member', text: `${m.name} ${was.state} → ${m.state}`, tone: m.state === 'alive' ? 'ok' : m.state === 'left' ? '' : 'bad' })
    }
    for (const m of members.values()) addEvent({ at, kind: 'member', text: `${m.name} removed from the member list`, tone: '' })
    // relative times ("3m 10s ago") move on every 10 s even without news
    if (timelineDirty || Math.floor(at / 10_000) !== Math.floor(prev.t / 10_000)) renderTimeline()
  }

  /** @param {ServiceView} s @returns {ServiceCard} */
  function createService(s) {
    const name = el('h3', { class: 'name' })
    const strategy = el('span', { class: 'chip strategy' })
    const bar = {
      healthy: el('span', { class: 'healthy' }),
      unhealthy: el('span', { class: 'unhealthy' }),
      ejected: el('span', { class: 'ejected' }),
      draining: el('span', { class: 'draining' }),
    }
    const healthy = el('span', { class: 'stat healthy-count' })
    const success = el('span', { class: 'stat success' })
    const rps = el('span', { class: 'stat rps' })
    const panic = el('span', { class: 'badge panic', hidden: '' }, ['panic routing'])
    const head = el('div', { class: 'service-head' }, [
      name,
      strategy,
      el('div', { class: 'health-bar', title: 'healthy / unhealthy / ejected / draining' }, ENDPOINT_STATES.map((k) => bar[k])),
      healthy,
      success,
      rps,
      panic,
    ])
    const tr = el('tr', null, COLUMNS.map(([label, cls]) => el('th', { class: cls }, [label])))
    const tbody = el('tbody')
    const table = el('table', { class: 'grid endpoints' }, [el('thead', null, [tr]), tbody])
    const root = el('section', { class: 'card service', id: `service-${s.name}`, 'data-testid': 'service-card', 'data-service': s.name }, [
      head,
      el('div', { class: 'table-wrap' }, [table]),
    ])
    return { root, name, strategy, bar, healthy, success, rps, panic, tbody, rows: new Map() }
  }
  /** @param {ServiceCard} card @param {ServiceView} s @param {readonly EndpointView[]} eps @param {StateSnapshot} snap */
  function updateService(card, s, eps, snap) {
    text(card.name, s.name)
    text(card.strategy, s.strategy)
    /** @type {Record<EndpointState, number>} */
    const counts = { healthy: 0, unhealthy: 0, ejected: 0, draining: 0 }
    let rps = 0
    for (const ep of eps) {
      counts[ep.state] = (counts[ep.state] || 0) + 1
      rps += ep.rps ?? 0
    }
    const total = eps.length || 1
    for (const k of ENDPOINT_STATES) card.bar[k].style.width = `${(counts[k] / total) * 100}%`
    card.healthy.replaceChildren(el('b', null, [`${counts.healthy} / ${eps.length}`]), ' healthy')
    const sr = successOf(s, eps)
    card.success.replaceChildren(el('b', { class: toneOf(sr) }, [fmtPct(sr)]), ' success')
    card.rps.replaceChildren(el('b', null, [fmtNum(s.rps ?? rps)]), ' req/s')
    card.panic.hidden = !s.panic
    setData(card.root, 'panic', String(s.panic))
    sync(card.tbody, card.rows, eps, (ep) => ep.id, createEndpoint, (row, ep) => {
      updateEndpoint(row, ep, snap.series[ep.id])
    })
  }

  /** @returns {EndpointRow} */
  function createEndpoint() {
    const rpsSpark = spark('rps', 60, 18)
    const rps = el('span', { class: 'v' })
    const p99Spark = spark('p99', 60, 18)
    const p99 = el('span', { class: 'v' })
    const parts = {
      state: el('span', { class: 'state' }),
      addr: el('code', { class: 'addr' }),
      sub: el('span', { class: 'sub' }),
      success: el('td', { class: 'r success' }),
      weight: el('td', { class: 'r weight' }),
      inflight: el('td', { class: 'r inflight' }),
      ewma: el('td', { class: 'r ewma' }),
      rpsSpark,
      rps,
      p99Spark,
      p99,
      breaker: el('span', { class: 'breaker' }),
      reason: el('td', { class: 'reason' }),
    }
    const root = el('tr', { class: 'endpoint', 'data-testid': 'endpoint-row', tabindex: '0' }, [
      el('td', null, [parts.state]),
      el('td', null, [parts.addr, parts.sub]),
      parts.success,
      el('td', { class: 'r' }, [el('span', { class: 'spark-cell' }, [rpsSpark.root, rps])]),
      el('td', { class: 'r' }, [el('span', { class: 'spark-cell' }, [p99Spark.root, p99])]),
      parts.ewma,
      parts.inflight,
      parts.weight,
      el('td', null, [parts.breaker]),
      parts.reason,
    ])
    root.addEventListener('click', () => void openDetail(root.dataset.endpointId))
    root.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') void openDetail(root.dataset.endpointId)
    })
    return { root, ...parts }
  }
  /** @param {EndpointRow} row @param {EndpointView} ep @param {SeriesView | undefined} series */
  function updateEndpoint(row, ep, series) {
    setData(row.root, 'endpointId', ep.id)
    setData(row.root, 'state', ep.state)
    setData(row.root, 'breaker', ep.breaker)
    setData(row.root, 'maintenance', String(Boolean(ep.maintenance)))
    setClass(row.state, `state ${ep.maintenance ? 'maintenance' : ep.state}`)
    text(row.state, ep.maintenance ? 'maintenance' : ep.state)
    text(row.addr, ep.address)
    const sr = ep.successRate
    text(row.success, fmtPct(sr))
    setClass(row.success, `r success num ${toneOf(sr)}`)
    text(row.sub, [ep.zone || 'no zone', ep.node ? `node ${ep.node}` : ep.source, ...ep.tags].join(' · '))
    text(row.weight, ep.effectiveWeight !== ep.weight ? `${fmtNum(ep.effectiveWeight)} / ${ep.weight}` : ep.weight)
    text(row.inflight, ep.inFlight)
    // the EWMA decays towards 0 without traffic: idle says so rather than "0.01 ms"
    const idle = ep.inFlight === 0 && ep.rps !== undefined && ep.rps < 0.005
    text(row.ewma, ep.ewmaLatencyMs === null ? NONE : idle ? 'idle' : fmtMs(ep.ewmaLatencyMs))
    row.ewma.title = idle ? 'no requests in the last minute' : 'peak-EWMA latency the balancer uses'
    drawSpark(row.rpsSpark, series?.rps ?? [], 1)
    text(row.rps, fmtNum(ep.rps))
    drawSpark(row.p99Spark, series?.p99 ?? [], 1)
    text(row.p99, fmtMs(ep.p99Ms))
    setClass(row.breaker, `breaker ${ep.breaker}`)
    text(row.breaker, ep.breaker)
    const reason = human(ep.reason)
    text(row.reason, ep.state === 'healthy' && ep.reason === 'ok' ? '' : reason)
    row.reason.title = reason
  }

  /** @returns {MemberRow} */
  function createMember() {
    const parts = {
      name: el('span', { class: 'mname' }),
      self: el('span', { class: 'self', hidden: '' }, ['this node']),
      sub: el('span', { class: 'sub mono' }),
      state: el('span', { class: 'state' }),
      zone: el('td', { class: 'zone' }),
    }
    const root = el('tr', { 'data-testid': 'member-row' }, [
      el('td', null, [parts.name, parts.self, parts.sub]),
      el('td', null, [parts.state]),
      parts.zone,
    ])
    return { root, ...parts }
  }
  /** @param {MemberRow} row @param {MemberView} m */
  function updateMember(row, m) {
    setData(row.root, 'member', m.name)
    setData(row.root, 'state', m.state)
    text(row.name, m.name)
    row.self.hidden = !m.self
    text(row.sub, m.address + (m.services.length ? ` · ${m.services.join(', ')}` : ''))
    setClass(row.state, `state ${m.state}`)
    text(row.state, m.state)
    text(row.zone, m.zone || NONE)
    const inc = `incarnation ${m.incarnation}: raised each time the member refutes a suspicion or rejoins`
    if (row.state.title !== inc) row.state.title = inc
  }

  /** @returns {AlertRow} */
  function createAlert() {
    const parts = {
      sev: el('span', { class: 'sev' }),
      what: el('span', { class: 'what' }),
      when: el('span', { class: 'when num' }),
      detail: el('span', { class: 'detail-line num' }),
    }
    const root = el('li', { 'data-testid': 'alert-row' }, [parts.sev, parts.what, parts.when, parts.detail])
    return { root, ...parts }
  }
  /** @param {AlertRow} row @param {AlertView} a @param {number} now */
  function updateAlert(row, a, now) {
    setData(row.root, 'state', a.state)
    setClass(row.root, a.state)
    setClass(row.sev, `sev ${a.severity}`)
    text(row.sev, a.state === 'firing' ? a.severity : 'resolved')
    const where = a.endpoint && a.service && a.endpoint.startsWith(`${a.service}~`) ? a.endpoint.slice(a.service.length + 1) : a.endpoint
    text(row.what, a.name + (a.service ? ` · ${a.service}` : '') + (where ? ` · ${where}` : ''))
    text(row.when, a.state === 'firing' ? `for ${fmtDur(now - a.startedAt)}` : `${fmtDur(now - (a.resolvedAt ?? now))} ago`)
    const v =
      a.rule === 'error-rate'
        ? `${(a.value * 100).toFixed(1)}% > ${(a.threshold * 100).toFixed(1)}%`
        : a.rule === 'p99-latency'
          ? `${fmtMs(a.value)} > ${fmtMs(a.threshold)}`
          : String(a.value)
    text(row.detail, `${a.rule}: ${v}`)
  }

  // ---------- endpoint detail ----------

  /** The detail's state line and maintenance buttons, from the latest snapshot. @param {string} id */
  function updateDetailState(id) {
    const ep = last?.endpoints.find((e) => e.id === id)
    ui.epDrain.hidden = Boolean(ep?.maintenance)
    ui.epUndrain.hidden = !ep?.maintenance
    if (!ep) {
      setClass(ui.detailState, 'state')
      text(ui.detailState, '')
      text(ui.detailStats, '')
      return
    }
    setClass(ui.detailState, `state ${ep.maintenance ? 'maintenance' : ep.state}`)
    text(ui.detailState, ep.maintenance ? 'maintenance' : ep.state)
    text(ui.detailStats, `success ${fmtPct(ep.successRate)} · ${fmtNum(ep.rps)} req/s · p50 ${fmtMs(ep.p50Ms)} · p99 ${fmtMs(ep.p99Ms)} · breaker ${ep.breaker}`)
  }
  /** @param {string | undefined} id */
  async function openDetail(id) {
    if (!id) return
    detailId = id
    const [service, ...address] = id.split('~')
    text(ui.detailTitle, address.join('~') || id)
    text(ui.detailSub, `service ${service ?? ''} · last hour`)
    updateDetailState(id)
    ui.detailTransitions.replaceChildren()
    if (!ui.detail.open) ui.detail.showModal()
    try {
      const res = await fetch(`/v1/endpoints/${encodeURIComponent(id)}/history?since=1h`, { headers: headers(), cache: 'no-store' })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      const h = /** @type {HistoryView} */ (await readJson(res))
      if (detailId !== id) return
      const per = 1000 / h.bucketMs
      const done = h.buckets.filter((b) => b.start + h.bucketMs <= Date.now())
      const times = done.map((b) => b.start)
      axisChart(ui.chartRps, 'rps', times, done.map((b) => b.requests * per), { format: (v) => `${fmtNum(v)}/s`, floor: 1 })
      axisChart(ui.chartSuccess, 'ok', times, done.map((b) => (b.requests > 0 ? (100 * (b.requests - b.errors)) / b.requests : null)), {
        format: (v) => `${Math.round(v)}%`,
        top: 100,
      })
      axisChart(ui.chartP99, 'p99', times, done.map((b) => b.p99), { format: (v) => fmtMs(v), floor: 1 })
      const rows = h.transitions
        .slice()
        .reverse()
        .map((t) =>
          el('tr', null, [el('td', { class: 'num' }, [clock(t.at)]), el('td', null, [t.from]), el('td', null, [t.to]), el('td', { class: 'reason' }, [human(t.reason)])]),
        )
      ui.detailTransitions.replaceChildren(...rows)
      ui.detailEmpty.hidden = rows.length > 0
    } catch (err) {
      toast(`History unavailable: ${messageOf(err)}`, true)
    }
  }

  // ---------- live data ----------

  /** @param {Mode} m */
  function setMode(m) {
    if (mode === m) return
    mode = m
    ui.live.dataset.mode = m
    if (liveLabel) text(liveLabel, MODE_LABELS[m])
  }
  /** @param {boolean} blocking reads are refused too (exposed bind), so live data waits for the token */
  function askToken(blocking) {
    if (blocking) {
      authNeeded = true
      stopPolling()
    }
    // an open endpoint detail is a modal dialog in the top layer: the form goes inside it to be reachable
    const host = ui.detail.open ? ui.detail : document.body
    if (ui.auth.parentElement !== host) host.append(ui.auth)
    ui.auth.hidden = false
    ui.authToken.focus()
  }
  /** The stream counts as dead after 5 s without a frame. */
  function kick() {
    clearTimeout(watchdog)
    watchdog = setTimeout(() => streamCtrl?.abort(), 5000)
  }
  /** Reads /v1/events until it fails; never resolves. */
  async function stream() {
    const ctrl = new AbortController()
    streamCtrl = ctrl
    const res = await fetch('/v1/events', { headers: headers({ accept: 'text/event-stream' }), signal: ctrl.signal, cache: 'no-store' })
    if (res.status === 401) {
      askToken(true)
      throw new Error('unauthorized')
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`)
    const reader = res.body.getReader()
    const decoder = new TextDecoder()
    let buf = ''
    kick()
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) throw new Error('stream ended')
      buf += decoder.decode(chunk.value, { stream: true })
      for (let at = buf.indexOf('\n\n'); at >= 0; at = buf.indexOf('\n\n')) {
        const frame = buf.slice(0, at)
        buf = buf.slice(at + 2)
        const lines = frame.split('\n')
        const data = lines
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n')
        if (!data) continue
        kick()
        stopPolling()
        setMode('sse')
        // a named frame is an event for the timeline (drain, maintenance, ...); unnamed ones are snapshots
        const name = lines.find((l) => l.startsWith('event:'))?.slice(6).trim()
        if (name && name !== 'message' && name !== 'state') {
          serverEvent({ kind: name, .../** @type {ServerEvent} */ (parseJson(data)) }, Date.now())
          renderTimeline()
        } else render(/** @type {StateSnapshot} */ (parseJson(data)))
      }
    }
  }
  function connect() {
    if (authNeeded) return
    startRoutes()
    if (params.get('poll') === '1') {
      startPolling()
      return
    }
    stream().catch(() => {
      clearTimeout(watchdog)
      if (authNeeded) return
      if (mode === 'sse') setMode('polling')
      startPolling()
      clearTimeout(retryTimer)
      retryTimer = setTimeout(connect, 5000)
    })
  }
  function startPolling() {
    if (pollTimer) return
    void poll()
    pollTimer = setInterval(() => void poll(), 1000)
  }
  function stopPolling() {
    clearInterval(pollTimer)
    pollTimer = 0
  }
  async function poll() {
    try {
      const res = await fetch('/v1/state', { headers: headers(), cache: 'no-store' })
      if (res.status === 401) {
        askToken(true)
        return
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      const snap = /** @type {StateSnapshot} */ (await readJson(res))
      if (mode !== 'sse') setMode('polling')
      render(snap)
    } catch {
      if (mode !== 'sse') setMode('offline')
    }
  }

  // ---------- actions ----------

  /** @param {string} msg @param {boolean} [bad] */
  function toast(msg, bad) {
    const t = ui.toast
    text(t, msg)
    setClass(t, `toast ${bad ? 'bad' : 'ok'}`)
    t.hidden = false
    clearTimeout(toastTimer)
    toastTimer = setTimeout(() => {
      t.hidden = true
    }, bad ? 9000 : 4000)
  }
  /** @param {string} path @returns {Promise<{ ok: boolean, status: number, body: ActionReply }>} */
  async function post(path) {
    const res = await fetch(path, { method: 'POST', headers: headers() })
    const body = /** @type {ActionReply} */ (await readJson(res).catch(() => ({})))
    if (res.status === 401) askToken(false)
    return { ok: res.ok, status: res.status, body }
  }
  async function reload() {
    const b = ui.reload
    b.disabled = true
    try {
      const r = await post('/v1/reload')
      if (r.ok) toast(`Config reloaded · version ${r.body.version ?? ''}`)
      else if (r.status !== 401) addEvent({ at: Date.now(), kind: 'reload', text: `reload refused: ${r.body.message || r.status}`, tone: 'bad' })
      else if (r.status === 401) toast('The admin token is required: enter it, then reload again.', true)
      else toast(`Reload refused (${r.status})\n${r.body.message || ''}`, true)
    } catch (err) {
      toast(`Reload failed: ${messageOf(err)}`, true)
    }
    b.disabled = false
  }
  async function drain() {
    if (draining) return undrain()
    if (!confirm('Drain this sidecar? It stops taking traffic, finishes in-flight requests and leaves the cluster.')) return
    try {
      const r = await post('/v1/drain')
      toast(r.ok ? 'Draining…' : `Drain refused (${r.status}): ${r.body.message || ''}`, !r.ok)
    } catch (err) {
      toast(`Drain failed: ${messageOf(err)}`, true)
    }
  }
  async function undrain() {
    try {
      const r = await post('/v1/undrain')
      if (r.ok) toast('Taking traffic again')
      else if (r.status === 404) toast('This sidecar cannot undrain (no POST /v1/undrain): restart it.', true)
      else if (r.status === 401) toast('The admin token is required: enter it, then try again.', true)
      else toast(`Undrain refused (${r.status}): ${r.body.message || ''}`, true)
    } catch (err) {
      toast(`Undrain failed: ${messageOf(err)}`, true)
    }
  }
  /** Endpoint maintenance (POST /v1/endpoints/{id}/drain | undrain): token rules as for reload. @param {'drain' | 'undrain'} action */
  async function endpointAction(action) {
    const id = detailId
    if (!id) return
    if (action === 'drain' && !confirm(`Drain ${id}? No new requests go to it; in-flight ones finish.`)) return
    try {
      const r = await post(`/v1/endpoints/${encodeURIComponent(id)}/${action}`)
      if (r.ok) toast(action === 'drain' ? `${id} drained (maintenance)` : `${id} takes requests again`)
      else if (r.status === 404) toast(`This sidecar has no endpoint ${action} (POST /v1/endpoints/{id}/${action}), or the endpoint is gone.`, true)
      else if (r.status === 401) toast('The admin token is required: enter it, then try again.', true)
      else toast(`${action} refused (${r.status}): ${r.body.message || ''}`, true)
    } catch (err) {
      toast(`${action} failed: ${messageOf(err)}`, true)
    }
  }
  ui.reload.addEventListener('click', () => void reload())
  ui.drain.addEventListener('click', () => void drain())
  ui.epDrain.addEventListener('click', () => void endpointAction('drain'))
  ui.epUndrain.addEventListener('click', () => void endpointAction('undrain'))
  /** @param {string} t */
  function applyTheme(t) {
    if (t === 'auto') document.documentElement.removeAttribute('data-theme')
    else document.documentElement.setAttribute('data-theme', t)
    ui.theme.title = `Theme: ${t}`
  }
  let theme = params.get('theme') || localStorage.getItem('commy.theme') || 'auto'
  applyTheme(theme)
  ui.theme.addEventListener('click', () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length] ?? 'auto'
    localStorage.setItem('commy.theme', theme)
    applyTheme(theme)
  })
  ui.authForm.addEventListener('submit', (e) => {
    e.preventDefault()
    token = ui.authToken.value.trim()
    sessionStorage.setItem('commy.admin.token', token)
    const blocked = authNeeded
    authNeeded = false
    ui.auth.hidden = true
    if (blocked) connect()
  })
  ui.detail.addEventListener('close', () => {
    detailId = null
    if (ui.auth.parentElement === ui.detail) document.body.append(ui.auth)
  })

  setMode('connecting')
  connect()
})()
