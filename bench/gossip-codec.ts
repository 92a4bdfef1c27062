/**
 * gossip-codec: the per-packet cost of the gossip wire path, micro. A typical piggybacked packet
 * (a ping plus alive/suspect broadcasts) is encoded, sealed, opened and decoded; baselines
 * measured in the same run: JSON of the same messages (what a naive codec would cost), and the
 * plaintext envelope (to price AES-256-GCM and the replay window).
 *
 *   node dist/bench/gossip-codec.js      (prints one line per scenario, one JSON line last)
 */
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import { decodePacket, encodeMessage, encodePacket, type Message } from '../src/membership/codec.js'
import { Envelope } from '../src/membership/envelope.js'
import { machine } from './lib/machine.js'

const meta = { services: [{ name: 'web', host: '10.0.0.1', port: 8080, weight: 1, tags: ['v2'], health: 'healthy' as const }] }
const messages: Message[] = [
  { type: 'ping', seq: 123456, target: 'node-017', source: 'node-003' },
  ...Array.from({ length: 6 }, (_, i): Message => ({ type: 'alive', name: `node-${100 + i}`, incarnation: i, host: '10.0.1.7', port: 7946, zone: 'eu-west-1a', adminAddress: '', meta })),
  ...Array.from({ length: 6 }, (_, i): Message => ({ type: 'suspect', name: `node-${200 + i}`, incarnation: i, from: 'node-003' })),
]

function measure(name: string, ms: number, fn: () => void): { name: string; opsPerSec: number; usPerOp: number } {
  for (let i = 0; i < 2000; i++) fn() // warm-up
  let ops = 0
  const start = process.hrtime.bigint()
  const end = start + BigInt(ms) * 1_000_000n
  let now = start
  while (now < end) {
    for (let i = 0; i < 200; i++) fn()
    ops += 200
    now = process.hrtime.bigint()
  }
  const secs = Number(now - start) / 1e9
  const r = { name, opsPerSec: Math.round(ops / secs), usPerOp: Math.round((secs / ops) * 1e7) / 10 }
  console.log(`${name}: ${r.opsPerSec} packets/s (${r.usPerOp} µs each)`)
  return r
}

let wall = 1_700_000_000_000
const plainTx = new Envelope({ keys: [], cluster: 'bench', wallNow: () => wall })
const plainRx = new Envelope({ keys: [], cluster: 'bench', wallNow: () => wall })
const key = randomBytes(32)
const sealTx = new Envelope({ keys: [key], cluster: 'bench', wallNow: () => wall })
const sealRx = new Envelope({ keys: [key], cluster: 'bench', wallNow: () => wall })

const encoded = encodePacket(messages.map(encodeMessage))
const json = Buffer.from(JSON.stringify(messages))
console.log(`gossip-codec: node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu?'}; packet of ${messages.length} messages: ${encoded.length} bytes binary, ${json.length} bytes JSON`)

const MS = Number(process.env.BENCH_MS ?? 1500)
const results = [
  measure('json round trip (baseline)', MS, () => {
    JSON.parse(Buffer.from(JSON.stringify(messages)).toString())
  }),
  measure('binary round trip', MS, () => {
    decodePacket(encodePacket(messages.map(encodeMessage)))
  }),
  measure('binary + plaintext envelope (baseline)', MS, () => {
    const r = plainRx.open(plainTx.seal(encodePacket(messages.map(encodeMessage)), 'packet'), 'packet')
    if (r.ok) decodePacket(r.payload)
  }),
  measure('binary + AES-256-GCM envelope + replay window', MS, () => {
    wall++
    const r = sealRx.open(sealTx.seal(encodePacket(messages.map(encodeMessage)), 'packet'), 'packet')
    if (!r.ok) throw new Error(`sealed packet refused: ${r.reason}`)
    decodePacket(r.payload)
  }),
]
const by = (n: string): number => results.find((r) => r.name.startsWith(n))!.opsPerSec
console.log(
  JSON.stringify({
    bench: 'gossip-codec',
    ...machine(),
    packetBytes: { binary: encoded.length, json: json.length },
    results,
    ratios: {
      binaryOverJson: Math.round((by('binary round trip') / by('json')) * 100) / 100,
      sealedOverPlaintext: Math.round((by('binary + AES') / by('binary + plaintext')) * 100) / 100,
      sizeBinaryOverJson: Math.round((encoded.length / json.length) * 100) / 100,
    },
  }),
)
