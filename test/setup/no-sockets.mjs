/**
 * Preloaded into every tap test process (package.json `tap.node-arg`). When the test file is in
 * the unit tier (test/tiers.mjs), opening a socket or starting a process throws, so a test that
 * needs the network or a child process fails at once instead of quietly slowing the unit tier.
 * Integration-tier files (and processes they spawn) are left alone.
 */
import childProcess from 'node:child_process'
import dgram from 'node:dgram'
import { syncBuiltinESMExports } from 'node:module'
import net from 'node:net'
import { relative } from 'node:path'
import { ROOT, tierOf } from '../tiers.mjs'

const file = process.argv[1]

if (file !== undefined && file.endsWith('.test.ts') && tierOf(file) === 'unit') {
  const name = relative(ROOT, file)
  const refuse = (what) =>
    function refused() {
      throw new Error(`unit tests open no socket: move this test to the integration tier (${what} called in ${name}; list the file in test/tiers.mjs)`)
    }
  net.Server.prototype.listen = refuse('net.Server#listen')
  net.Socket.prototype.connect = refuse('net.Socket#connect')
  net.connect = refuse('net.connect')
  net.createConnection = refuse('net.createConnection')
  dgram.createSocket = refuse('dgram.createSocket')
  for (const fn of ['spawn', 'spawnSync', 'fork', 'exec', 'execSync', 'execFile', 'execFileSync']) childProcess[fn] = refuse(`child_process.${fn}`)
  syncBuiltinESMExports()
}
