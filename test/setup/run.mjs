/**
 * Runs test tiers with tap: `node test/setup/run.mjs <unit|integration>... [--coverage] [-- tap args]`.
 *
 * Without --coverage a tier runs without coverage (the fast inner loop). With --coverage each
 * tier's coverage is kept (tap clears .tap/coverage at the start of every run), then merged and
 * checked against the thresholds in package.json (`tap.lines`, `tap.branches`, ...): a drop
 * fails the run. Tiers run in the order given and stop at the first failure.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { ROOT, staleEntries, testFiles, tierOf } from '../tiers.mjs'
import { warmCache } from './warm-cache.mjs'

const argv = process.argv.slice(2)
const dash = argv.indexOf('--')
const own = dash === -1 ? argv : argv.slice(0, dash)
const tapArgs = dash === -1 ? [] : argv.slice(dash + 1)
const coverage = own.includes('--coverage')
const tiers = own.filter((a) => a !== '--coverage')
if (tiers.length === 0 || tiers.some((t) => t !== 'unit' && t !== 'integration')) {
  console.error('usage: node test/setup/run.mjs <unit|integration>... [--coverage] [-- tap args]')
  process.exit(2)
}

const stale = staleEntries()
if (stale.length > 0) {
  console.error(`test/tiers.mjs lists what is no longer a test file: ${stale.join(', ')}`)
  process.exit(1)
}

const require = createRequire(import.meta.url)
const tapBin = join(dirname(require.resolve('tap/package.json')), 'dist/esm/run.mjs')
const tap = (args) => spawnSync(process.execPath, [tapBin, ...args], { cwd: ROOT, stdio: 'inherit' }).status ?? 1

/**
 * Files in the order that ends a parallel run soonest: the longest first (tap runs them in the
 * order given, two at a time), by each file's time in the last run (tap keeps it in
 * .tap/test-results); without one, whole-process scenarios (test/cli/, test/integration/) are
 * guessed long.
 */
function longestFirst(files) {
  const last = (f) => {
    try {
      const m = /# time=([0-9.]+)ms\s*$/.exec(readFileSync(join(ROOT, '.tap/test-results', `${f}.tap`), 'utf8'))
      if (m) return Number(m[1])
    } catch {}
    return f.startsWith('test/cli/') || f.startsWith('test/integration/') ? 10_000 : 2_000
  }
  const time = new Map(files.map((f) => [f, last(f)]))
  return [...files].sort((a, b) => time.get(b) - time.get(a) || (a < b ? -1 : 1))
}

/**
 * tap rebuilds its Test class when the configured plugins (package.json `tap.plugin`) differ from
 * the ones it was built with, as on a fresh `npm ci`; but the runner of that run still holds the
 * default set, whose TypeScript plugin makes every test process transpile its file with ts-node:
 * about 70 s more CPU for the unit tier on a fresh clone. So the build runs first, on its own.
 */
function tapBuiltWithDefaults() {
  try {
    const built = readFileSync(join(ROOT, 'node_modules/@tapjs/test/test-built/dist/esm/index.js'), 'utf8')
    return built.includes('@tapjs/typescript')
  } catch {
    return false // another layout: tap checks it itself
  }
}
if (tapBuiltWithDefaults()) {
  const built = Date.now()
  const status = tap(['build'])
  console.log(`# tap build (plugins of package.json): ${status === 0 ? 'done' : 'FAILED'} in ${((Date.now() - built) / 1000).toFixed(1)} s`)
  if (status !== 0) process.exit(status)
}

// one process transpiles every TypeScript file first (a fresh clone has no cache yet)
const warmStarted = Date.now()
const warmed = await warmCache(ROOT)
console.log(`# ts-cache: ${warmed} files ready in ${((Date.now() - warmStarted) / 1000).toFixed(1)} s`)

const covDir = join(ROOT, '.tap/coverage')
const keptDir = join(ROOT, '.tap/coverage-tiers')
if (coverage) rmSync(keptDir, { recursive: true, force: true })

for (const tier of tiers) {
  const files = longestFirst(testFiles().filter((f) => tierOf(f) === tier))
  const started = Date.now()
  console.log(`# ${tier} tier: ${files.length} files${coverage ? ' (coverage of this tier alone is informational; the gate is checked over all tiers at the end)' : ''}`)
  // package.json turns coverage off (so `npx tap one.test.ts` is quick and never fails on it)
  // one tier alone covers part of src/: its "incomplete coverage" lines are informational, the
  // gate is checked once, over every tier, below
  const covArgs = coverage ? ['--no-disable-coverage', '--allow-incomplete-coverage', '--coverage-report=none'] : []
  const status = tap([...covArgs, ...tapArgs, ...files])
  console.log(`# ${tier} tier: ${status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  if (status !== 0) process.exit(status)
  if (coverage && existsSync(covDir)) {
    mkdirSync(keptDir, { recursive: true })
    cpSync(covDir, keptDir, { recursive: true })
  }
}

if (coverage) {
  // every tier's coverage together, checked against the gate in package.json
  rmSync(covDir, { recursive: true, force: true })
  mkdirSync(covDir, { recursive: true })
  for (const f of readdirSync(keptDir)) cpSync(join(keptDir, f), join(covDir, f))
  console.log(`# coverage of src/ over the ${tiers.join(' and ')} tiers`)
  const status = tap(['report', '--no-disable-coverage', 'text-summary'])
  if (status !== 0) {
    console.error('# coverage is below the gate in package.json (tap.lines / branches / functions / statements)')
    process.exit(status)
  }
}
