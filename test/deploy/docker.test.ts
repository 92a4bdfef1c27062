/**
 * The Docker image, checked without a Docker engine: the Dockerfile's stages and instructions
 * agree with each other, with the repository (every COPY source exists and passes .dockerignore)
 * and with the embedded default config, which passes `commy validate`. The image run with node
 * is test/deploy/image.test.ts.
 */
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfigFile } from '../../src/config/load.js'
import { copyArgs, dockerignore, execForm, ops, readDockerfile } from '../helpers/docker-files.js'

const ROOT = join(import.meta.dirname, '../..')
const DOCKERFILE = join(ROOT, 'deploy/docker/Dockerfile')
const df = readDockerfile(DOCKERFILE)
const final = df.stages.at(-1)!
const stageNamed = (name: string) => df.stages.find((s) => s.name === name)
const words = (op: string) => execForm(ops(final, op).at(-1)!.args)

/** Where the final stage's COPY puts a repository file, by destination. */
function copiedFrom(dest: string): string | undefined {
  for (const c of ops(final, 'COPY').map((i) => copyArgs(i.args))) if (c.from === undefined && c.dest === dest && c.sources.length === 1) return c.sources[0]
  return undefined
}

t.test('stages: build with every dependency, runtime with production ones only, an LTS Node pinned by major', async (t) => {
  const image = df.args.NODE_IMAGE ?? ''
  t.match(image, /^node:(20|22|24)-(bookworm|bullseye|trixie)-slim$/, 'an even (LTS) Node major, slim Debian')
  t.ok(df.stages.every((s) => s.from === '${NODE_IMAGE}' || stageNamed(s.from) !== undefined), 'every stage from the pinned image')
  const build = stageNamed('build')!
  const deps = stageNamed('deps')!
  const run = (s: typeof build) => ops(s, 'RUN').map((i) => i.args).join('\n')
  t.match(run(build), /npm ci --ignore-scripts/, 'build: npm ci (prepare would build before the sources are copied)')
  t.match(run(build), /npm run build/)
  t.match(run(deps), /npm ci --omit=dev --ignore-scripts/, 'deps: production only; prepare needs tsc, a dev dependency')
  const fromBuild = ops(final, 'COPY').map((i) => copyArgs(i.args)).filter((c) => c.from !== undefined)
  t.same(fromBuild.map((c) => c.from).sort(), ['build', 'deps'])
  t.ok(fromBuild.some((c) => c.from === 'deps' && c.sources[0] === '/app/node_modules'), 'node_modules from deps, not from build')
  t.ok(fromBuild.some((c) => c.from === 'build' && c.sources[0]!.endsWith('/dist/src')), 'only dist/src from build (no tests, no bench)')
  // no install script among the production dependencies, so --ignore-scripts loses nothing
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> }
  const scripted = Object.entries(lock.packages).filter(([p, e]) => p !== '' && !e.dev && e.hasInstallScript === true)
  t.same(scripted, [], 'no production dependency needs its install script')
})

t.test('the CMD config path is where the default config is copied; ENTRYPOINT is node on the built main', async (t) => {
  const entry = words('ENTRYPOINT')
  const cmd = words('CMD')
  t.equal(entry[0], 'node', 'node as PID 1: commy handles SIGTERM itself (no npm, no shell in between)')
  t.equal(entry[1], '/app/dist/src/main.js')
  t.equal(ops(final, 'WORKDIR').at(-1)!.args, '/app')
  t.same(cmd.slice(0, 1), ['--config'])
  const configPath = cmd[1]!
  t.equal(configPath, '/etc/commy/sidecar.yaml')
  t.equal(copiedFrom(configPath), 'deploy/docker/sidecar.yaml', 'the default config is at the path CMD passes (the old image copied it to /app)')
  t.equal(ops(final, 'STOPSIGNAL').at(-1)?.args, 'SIGTERM')
  // SIGTERM drains: main.ts installs the handler that Node as PID 1 needs
  t.match(readFileSync(join(ROOT, 'src/main.ts'), 'utf8'), /process\.on\('SIGTERM'/)
})

t.test('non-root by number, HEALTHCHECK on the probe port of the default config, ports exposed', async (t) => {
  const user = ops(final, 'USER').at(-1)!.args
  t.match(user, /^[1-9][0-9]*(:[1-9][0-9]*)?$/, 'a numeric non-root uid (runAsNonRoot can verify it)')
  const hc = ops(final, 'HEALTHCHECK').at(-1)!.args
  t.match(hc, /--interval=\S+ .*--timeout=\S+ .*--start-period=\S+ .*--retries=\d+/)
  const probe = execForm(hc.slice(hc.indexOf('CMD') + 3).trim())
  t.equal(probe[0], 'node', 'no curl in slim images: node does the GET')
  t.equal(copiedFrom(probe[1]!.replace(/^\/app\//, './')) ?? copiedFrom(probe[1]!), 'deploy/docker/healthcheck.mjs')
  const config = loadConfigFile(join(ROOT, 'deploy/docker/sidecar.yaml'), { env: {} })
  t.ok(config.probes, 'the default config has a probe listener')
  const url = new URL(probe[2]!)
  t.equal(Number(url.port), config.probes!.listen.port, 'HEALTHCHECK asks the probe listener')
  t.equal(url.pathname, '/healthz', 'liveness: swarm replaces unhealthy tasks, so not /readyz')
  const exposed = ops(final, 'EXPOSE').flatMap((i) => i.args.split(/\s+/))
  t.ok(exposed.includes(`${config.probes!.listen.port}/tcp`), 'the probe port')
  t.ok(exposed.includes('7946/udp') && exposed.includes('7946/tcp'), 'gossip, UDP and TCP (push-pull)')
})

t.test('the embedded default config passes commy validate and is safe to run bare', async (t) => {
  const file = join(ROOT, 'deploy/docker/sidecar.yaml')
  const config = loadConfigFile(file, { env: {} })
  t.equal(config.admin.listen.host, '127.0.0.1', 'the admin API stays on loopback (no token in a default)')
  t.equal(config.probes!.listen.host, '0.0.0.0', 'probes reachable by the platform')
  t.ok(config.listeners.every((l) => l.listen.host === '127.0.0.1'), 'the outbound listener is for the app beside it, not an open relay')
  t.ok(config.limits.drainTimeoutMs + config.limits.drainGraceMs < 10_000, "a drain fits docker stop's default 10 s")
  t.equal(config.gossip, undefined, 'no gossip without a key of your own')
  // and with the variables it reads set
  const tuned = loadConfigFile(file, { env: { COMMY_LOG_LEVEL: 'debug', COMMY_ZONE: 'eu-1' } })
  t.equal(tuned.log.level, 'debug')
  t.equal(tuned.node.zone, 'eu-1')
})

t.test('every COPY source exists and is in the build context (.dockerignore)', async (t) => {
  const ignore = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'))
  const sources = df.stages.flatMap((s) => ops(s, 'COPY').map((i) => copyArgs(i.args))).filter((c) => c.from === undefined).flatMap((c) => c.sources)
  t.ok(sources.length >= 8)
  for (const src of sources) {
    t.ok(existsSync(join(ROOT, src)), `${src} exists`)
    t.ok(ignore.included(src), `${src} is in the context`)
  }
  t.ok(ignore.included('src/main.ts') && ignore.included('src/admin/dashboard/client.js'), 'sources under an included folder')
  for (const out of ['node_modules/yaml/package.json', 'dist/src/main.js', 'test/cli/cli.test.ts', '.git/HEAD', 'bench/run.ts', 'deploy/kubernetes/sidecar.yaml']) {
    t.notOk(ignore.included(out), `${out} stays out of the context`)
  }
})
