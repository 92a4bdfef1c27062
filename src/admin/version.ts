/**
 * commy's package version, read from the nearest package.json named "commy" above this module
 * (src/admin under tests, dist/src/admin when built). '0.0.0' when none is found.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function packageVersion(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from))
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'commy' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // no package.json here: look one level up
    }
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  return '0.0.0'
}
