#!/usr/bin/env node
/**
 * The `commy` command: the only module that touches process.* (argv, env, signals, exit codes).
 *
 *   commy [--config FILE]      run the sidecar (default ./sidecar.yaml or $COMMY_CONFIG)
 *   commy validate FILE        check a config: exit 0 (prints ok) or 2 (prints why)
 *   commy schema               print the JSON Schema of sidecar.yaml
 *   commy keygen               print a new gossip key (base64 of 32 random bytes)
 *   commy inject FILE|-        print Kubernetes YAML with the commy sidecar in every workload
 *   commy demo                 three echo services, each with a sidecar
 *   commy echo NAME [--listen HOST:PORT]   one demo echo service (compose, the per-platform READMEs)
 *   commy ca create …          a mesh CA; commy cert create …: a service certificate (tls/commands.ts)
 *   commy --version | --help
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { SidecarConfig } from './config/types.js'
import { ConfigError, InjectError } from './errors.js'
import { TLS_USAGE } from './tls/usage.js'

const EXIT_OK = 0
const EXIT_FAILURE = 1
const EXIT_CONFIG = 2

const HELP = `commy — a per-node sidecar proxy with L7 load balancing

Usage:
  commy [--config FILE]     run the sidecar (default: $COMMY_CONFIG or ./sidecar.yaml)
  commy validate FILE       check a config file; exit 0 (ok) or 2 (errors on stderr)
  commy schema              print the JSON Schema of sidecar.yaml
  commy keygen              print a new gossip key (base64 of 32 random bytes)
  commy inject FILE|-       print Kubernetes YAML (- for stdin) with the commy sidecar added to
                            every workload (commy inject --help for the options)
  commy demo                run three echo services, each with a commy sidecar
  commy echo NAME [--listen HOST:PORT]
                            run one demo echo service (default 127.0.0.1:9101)
${TLS_USAGE}
  commy --version           print the version
  commy --help              print this help

Signals: SIGTERM or SIGINT drain (finish requests in flight, up to limits.drainTimeout) and
exit 0; a second signal exits at once. SIGHUP reloads the config file (routes, services and
endpoints; listener changes need a restart).
Exit codes: 0 ok, 1 runtime failure, 2 invalid config or usage.`

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}

/**
 * Loads a config file (the loader is imported on first use: the short commands such as
 * --version and keygen start without it).
 */
async function configLoader(file: string): Promise<() => SidecarConfig> {
  const [{ loadConfigFile }, { builtinStrategies }] = await Promise.all([import('./config/load.js'), import('./balancer/registry.js')])
  const strategies = builtinStrategies().names()
  return () => loadConfigFile(file, { env: process.env, strategies })
}

async function validate(file: string | undefined): Promise<void> {
  if (file === undefined) fail('usage: commy validate FILE', EXIT_CONFIG)
  const load = await configLoader(file)
  try {
    const config = load()
    // the mesh TLS files too: missing, unreadable, mismatched, expired, no identity, not chaining
    if (config.tls) (await import('./tls/material.js')).loadTlsMaterial(config)
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, EXIT_CONFIG)
    throw err
  }
  process.stdout.write('ok\n')
}

/** Runs until a signal: the first drains, a second exits at once. */
function onSignals(drain: () => Promise<unknown>): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting now\n`)
      process.exit(EXIT_FAILURE)
    }
    stopping = true
    drain().then(
      () => process.exit(EXIT_OK),
      (err: unknown) => fail(`error while stopping: ${String(err)}`, EXIT_FAILURE),
    )
  }
  process.on('SIGTERM', handler)
  process.on('SIGINT', handler)
}

async function run(file: string): Promise<void> {
  const load = await configLoader(file)
  let config
  try {
    config = load()
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, EXIT_CONFIG)
    throw err
  }
  const { Runtime } = await import('./runtime.js')
  let runtime: InstanceType<typeof Runtime>
  try {
    runtime = new Runtime({ config, loadConfig: load })
  } catch (err) {
    // the mesh TLS files, and files the config names (services.<name>.tls), are read when the runtime is built
    if (err instanceof ConfigError) fail(err.message, EXIT_CONFIG)
    throw err
  }
  try {
    await runtime.start()
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    fail(`commy: cannot start: ${e.code === 'EADDRINUSE' ? `address in use (${e.message})` : e.message}`, EXIT_FAILURE)
  }
  onSignals(async () => {
    await runtime.drain()
    await runtime.stop()
  })
  // SIGHUP: reload the config file; a bad file changes nothing (the runtime logs why)
  process.on('SIGHUP', () => void runtime.reload())
}

/** `commy inject`: the result on stdout, one line per workload on stderr, exit 2 on an error. */
async function injectCommand(args: readonly string[]): Promise<void> {
  const [{ inject }, { INJECT_USAGE, parseInjectArgs }] = await Promise.all([import('./deploy/inject.js'), import('./deploy/inject-args.js')])
  try {
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(`${INJECT_USAGE}\n`)
      return
    }
    const { file, options } = parseInjectArgs(args, version())
    let text: string
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8')
    } catch (err) {
      throw new InjectError(`cannot read ${file === '-' ? 'stdin' : file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
    }
    const { output, reports } = inject(text, options)
    process.stdout.write(output)
    for (const r of reports) process.stderr.write(`${r.resource} ${r.outcome}${r.reason !== undefined ? `: ${r.reason}` : ''}\n`)
  } catch (err) {
    if (err instanceof InjectError) fail(`commy inject: ${err.message}`, EXIT_CONFIG)
    throw err
  }
}

/** `commy ca create …` / `commy cert create …`: exit 0, 2 on usage or input errors, 1 when writing failed. */
async function tlsCommand(kind: 'ca' | 'cert', args: readonly string[]): Promise<void> {
  const [sub, ...rest] = args
  if (sub !== 'create') fail(`usage:\n${TLS_USAGE}`, EXIT_CONFIG)
  const { caCreate, certCreate } = await import('./tls/commands.js')
  const r = await (kind === 'ca' ? caCreate(rest) : certCreate(rest))
  if (!r.ok) fail(`commy ${kind} create: ${r.message}`, r.usage ? EXIT_CONFIG : EXIT_FAILURE)
  process.stdout.write(`${r.message}\n`)
}

async function demo(): Promise<void> {
  // COMMY_DEMO_PORTS=0 uses ephemeral ports (tests); otherwise services 9101.. and sidecars 15101..
  const ephemeral = process.env.COMMY_DEMO_PORTS === '0'
  const { startDemo } = await import('./demo/demo.js')
  const d = await startDemo(ephemeral ? { servicePort: 0, sidecarPort: 0 } : {}).catch((err: NodeJS.ErrnoException) =>
    fail(`commy demo: cannot start: ${err.message}`, EXIT_FAILURE),
  )
  process.stdout.write(`${d.instructions}\n`)
  onSignals(() => d.stop())
}

/** `commy echo NAME [--listen HOST:PORT]`: one demo echo service, e.g. the app of a compose demo. */
async function echo(args: readonly string[]): Promise<void> {
  const usage = 'usage: commy echo NAME [--listen HOST:PORT]'
  const [name, flag, at, ...extra] = args
  if (name === undefined || name.startsWith('-') || extra.length > 0 || (flag !== undefined && (flag !== '--listen' || at === undefined))) fail(usage, EXIT_CONFIG)
  const listen = at ?? '127.0.0.1:9101'
  const i = listen.lastIndexOf(':')
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  const port = Number(listen.slice(i + 1))
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) fail(`commy echo: --listen wants HOST:PORT, not ${listen}\n${usage}`, EXIT_CONFIG)
  const { EchoService } = await import('./demo/echo.js')
  const service = new EchoService(name, host, port)
  await service.start().catch((err: NodeJS.ErrnoException) => fail(`commy echo: cannot start: ${err.message}`, EXIT_FAILURE))
  process.stdout.write(`echo service ${name} listening on ${listen.slice(0, i)}:${service.port}\n`)
  onSignals(() => service.stop())
}

function configArg(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '--config' || a === '-c') {
      const v = args[i + 1]
      if (v === undefined) fail('--config needs a file', EXIT_CONFIG)
      return v
    }
    if (a.startsWith('--config=')) return a.slice('--config='.length)
    fail(`unknown argument ${a}\n\n${HELP}`, EXIT_CONFIG)
  }
  return process.env.COMMY_CONFIG || 'sidecar.yaml'
}

async function main(args: readonly string[]): Promise<void> {
  const [cmd, ...rest] = args
  switch (cmd) {
    case '--version':
    case '-v':
    case 'version':
      process.stdout.write(`${version()}\n`)
      return
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${HELP}\n`)
      return
    case 'validate':
      return validate(rest[0])
    case 'schema':
      process.stdout.write(`${JSON.stringify((await import('./config/schema-doc.js')).schemaDocument(), null, 2)}\n`)
      return
    case 'keygen':
      process.stdout.write(`${randomBytes(32).toString('base64')}\n`)
      return
    case 'inject':
      return injectCommand(rest)
    case 'demo':
      return demo()
    case 'echo':
      return echo(rest)
    case 'ca':
    case 'cert':
      return tlsCommand(cmd, rest)
    case 'run':
      return run(configArg(rest))
    case undefined:
    default:
      return run(configArg(args))
  }
}

main(process.argv.slice(2)).catch((err: unknown) => fail(`commy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, EXIT_FAILURE))
