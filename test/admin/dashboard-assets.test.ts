/**
 * The dashboard's assets: the browser script is read from its source file beside assets.ts on
 * first use (not at import, not per request), once per server, a failed read tried again; and the
 * build puts it beside the compiled module, where dist/ reads it.
 */
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { DASHBOARD_CLIENT_URL, dashboardAssets, type ReadText } from '../../src/admin/dashboard/assets.js'
import { ROOT } from '../helpers/cli.js'

const JS = '/assets/dashboard.js'

t.test('the client script is read lazily, once, and again after a failure', async (t) => {
  const reads: URL[] = []
  let fail = true
  const readText: ReadText = async (url) => {
    reads.push(url)
    await new Promise((r) => setTimeout(r, 5))
    if (fail) throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' })
    return 'console.log(1)'
  }
  const assets = dashboardAssets({ readText })
  const js = assets.get(JS)!
  t.equal(js.type, 'text/javascript; charset=utf-8')
  t.equal(reads.length, 0, 'nothing read before the first request')

  await t.rejects(js.content(), { code: 'ENOENT' }, 'a failed read is reported')
  fail = false
  const [a, b] = await Promise.all([js.content(), js.content()])
  t.equal(reads.length, 2, 'read again after the failure, once for concurrent requests')
  t.same(reads.map(String), [DASHBOARD_CLIENT_URL.href, DASHBOARD_CLIENT_URL.href])
  t.equal(a.body, 'console.log(1)')
  t.equal(a, b)
  t.match(a.etag, /^"[\w-]{22}"$/)
  await js.content()
  t.equal(reads.length, 2, 'kept after the first successful read')
  t.not(dashboardAssets({ readText }).get(JS), js, 'each server has its own (no module-level cache)')
})

t.test('the default reader serves client.js from beside assets.ts as it is', async (t) => {
  t.match(DASHBOARD_CLIENT_URL.pathname, /\/src\/admin\/dashboard\/client\.js$/)
  const { body } = await dashboardAssets().get(JS)!.content()
  t.equal(body, readFileSync(DASHBOARD_CLIENT_URL, 'utf8'))
  t.match(body, /^\/\/ @ts-check\n/, 'the checked source file, not a copy')
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiles the served script to check that it parses; never runs it
  t.doesNotThrow(() => new Function(body), 'a classic script (no import/export)')
})

const BUILT = join(ROOT, 'dist/src/admin/dashboard/assets.js')

t.test('the built package reads the copy under dist/', { skip: existsSync(BUILT) ? false : 'not built: run `npm run build` (npm test does)' }, async (t) => {
  const mod = (await import(pathToFileURL(BUILT).href)) as typeof import('../../src/admin/dashboard/assets.js')
  t.match(mod.DASHBOARD_CLIENT_URL.pathname, /\/dist\/src\/admin\/dashboard\/client\.js$/)
  t.ok(existsSync(mod.DASHBOARD_CLIENT_URL), 'the build copied client.js beside the compiled module')
  const { body } = await mod.dashboardAssets().get(JS)!.content()
  t.equal(body, readFileSync(mod.DASHBOARD_CLIENT_URL, 'utf8'))
  t.match(body, /^\/\/ @ts-check\n/)
})
