/**
 * The npm package as a user installs it: `npm pack` (of the tree `npm run build` made), then the
 * tarball installed into a temporary prefix, then the installed `commy --version` and
 * `commy validate`. No registry is contacted: npm runs --offline from its cache, which `npm ci`
 * filled. The prefix install is `npm ci` of a lockfile pinning the tarball and the production
 * versions of package-lock.json — the versions the Docker image gets — because a global install
 * (`npm install -g --prefix P commy.tgz`, what deploy/systemd/README.md shows) resolves version
 * ranges and needs registry metadata that `npm ci` does not leave in the cache.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { assertBuilt, ROOT } from '../helpers/cli.js'
import { tempDir } from '../helpers/temp.js'

interface Pkg {
  name: string
  version: string
  license: string
  bin: Record<string, string>
  engines: Record<string, string>
  dependencies: Record<string, string>
}
interface LockEntry {
  dev?: boolean
  link?: boolean
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Pkg

/**
 * npm's own settings from a parent `npm test` (npm_config_prefix, ...) would steer the child npm;
 * tap's NODE_OPTIONS and coverage would instrument npm itself.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry'])
  const drop = (k: string) => (k.toLowerCase().startsWith('npm_') && !keep.has(k.toLowerCase())) || k === 'NODE_OPTIONS' || k === 'NODE_V8_COVERAGE'
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !drop(k)))
}

function run(cmd: string, args: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: npmEnv(), timeout: 90_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
    })
  })
}

t.test('npm pack -> install into a temporary prefix -> commy --version and commy validate', async (t) => {
  assertBuilt()
  const dir = tempDir('commy-pack-')

  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)
  t.equal(packed.code, 0, packed.stderr)
  const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }]
  const files = info.files.map((f) => f.path)
  for (const f of ['package.json', pkg.bin.commy!, 'dist/src/index.js', 'dist/src/admin/dashboard/client.js', 'sidecar.yaml', 'schema/sidecar.schema.json', 'LICENSE']) {
    t.ok(files.includes(f), `the tarball has ${f}`)
  }
  t.notOk(files.some((f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/') || f.startsWith('src/') || f.startsWith('test/')), 'no tests, benches or sources')
  t.match(readFileSync(join(ROOT, pkg.bin.commy!), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'the bin has a node shebang')

  const prefix = join(dir, 'prefix')
  mkdirSync(prefix)
  const tarball = `file:../${info.filename}`
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
  const packages: Record<string, unknown> = {
    '': { dependencies: { [pkg.name]: tarball } },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: tarball, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  }
  for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && entry.dev !== true && entry.link !== true) packages[path] = entry
  writeFileSync(join(prefix, 'package.json'), JSON.stringify({ private: true, dependencies: { [pkg.name]: tarball } }))
  writeFileSync(join(prefix, 'package-lock.json'), JSON.stringify({ name: 'prefix', lockfileVersion: 3, requires: true, packages }))

  const started = Date.now()
  const install = await run('npm', ['ci', '--offline', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], prefix)
  t.equal(install.code, 0, install.code === 0 ? 'installed offline' : `npm ci --offline failed (is the npm cache filled by \`npm ci\`?):\n${install.stderr}`)
  t.comment(`install: ${Date.now() - started} ms`)
  const commy = join(prefix, 'node_modules/.bin/commy')
  t.ok(existsSync(commy), 'the commy bin is linked')
  t.notOk(existsSync(join(prefix, 'node_modules/typescript')), 'no dev dependency installed')

  const version = await run(commy, ['--version'], dir)
  t.equal(version.code, 0, version.stderr)
  t.equal(version.stdout.trim(), pkg.version)
  const packaged = await run(commy, ['validate', join(prefix, 'node_modules', pkg.name, 'sidecar.yaml')], dir)
  t.equal(packaged.code, 0, packaged.stderr)
  t.equal(packaged.stdout.trim(), 'ok', 'the packaged sidecar.yaml validates')
  const image = await run(commy, ['validate', join(ROOT, 'deploy/docker/sidecar.yaml')], dir)
  t.equal(image.stdout.trim(), 'ok', "and so does the Docker image's default config")
  const broken = await run(commy, ['validate', join(dir, 'missing.yaml')], dir)
  t.equal(broken.code, 2, 'exit 2 on a bad file (RestartPreventExitStatus=2 in the systemd unit)')
})
