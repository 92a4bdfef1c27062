/**
 * Gossip under 10% packet loss on every node (issue #13): commy pods in network namespaces on the
 * Kubernetes ConfigMap's sidecar.yaml (gossip profile lan, the production timings), converged,
 * then nftables in each pod's namespace drops one in ten UDP packets arriving at the gossip port
 * (`udp dport 7946 numgen random mod 10 < 1 drop`) for 2 minutes. Passes when no live member is
 * declared dead by any pod (each pod's 'member state changed' log lines) and every pod holds
 * every member alive at the end.
 *
 *   npm run build && node --import ./test/setup/ts-loader.mjs bench/gossip-loss.ts
 *   LOSS_SECONDS=120 LOSS_NODES=5 LOSS_TENTHS=1 LOSS_PROFILE=lan   (the defaults)
 *
 * Root only (ip netns, nft). Prints a JSON summary line last; exits 1 when a live member was
 * declared dead.
 */
import os from 'node:os'
import { runGossipLoss } from '../test/helpers/gossip-loss.js'
import { netnsUnavailable, nftUnavailable } from '../test/helpers/netns.js'
import { machine } from './lib/machine.js'

const seconds = Number(process.env.LOSS_SECONDS ?? 120)
const nodes = Number(process.env.LOSS_NODES ?? 5)
const tenths = Number(process.env.LOSS_TENTHS ?? 1)
const profile = process.env.LOSS_PROFILE === 'local' ? 'local' : 'lan'

const why = netnsUnavailable() ?? nftUnavailable()
if (why !== undefined) {
  console.log(JSON.stringify({ bench: 'gossip-loss', skipped: why }))
  process.exit(0)
}
const started = Date.now()
const result = await runGossipLoss({ nodes, seconds, tenths, profile, onLoss: () => console.error(`converged; ${tenths * 10}% loss on for ${seconds} s`) })
for (const l of result.deadLines) console.error(`declared dead: ${l}`)
const ok = result.deadDeclarations === 0 && result.allAliveAtEnd
console.log(
  JSON.stringify({
    bench: 'gossip-loss',
    ok,
    ...result,
    deadLines: undefined,
    wallMs: Date.now() - started,
    ...machine(),
    loadavg: os.loadavg().map((l) => Math.round(l * 10) / 10),
  }),
)
process.exit(ok ? 0 : 1)
