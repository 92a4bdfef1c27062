import { startUpstream, request } from '../test/helpers/upstream.js'
import { oneListener, startSidecar } from '../test/helpers/sidecar.js'
const up = await startUpstream('a')
const sc = await startSidecar(oneListener([{ match: {}, service: 's' }], { s: { endpoints: [{ address: up.address }] } }, { limits: { requestBufferSize: 1024 } }))
const t0 = Date.now()
try {
  const r = await request(sc.port, { method: 'POST', path: '/chunked', headers: { 'transfer-encoding': 'chunked' }, body: 'c'.repeat(5000), timeoutMs: 3000 })
  console.log(r.status, r.body, Date.now() - t0)
} catch (e) { console.log('ERR', (e as Error).message, 'upstream seen', up.seen.map(s => [s.url, s.bodyBytes])) }
await sc.stop(); await up.close()
