// Copies the source files the built package reads at run time (tsc does not emit them) from src/
// to the same place under dist/src/. Run by `npm run build` after tsc.
import { copyFileSync, mkdirSync } from 'node:fs'

const ASSETS = ['src/admin/dashboard/client.js']

const root = new URL('../', import.meta.url)
for (const path of ASSETS) {
  const to = new URL(`dist/${path}`, root)
  mkdirSync(new URL('./', to), { recursive: true })
  copyFileSync(new URL(path, root), to)
}
