/**
 * Fills .tap/ts-cache before the test processes start: every .ts file under src/, test/ and
 * bench/ transpiled once, in this one process (TypeScript loaded once). On a fresh clone (CI) the
 * test processes would otherwise each load the compiler and transpile the same modules at once.
 * Entries already fresh are only read. Uses the loader's own `load`, so the cache format has one
 * home (ts-loader-hooks.mjs).
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { load } from './ts-loader-hooks.mjs'

function* tsFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) yield* tsFiles(p)
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p
  }
}

/** Transpiles what is not cached yet under `root`'s src/, test/ and bench/; returns the file count. */
export async function warmCache(root) {
  let n = 0
  const next = () => Promise.reject(new Error('not a TypeScript file'))
  for (const dir of ['src', 'test', 'bench']) {
    for (const file of tsFiles(join(root, dir))) {
      await load(pathToFileURL(file).href, {}, next)
      n++
    }
  }
  return n
}
