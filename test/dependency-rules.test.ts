/**
 * The dependency rules of .dependency-cruiser.cjs (`npm run deps` checks src/ itself) do fail: a
 * copy of src/ with an added cycle, an upward arrow between folders and a devDependency import is
 * refused with messages naming both files.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser'

const require = createRequire(import.meta.url)
const ROOT = join(import.meta.dirname, '..')
const config = require(join(ROOT, '.dependency-cruiser.cjs')) as IConfiguration

async function violations(baseDir: string): Promise<string[]> {
  const { output } = await cruise(['src'], { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true, baseDir, tsConfig: { fileName: join(ROOT, 'tsconfig.json') } })
  const result = output as ICruiseResult
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle ? ` (cycle: ${v.cycle.map((c) => c.name).join(' -> ')})` : ''}`)
}

t.test('a cycle, an upward arrow and a devDependency are refused, naming the files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'commy-test-deps-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true })
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  const append = (file: string, line: string) => writeFileSync(join(dir, file), `${readFileSync(join(dir, file), 'utf8')}\n${line}\n`)
  // a file-level cycle inside one folder: check-factory.ts -> check.ts -> check-factory.ts
  append('src/health/check.ts', "export type { CheckFactoryDeps } from './check-factory.js'")
  // an upward arrow: a leaf importing the data plane
  append('src/endpoint/endpoint.ts', "export type { Forwarder } from '../proxy/forwarder.js'")
  // a devDependency in shipped code
  append('src/clock.ts', "export type { Test } from 'tap'")
  const found = await violations(dir)
  t.ok(found.some((v) => v.startsWith('no-cycle: src/health/check-factory.ts -> src/health/check.ts (cycle: src/health/check.ts -> src/health/check-factory.ts)')), 'the cycle, both files named')
  t.ok(found.some((v) => v === 'layer endpoint/: src/endpoint/endpoint.ts -> src/proxy/forwarder.ts'), 'the upward arrow, both files named')
  t.ok(found.some((v) => v.startsWith('no-dev-dependency: src/clock.ts -> ')), 'the devDependency')
})
