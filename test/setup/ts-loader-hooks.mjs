/** Loader hooks of ts-loader.mjs (they run in node's loader thread). */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))))
const CACHE = join(ROOT, '.tap/ts-cache')
const require = createRequire(import.meta.url)
let ts // loaded on the first miss only
const version = JSON.parse(readFileSync(require.resolve('typescript/package.json'), 'utf8')).version

const OPTIONS = {
  target: 'ES2022',
  module: 'ESNext',
  inlineSourceMap: true,
  inlineSources: true,
  esModuleInterop: true,
  useDefineForClassFields: true,
}

const SETTINGS = JSON.stringify({ version, OPTIONS })

function transpile(source, file) {
  ts ??= require('typescript')
  const { outputText } = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: {
      ...OPTIONS,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
    },
  })
  return outputText
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts') || url.endsWith('.d.ts') || url.includes('/node_modules/')) return nextLoad(url, context)
  const file = fileURLToPath(url)
  const source = readFileSync(file, 'utf8')
  // one cache file per source file (so the cache does not grow), stamped at the end (so the
  // source map's lines stay right) with the hash of the source and the settings
  const stamp = `\n// ts-cache ${createHash('sha1').update(source).update(SETTINGS).digest('hex')}\n`
  const cached = join(CACHE, `${createHash('sha1').update(file).digest('hex')}.js`)
  let js
  try {
    js = readFileSync(cached, 'utf8')
  } catch {}
  if (js === undefined || !js.endsWith(stamp)) {
    js = transpile(source, file) + stamp
    mkdirSync(CACHE, { recursive: true })
    const tmp = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`
    writeFileSync(tmp, js)
    renameSync(tmp, cached) // atomic: two test processes may write the same entry
  }
  return { format: 'module', source: js, shortCircuit: true }
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context)
  } catch (err) {
    // `import './x.js'` names the compiled file; before compilation it is ./x.ts
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !specifier.endsWith('.js') || !(specifier.startsWith('.') || specifier.startsWith('file:'))) throw err
    return nextResolve(specifier.slice(0, -3) + '.ts', context)
  }
}
