/**
 * Temporary directories for tests, all removed when the test process exits (pass or fail), so a
 * test run leaves nothing in the system temp directory. Remove one earlier with `removeTempDir`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const made = new Set<string>()

function removeAll(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
  made.clear()
}

/** A new directory `<tmp>/<prefix>XXXXXX`, removed at process exit at the latest. */
export function tempDir(prefix: string): string {
  if (made.size === 0) process.once('exit', removeAll)
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.add(dir)
  return dir
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  made.delete(dir)
}
