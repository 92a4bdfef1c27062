/**
 * Picks per second for every balancing strategy at 10, 100 and 1,000 endpoints, against a
 * baseline measured in the same run: a trivial array-index pick behind the same Balancer call.
 * Endpoints carry realistic stats (latency samples, a few requests in flight, weights 1..3 for
 * the weighted strategies); consistent-hash picks cycle through 4,096 distinct keys.
 * Prints a table, then one JSON summary line last.
 * Run: `npm run build && node dist/bench/picks.js` (BENCH_MS=<ms per round>, default 250).
 */
import type { Balancer, PickContext } from '../src/balancer/balancer.js'
import { builtinStrategies, createBalancer } from '../src/balancer/registry.js'
import { Endpoint } from '../src/endpoint/endpoint.js'
import { seededRandom } from '../src/clock.js'
import { machine } from './lib/machine.js'

const ROUND_MS = Number(process.env.BENCH_MS ?? 250)
const ROUNDS = 3
const SIZES = [10, 100, 1000] as const
const KEYS = 4096
const TARGETS: Record<string, number> = { 'round-robin@1000': 5_000_000, 'consistent-hash@1000': 1_000_000 }

interface Scenario {
  readonly name: string
  readonly make: () => Balancer
  /** Requests carry a hash key. */
  readonly keyed: boolean
}

function baseline(): Balancer {
  let i = 0
  return {
    name: 'baseline (array index)',
    pick: (c) => {
      if (i >= c.length) i = 0
      return c[i++]
    },
  }
}

function scenarios(): Scenario[] {
  const registry = builtinStrategies()
  const random = seededRandom(1)
  const make = (strategy: string, hashBalanceFactor = 0) => () => createBalancer(registry, { service: 'bench', strategy, hashBalanceFactor }, random)
  return [
    { name: 'baseline', make: baseline, keyed: false },
    { name: 'round-robin', make: make('round-robin'), keyed: false },
    { name: 'weighted', make: make('weighted'), keyed: false },
    { name: 'least-connections', make: make('least-connections'), keyed: false },
    { name: 'latency', make: make('latency'), keyed: false },
    { name: 'random', make: make('random'), keyed: false },
    { name: 'consistent-hash', make: make('consistent-hash'), keyed: true },
    { name: 'consistent-hash-bounded', make: make('consistent-hash', 1.25), keyed: true },
  ]
}

function endpointsOf(n: number): Endpoint[] {
  const r = seededRandom(n)
  return Array.from({ length: n }, (_, i) => {
    const ep = new Endpoint('bench', { host: `10.${(i >> 8) & 255}.${i & 255}.1`, port: 8080, weight: 1 + (i % 3), zone: undefined, tags: [] }, 'static', 10_000)
    ep.latency.observe(5 + r() * 20, 0)
    ep.inFlight = Math.floor(r() * 4)
    return ep
  })
}

/** Runs picks for about ROUND_MS; returns picks per second. */
function round(b: Balancer, eps: readonly Endpoint[], ctxs: readonly PickContext[]): number {
  let picks = 0
  let sink = 0
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(ROUND_MS) * 1_000_000n
  let now = start
  while (now < deadline) {
    for (let i = 0; i < 16_384; i++) sink += b.pick(eps, ctxs[i & (KEYS - 1)]!)!.port
    picks += 16_384
    now = process.hrtime.bigint()
  }
  if (sink === 42) console.log('') // keep the picks observable
  return picks / (Number(now - start) / 1e9)
}

interface Result {
  strategy: string
  endpoints: number
  picksPerSec: number
  vsBaseline: number
}

function main(): void {
  const results: Result[] = []
  const t0 = 1_000_000 // a fixed clock reading: every endpoint fully warmed up
  const keyed = Array.from({ length: KEYS }, (_, i) => ({ now: t0, hashKey: `user-${i * 7919}` }))
  const keyless = Array.from({ length: KEYS }, () => ({ now: t0, hashKey: undefined }))
  for (const n of SIZES) {
    const eps = endpointsOf(n)
    let base = 0
    for (const s of scenarios()) {
      const b = s.make()
      const ctxs = s.keyed ? keyed : keyless
      round(b, eps, ctxs) // warm-up (and ring build)
      const rates = Array.from({ length: ROUNDS }, () => round(b, eps, ctxs)).sort((x, y) => x - y)
      const rate = rates[Math.floor(ROUNDS / 2)]!
      if (s.name === 'baseline') base = rate
      results.push({ strategy: s.name, endpoints: n, picksPerSec: Math.round(rate), vsBaseline: Number((rate / base).toFixed(3)) })
      console.log(`${s.name.padEnd(24)} ${String(n).padStart(5)} endpoints ${(rate / 1e6).toFixed(2).padStart(7)} M picks/s  ${(rate / base).toFixed(3)}× baseline`)
    }
  }
  const targets = Object.entries(TARGETS).map(([id, target]) => {
    const [strategy, n] = id.split('@')
    const r = results.find((x) => x.strategy === strategy && x.endpoints === Number(n))!
    return { id, target, picksPerSec: r.picksPerSec, met: r.picksPerSec >= target }
  })
  console.log(
    JSON.stringify({
      bench: 'picks',
      ...machine(),
      roundMs: ROUND_MS,
      results,
      targets,
    }),
  )
}

main()
