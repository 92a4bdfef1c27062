/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against the admin
 * server with a fake sidecar of two services: members, endpoint health, a breaker turning open
 * live, the endpoint detail, the polling fallback. Saves test-results/dashboard.png.
 */
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { AdminServer } from '../../src/admin/server.js'
import { Metrics } from '../../src/admin/metrics.js'
import { FakeSidecar } from '../helpers/admin-fake.js'
import type { DomElement } from '../helpers/dom.js'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const missing = !existsSync(CHROMIUM)
mkdirSync('test-results', { recursive: true })

t.test('dashboard in chromium', { skip: missing ? `${CHROMIUM} is missing (apt-get install -y chromium); dashboard test skipped` : false }, async (t) => {
  const fake = new FakeSidecar()
  const unhealthy = fake.endpoint('payments~10.0.0.3:8080')
  unhealthy.activeHealth = 'unhealthy'
  unhealthy.activeReason = 'HTTP 503 from /health'
  fake.alertsList = [
    {
      name: 'search-p99',
      rule: 'p99-latency',
      service: 'search',
      state: 'firing',
      severity: 'warning',
      value: 412,
      threshold: 250,
      startedAt: Date.now() - 95_000,
      node: 'node-a',
    },
    {
      name: 'payments-errors',
      rule: 'error-rate',
      service: 'payments',
      state: 'resolved',
      severity: 'critical',
      value: 0.012,
      threshold: 0.05,
      startedAt: Date.now() - 900_000,
      resolvedAt: Date.now() - 600_000,
      node: 'node-a',
    },
  ]
  fake.nodeView = { ...fake.nodeView, tls: { identity: 'spiffe://commy/service/payments', notAfter: Date.now() + 3 * 86_400_000 - 60_000 } }
  const server = new AdminServer({
    config: { listen: { host: '127.0.0.1', port: 0 }, token: undefined, watchConfig: false },
    source: fake,
    actions: fake,
    metrics: new Metrics({ source: fake, defaultMetrics: false }),
    eventIntervalMs: 250,
  })
  await server.start()
  t.teardown(() => server.stop())
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 })
  t.teardown(() => browser.close())
  const page: Page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' })
  const errors: string[] = []
  const foreign: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url)) foreign.push(r.url())
  })
  page.setDefaultTimeout(10_000)

  await page.goto(`${server.url}/`)
  await page.waitForSelector('[data-testid=live-status][data-mode=sse]')

  // members
  await page.waitForSelector('[data-testid=member-row]')
  const members = await page.$$eval('[data-testid=member-row]', (rows: DomElement[]) => rows.map((r) => [r.dataset.member, r.dataset.state]))
  t.same(members, [
    ['node-a', 'alive'],
    ['node-b', 'alive'],
    ['node-c', 'suspect'],
  ])

  // services and endpoint health
  t.same(await page.$$eval('[data-testid=service-card]', (c: DomElement[]) => c.map((e) => e.dataset.service)), ['payments', 'search'])
  const rows = () =>
    page.$$eval('[data-testid=endpoint-row]', (rs: DomElement[]) =>
      Object.fromEntries(rs.map((r): [string, (string | undefined)[]] => [String(r.dataset.endpointId), [r.dataset.state, r.dataset.breaker]])),
    )
  t.same(await rows(), {
    'payments~10.0.0.1:8080': ['healthy', 'closed'],
    'payments~10.0.0.2:8080': ['healthy', 'closed'],
    'payments~10.0.0.3:8080': ['unhealthy', 'closed'],
    'search~10.0.1.1:9200': ['healthy', 'closed'],
    'search~10.0.1.2:9200': ['healthy', 'closed'],
  })
  t.match(await page.textContent('[data-endpoint-id="payments~10.0.0.3:8080"] td.reason'), 'HTTP 503 from /health')
  t.equal(await page.textContent('[data-testid=config-version]'), 'c0ffee12')
  t.equal(await page.textContent('[data-testid=node-name]'), 'node-a')
  t.equal(await page.textContent('[data-testid=node-identity]'), 'spiffe://commy/service/payments', 'the mesh identity')
  t.equal(await page.textContent('[data-testid=node-cert-left]'), '2d 23h', 'time left on the certificate')
  t.equal(await page.getAttribute('[data-testid=node-tls]', 'class'), 'muted cert-soon', 'under 7 days: highlighted')
  t.equal(await page.locator('[data-testid=alert-row]').count(), 2)
  t.equal(await page.getAttribute('[data-testid=alert-row] >> nth=0', 'data-state'), 'firing', 'firing alerts first')
  t.ok(
    await page.$eval('[data-endpoint-id="payments~10.0.0.1:8080"] svg.spark.rps path.line', (p: DomElement) => (p.getAttribute('d') ?? '').length > 50),
    'req/s sparkline drawn from history',
  )

  // a breaker opens: the dashboard follows without a reload
  fake.setBreaker('payments~10.0.0.2:8080', 'open')
  await page.waitForSelector('[data-testid=endpoint-row][data-endpoint-id="payments~10.0.0.2:8080"][data-breaker=open]')
  t.same((await rows())['payments~10.0.0.2:8080'], ['ejected', 'open'])
  t.match(await page.textContent('[data-endpoint-id="payments~10.0.0.2:8080"] td.reason'), 'circuit breaker open')
  t.equal(await page.textContent('#sum-breakers'), '1')

  // a member goes away, a config reload lands
  fake.membersList = [fake.membersList[0]!, { ...fake.membersList[1]!, state: 'dead' }, fake.membersList[2]!]
  await fake.reload()
  await page.waitForSelector('[data-testid=member-row][data-member=node-b][data-state=dead]')
  await page.locator('[data-testid=config-version]', { hasText: 'beefcafe' }).waitFor()
  t.pass('member state and config version follow')

  await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true })

  // endpoint detail from the retained history
  await page.click('[data-endpoint-id="payments~10.0.0.2:8080"]')
  await page.waitForSelector('#detail[open] #detail-transitions tr')
  t.match(await page.textContent('#detail-transitions'), /breaker open/)
  await page.screenshot({ path: 'test-results/dashboard-detail.png' })
  await page.keyboard.press('Escape')

  // light theme, polling fallback
  const light = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' })
  await light.goto(`${server.url}/?poll=1`)
  await light.waitForSelector('[data-testid=live-status][data-mode=polling]')
  await light.waitForSelector('[data-testid=endpoint-row][data-endpoint-id="payments~10.0.0.2:8080"][data-breaker=open]')
  fake.setBreaker('payments~10.0.0.2:8080', 'half-open')
  await light.waitForSelector('[data-testid=endpoint-row][data-endpoint-id="payments~10.0.0.2:8080"][data-breaker=half-open]')
  t.pass('polling fallback updates too')
  await light.screenshot({ path: 'test-results/dashboard-light.png', fullPage: true })

  t.same(errors, [], 'no script errors')
  t.same(foreign, [], 'nothing loaded from anywhere else')

  // the server going away shows as offline, not as a stale "live"
  await server.stop()
  await page.waitForSelector('[data-testid=live-status][data-mode=offline]', { timeout: 15_000 })
  t.pass('offline shown when the sidecar is gone')
})

t.test('dashboard asks for the token when an action needs it', { skip: missing ? `${CHROMIUM} is missing; skipped` : false }, async (t) => {
  const fake = new FakeSidecar()
  const token = 'dashboard-test-token-0123456789'
  const server = new AdminServer({
    config: { listen: { host: '127.0.0.1', port: 0 }, token, watchConfig: false },
    source: fake,
    actions: fake,
    metrics: new Metrics({ source: fake, defaultMetrics: false }),
    eventIntervalMs: 250,
  })
  await server.start()
  t.teardown(() => server.stop())
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.setDefaultTimeout(10_000)
  await page.goto(`${server.url}/`)
  await page.waitForSelector('[data-testid=live-status][data-mode=sse]', { timeout: 10_000 })
  t.ok(await page.isHidden('#auth'), 'reads on loopback need no token')
  await page.click('#reload')
  await page.waitForSelector('#auth:not([hidden])')
  t.equal(fake.reloadCalls, 0, 'refused without the token')
  await page.fill('#auth-token', token)
  await page.click('#auth-form button[type=submit]')
  await page.click('#reload')
  await page.locator('#toast', { hasText: 'Config reloaded' }).waitFor()
  t.equal(fake.reloadCalls, 1, 'reload sent with the bearer token, same-origin')
  await page.locator('[data-testid=config-version]', { hasText: 'beefcafe' }).waitFor()
  t.same(errors, [])
})
