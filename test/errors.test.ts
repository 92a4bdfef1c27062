/**
 * The error table (ERRORS in src/errors.ts) is the one list of codes: every error class answers
 * with its row's status, every row has a class, and README's tables and the docs agree with it.
 */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as core from '../src/errors.js'
import { CommyError, ERRORS, type ErrorCode } from '../src/errors.js'
import * as admin from '../src/admin/errors.js'
import * as gossip from '../src/membership/errors.js'
import * as check from '../src/health/check.js'
import * as webhook from '../src/health/webhook.js'
import { ROOT } from './helpers/cli.js'

const CODE = /COMMY_ERR_[A-Z0-9_]*[A-Z0-9]/g

/** One instance of every error class, by class name (a new class needs a line here). */
const instances: Record<string, () => CommyError> = {
  ConfigError: () => new core.ConfigError('f.yaml', [{ path: 'a', line: 1, message: 'bad' }]),
  InjectError: () => new core.InjectError('document 1 (Pod/p): bad'),
  InternalError: () => new core.InternalError(),
  NoRouteError: () => new core.NoRouteError(),
  NoHealthyEndpointError: () => new core.NoHealthyEndpointError('svc'),
  UpstreamConnectError: () => new core.UpstreamConnectError('127.0.0.1:1'),
  UpstreamIdentityError: () => new core.UpstreamIdentityError('127.0.0.1:1', 'spiffe://commy/service/a', 'spiffe://commy/service/b'),
  UpstreamGrpcStatusError: () => new core.UpstreamGrpcStatusError('127.0.0.1:1', 14, undefined),
  UpstreamResetError: () => new core.UpstreamResetError('127.0.0.1:1', 'written'),
  UpstreamProtocolError: () => new core.UpstreamProtocolError('127.0.0.1:1'),
  GrpcOverHttp1Error: () => new core.GrpcOverHttp1Error('svc'),
  UpstreamTimeoutError: () => new core.UpstreamTimeoutError('127.0.0.1:1', 10),
  BreakerOpenError: () => new core.BreakerOpenError('127.0.0.1:1'),
  OverloadedError: () => new core.OverloadedError('svc', 'queue full'),
  LocalResourcesError: () => new core.LocalResourcesError('127.0.0.1:1', { cause: Object.assign(new Error('x'), { code: 'EMFILE' }) }),
  RetryBudgetExhaustedError: () => new core.RetryBudgetExhaustedError('svc'),
  BadRequestError: () => new core.BadRequestError('bad'),
  MethodNotAllowedError: () => new core.MethodNotAllowedError('CONNECT'),
  RequestTimeoutError: () => new core.RequestTimeoutError(),
  HeadersTooLargeError: () => new core.HeadersTooLargeError(),
  UriTooLongError: () => new core.UriTooLongError(8192),
  TransferEncodingError: () => new core.TransferEncodingError(),
  HttpVersionError: () => new core.HttpVersionError(2, 0),
  UpgradeUnsupportedError: () => new core.UpgradeUnsupportedError(),
  DrainingError: () => new core.DrainingError(),
  ForbiddenError: () => new core.ForbiddenError('users', 'web'),
  ClientAbortedError: () => new core.ClientAbortedError(),
  AdminNotFoundError: () => new admin.AdminNotFoundError(),
  AdminMethodNotAllowedError: () => new admin.AdminMethodNotAllowedError('PUT', ['GET']),
  AdminUnauthorizedError: () => new admin.AdminUnauthorizedError(),
  AdminForbiddenError: () => new admin.AdminForbiddenError('no'),
  AdminBadRequestError: () => new admin.AdminBadRequestError('no'),
  AdminBusyError: () => new admin.AdminBusyError('busy'),
  AdminReloadRefusedError: () => new admin.AdminReloadRefusedError('refused'),
  AdminUnavailableError: () => new admin.AdminUnavailableError('full'),
  NotReadyError: () => new admin.NotReadyError('starting'),
  AdminInsecureBindError: () => new admin.AdminInsecureBindError('0.0.0.0'),
  AdminListenError: () => new admin.AdminListenError('127.0.0.1:1', { cause: Object.assign(new Error('x'), { code: 'EADDRINUSE' }) }),
  ProbesListenError: () => new admin.ProbesListenError('0.0.0.0:4191', { cause: Object.assign(new Error('x'), { code: 'EADDRINUSE' }) }),
  CheckTimeoutError: () => new check.CheckTimeoutError(10),
  CheckCancelledError: () => new check.CheckCancelledError(),
  WebhookTimeoutError: () => new webhook.WebhookTimeoutError(10),
  GossipDecodeError: () => new gossip.GossipDecodeError('short'),
  GossipExchangeError: () => new gossip.GossipExchangeError('127.0.0.1:1', 'refused'),
  GossipMetaError: () => new gossip.GossipMetaError('too big'),
  GossipKeyError: () => new gossip.GossipKeyError('bad key'),
  GossipBindError: () => new gossip.GossipBindError('127.0.0.1:1'),
}

/** Every exported subclass of CommyError in the modules that declare error classes. */
function errorClasses(): string[] {
  const names: string[] = []
  for (const mod of [core, admin, gossip, check, webhook] as Record<string, unknown>[]) {
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value === 'function' && value.prototype instanceof CommyError) names.push(name)
    }
  }
  return names.sort()
}

/** `code -> status` rows of the tables in README's "### Errors" section. */
function readmeRows(): { code: string; status: string }[] {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const start = text.indexOf('\n### Errors\n')
  const end = text.indexOf('\n### ', start + 1)
  const section = text.slice(start, end < 0 ? undefined : end)
  const rows: { code: string; status: string }[] = []
  for (const m of section.matchAll(/^\| `(COMMY_ERR_[A-Z0-9_]+)` \| ([^|]+?) \|/gm)) rows.push({ code: m[1]!, status: m[2]! })
  return rows
}

const readmeTable = () =>
  Object.entries(ERRORS)
    .map(([code, row]) => `| \`${code}\` | ${row.status} | ${row.meaning} |`)
    .join('\n')

t.test('every code is COMMY_ERR_-prefixed, unique, with a status and a meaning', async (t) => {
  const codes = Object.keys(ERRORS)
  for (const code of codes) {
    t.match(code, /^COMMY_ERR_[A-Z0-9_]+$/, code)
    const row = ERRORS[code as ErrorCode]
    t.ok(Number.isInteger(row.status) && row.status >= 400 && row.status <= 599, `${code}: an error status`)
    t.ok(row.meaning.length > 0 && !row.meaning.includes('\n'), `${code}: a one-line meaning`)
  }
  const source = readFileSync(join(ROOT, 'src/errors.ts'), 'utf8')
  const declared = [...source.matchAll(/^ {2}(COMMY_ERR_[A-Z0-9_]+): \{/gm)].map((m) => m[1]!)
  t.same(declared, codes, 'each row written once in src/errors.ts')
  t.ok(Object.isFrozen(ERRORS) && Object.values(ERRORS).every((r) => Object.isFrozen(r)), 'frozen')
})

t.test('every error class answers with its row of the table; every row has a class', async (t) => {
  t.same(errorClasses(), Object.keys(instances).sort(), 'every exported error class has an instance in this test')
  const used = new Set<string>()
  for (const [name, make] of Object.entries(instances)) {
    const e = make()
    t.equal(e.name, name)
    t.ok(e.code in ERRORS, `${name}: ${e.code} is in the table`)
    t.equal(e.status, ERRORS[e.code].status, `${name}: status ${e.status} is the row's`)
    used.add(e.code)
  }
  t.same([...used].sort(), Object.keys(ERRORS).sort(), 'no row without a class')
})

t.test("README's error tables list exactly the table's codes and statuses", async (t) => {
  const rows = readmeRows()
  const seen = new Set<string>()
  for (const r of rows) {
    t.notOk(seen.has(r.code), `${r.code} listed once`)
    seen.add(r.code)
  }
  const readme = Object.fromEntries(rows.map((r) => [r.code, r.status]))
  const table = Object.fromEntries(Object.entries(ERRORS).map(([code, row]) => [code, String(row.status)]))
  if (!t.same(readme, table, 'README.md rows = ERRORS (order not important)')) {
    t.comment(`rows generated from ERRORS:\n${readmeTable()}`)
  }
})

t.test('every code named in README.md and docs/*.md exists', async (t) => {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  for (const f of files) {
    const text = readFileSync(join(ROOT, f), 'utf8')
    const unknown = [...new Set(text.match(CODE) ?? [])].filter((c) => !(c in ERRORS))
    t.same(unknown, [], `${f}: no unknown code`)
  }
})
