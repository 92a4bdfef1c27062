/**
 * deploy/docker/compose.yaml without a Docker engine: it parses (YAML merge keys as compose reads
 * them), every reference resolves (services, networks, configs, volumes, build contexts and
 * targets), and every sidecar config it mounts passes `commy validate` with the environment
 * compose gives that sidecar — and announces what the file says (its IP, its app's port).
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { loadConfigFile } from '../../src/config/load.js'
import { copyArgs, interpolateAll, ops, readDockerfile } from '../helpers/docker-files.js'

const ROOT = join(import.meta.dirname, '../..')
const DIR = join(ROOT, 'deploy/docker')
const FILE = join(DIR, 'compose.yaml')
const KEY = randomBytes(32).toString('base64')

interface Service {
  image?: string
  build?: { context: string; dockerfile?: string; target?: string }
  command?: string[]
  entrypoint?: string[]
  network_mode?: string
  networks?: Record<string, { ipv4_address?: string } | null>
  depends_on?: string[] | Record<string, { condition?: string }>
  environment?: Record<string, string>
  configs?: { source: string; target: string }[]
  volumes?: (string | { type?: string; source?: string; target: string })[]
  profiles?: string[]
  healthcheck?: { test: string[] }
}
interface Compose {
  services: Record<string, Service>
  configs?: Record<string, { file: string }>
  networks?: Record<string, { ipam?: { config?: { subnet: string }[] } }>
  volumes?: Record<string, unknown>
}

const text = readFileSync(FILE, 'utf8')
const compose = interpolateAll(parse(text, { merge: true }), { COMMY_GOSSIP_KEY: KEY }) as Compose
const services = compose.services
const names = Object.keys(services)
const apps = names.filter((n) => services[n]!.command?.[0] === 'echo')
const sidecarOf = (app: string) => names.find((n) => services[n]!.network_mode === `service:${app}` && services[n]!.configs !== undefined)

t.test('the file parses; compose refuses to start without a gossip key', async (t) => {
  t.ok(names.length >= 7)
  t.throws(() => interpolateAll(parse(text, { merge: true }), {}), /COMMY_GOSSIP_KEY/, 'no key: a clear error, not a plaintext mesh')
})

t.test('three demo apps, each with a commy sidecar in its network namespace', async (t) => {
  t.same(apps.sort(), ['inventory', 'payments', 'users'])
  for (const app of apps) {
    const s = services[app]!
    t.match(s.command!.join(' '), new RegExp(`^echo ${app} --listen 0\\.0\\.0\\.0:\\d+$`), `${app}: commy echo, reachable by the other sidecars`)
    const sidecar = sidecarOf(app)
    t.ok(sidecar, `${app} has a sidecar`)
    t.equal(services[sidecar!]!.image, s.image, 'the same commy image')
    t.ok(s.healthcheck?.test.join(' ').includes('/health'), `${app}: its own health check (the image's asks the probe port)`)
  }
})

t.test('every reference resolves: services, networks, configs, volumes, build contexts and targets', async (t) => {
  const stages = (dockerfile: string) => readDockerfile(dockerfile).stages.map((s) => s.name)
  for (const [name, s] of Object.entries(services)) {
    if (s.network_mode?.startsWith('service:')) t.ok(services[s.network_mode.slice(8)], `${name}: network_mode names a service`)
    const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {})
    for (const d of deps) t.ok(services[d], `${name}: depends_on ${d}`)
    if (s.network_mode?.startsWith('service:')) t.ok(deps.includes(s.network_mode.slice(8)) || name === 'loadgen', `${name} starts after the namespace it joins`)
    for (const n of Object.keys(s.networks ?? {})) t.ok(compose.networks?.[n], `${name}: network ${n}`)
    t.notOk(s.network_mode && s.networks, `${name}: network_mode and networks exclude each other`)
    for (const c of s.configs ?? []) t.ok(compose.configs?.[c.source], `${name}: config ${c.source}`)
    for (const v of s.volumes ?? []) {
      const source = typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '')
      if (source.startsWith('.') || source.startsWith('/')) t.ok(existsSync(join(DIR, source)), `${name}: bind ${source}`)
      else t.ok(compose.volumes?.[source], `${name}: volume ${source}`)
    }
    if (s.build) {
      const dockerfile = join(DIR, s.build.context, s.build.dockerfile ?? 'Dockerfile')
      t.ok(existsSync(dockerfile), `${name}: ${s.build.dockerfile}`)
      if (s.build.target) t.ok(stages(dockerfile).includes(s.build.target), `${name}: stage ${s.build.target}`)
    }
    t.ok(s.build !== undefined, `${name}: built here (no registry image assumed)`)
  }
  for (const [name, c] of Object.entries(compose.configs ?? {})) t.ok(existsSync(join(DIR, c.file)), `config ${name}: ${c.file}`)
})

t.test('every sidecar config passes commy validate with its environment, and gossips with the others', async (t) => {
  const subnet = compose.networks!.mesh!.ipam!.config![0]!.subnet
  const prefix = subnet.split('.').slice(0, 3).join('.')
  const seedsSeen = new Set<string>()
  for (const app of apps) {
    const sidecar = services[sidecarOf(app)!]!
    const env = sidecar.environment!
    for (const c of sidecar.configs!) {
      const file = join(DIR, compose.configs![c.source]!.file)
      t.equal(c.target, '/etc/commy/sidecar.yaml', 'mounted over the default config')
      const config = loadConfigFile(file, { env })
      t.pass(`${app}'s sidecar: ${file} validates`)
      const ip = services[app]!.networks!.mesh!.ipv4_address!
      t.ok(ip.startsWith(`${prefix}.`), `${app}: ${ip} in ${subnet}`)
      t.equal(config.gossip!.advertise.host, ip, 'announces its own address')
      t.ok(config.gossip!.keys.length > 0, 'encrypted gossip')
      for (const seed of config.gossip!.seeds) seedsSeen.add(seed.split(':')[0]!)
      const local = config.local.services[0]!
      t.equal(local.name, app, 'announces its app')
      t.equal(`${local.host}:${local.port}`, `${ip}:${services[app]!.command![3]!.split(':')[1]}`, "at the app's port")
      t.equal(config.probes!.listen.port, 4191)
      t.ok(config.limits.drainTimeoutMs + config.limits.drainGraceMs < 30_000, 'drains within stop_grace_period (30 s)')
      t.same(Object.keys(config.services).sort(), ['inventory', 'payments', 'users'])
    }
  }
  t.same([...seedsSeen].sort(), apps.sort(), 'seeds are the compose service names')
})

t.test('the load generator runs autocannon from the build stage against a sidecar', async (t) => {
  const lg = services.loadgen!
  t.same(lg.profiles, ['bench'], 'only with --profile bench')
  t.equal(lg.build!.target, 'build')
  const dockerfile = readDockerfile(join(DIR, lg.build!.context, lg.build!.dockerfile!))
  const build = dockerfile.stages.find((s) => s.name === 'build')!
  const workdir = ops(build, 'WORKDIR').at(-1)!.args
  t.equal(lg.entrypoint![0], `${workdir}/node_modules/.bin/autocannon`)
  t.ok(ops(build, 'COPY').some((i) => copyArgs(i.args).sources.includes('package-lock.json')), 'dev dependencies installed there')
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
  t.ok(pkg.devDependencies.autocannon, 'autocannon is a dev dependency')
  const target = new URL(lg.command!.at(-1)!)
  const app = lg.network_mode!.slice('service:'.length)
  const config = loadConfigFile(join(DIR, compose.configs!.sidecar!.file), { env: services[sidecarOf(app)!]!.environment! })
  t.equal(target.host, `${config.listeners[0]!.listen.host}:${config.listeners[0]!.listen.port}`, "the sidecar's outbound listener, on loopback in its namespace")
  t.ok(config.listeners[0]!.routes.some((r) => r.match.pathPrefix !== undefined && target.pathname.startsWith(r.match.pathPrefix)), 'a route matches')
})
