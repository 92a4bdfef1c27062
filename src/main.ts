#!/usr/bin/env node
/**
 * The `commy` command: the only module that touches process.* (argv, env, signals, exit codes).
 *
 *   commy [--config FILE]      run the sidecar (default ./sidecar.yaml or $COMMY_CONFIG)
 *   commy validate FILE        check a config: exit 0 (prints ok) or 2 (prints why)
 *   commy schema               print the JSON Schema of sidecar.yaml
 *   commy keygen               print a new gossip key (base64 of 32 random bytes)
 *   commy demo                 three echo services, each with a sidecar
 *   commy ca create …          a mesh CA; commy cert create …: a service certificate (tls/commands.ts)
 *   commy --version | --help
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { builtinStrategies } from './balancer/registry.js'
import { loadConfigFile } from './config/load.js'
import { SidecarSchema } from './config/schema.js'
import { startDemo } from './demo/demo.js'
import { ConfigError } from './errors.js'
import { Runtime } from './runtime.js'
import { loadTlsMaterial } from './tls/material.js'
import { caCreate, certCreate, TLS_USAGE, type CommandResult } from './tls/commands.js'

const EXIT_OK = 0
const EXIT_FAILURE = 1
const EXIT_CONFIG = 2

const HELP = `commy — a per-node sidecar proxy with L7 load balancing

Usage:
  commy [--config FILE]     run the sidecar (default: $COMMY_CONFIG or ./sidecar.yaml)
  commy validate FILE       check a config file; exit 0 (ok) or 2 (errors on stderr)
  commy schema              print the JSON Schema of sidecar.yaml
  commy keygen              print a new gossip key (base64 of 32 random bytes)
  commy demo                run three echo services, each with a commy sidecar
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

function strategyNames(): string[] {
  return builtinStrategies().names()
}

function validate(file: string | undefined): void {
  if (file === undefined) fail('usage: commy validate FILE', EXIT_CONFIG)
  try {
    const config = loadConfigFile(file, { env: process.env, strategies: strategyNames() })
    // the mesh TLS files too: missing, unreadable, mismatched, expired, no identity, not chaining
    if (config.tls) loadTlsMaterial(config)
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
  let config
  try {
    config = loadConfigFile(file, { env: process.env, strategies: strategyNames() })
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, EXIT_CONFIG)
    throw err
  }
  const load = () => loadConfigFile(file, { env: process.env, strategies: strategyNames() })
  let runtime: Runtime
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

/** `commy ca create …` / `commy cert create …`: exit 0, 2 on usage or input errors, 1 when writing failed. */
async function tlsCommand(kind: 'ca' | 'cert', args: readonly string[]): Promise<void> {
  const [sub, ...rest] = args
  if (sub !== 'create') fail(`usage:\n${TLS_USAGE}`, EXIT_CONFIG)
  const r: CommandResult = await (kind === 'ca' ? caCreate(rest) : certCreate(rest))
  if (!r.ok) fail(`commy ${kind} create: ${r.message}`, r.usage ? EXIT_CONFIG : EXIT_FAILURE)
  process.stdout.write(`${r.message}\n`)
}

async function demo(): Promise<void> {
  // COMMY_DEMO_PORTS=0 uses ephemeral ports (tests); otherwise services 9101.. and sidecars 15101..
  const ephemeral = process.env.COMMY_DEMO_PORTS === '0'
  const d = await startDemo(ephemeral ? { servicePort: 0, sidecarPort: 0 } : {}).catch((err: NodeJS.ErrnoException) =>
    fail(`commy demo: cannot start: ${err.message}`, EXIT_FAILURE),
  )
  process.stdout.write(`${d.instructions}\n`)
  onSignals(() => d.stop())
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
      process.stdout.write(`${JSON.stringify(SidecarSchema, null, 2)}\n`)
      return
    case 'keygen':
      process.stdout.write(`${randomBytes(32).toString('base64')}\n`)
      return
    case 'demo':
      return demo()
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
