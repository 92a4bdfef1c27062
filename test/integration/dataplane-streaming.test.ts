/**
 * 128 MB up and 128 MB down through a sidecar running as a child process (the real CLI), with
 * the sidecar's RSS sampled from /proc while the bytes flow: streaming with backpressure must
 * keep its growth under 64 MB. Bytes are generated, not read from files.
 */
import t from 'tap'
import http from 'node:http'
import { readFileSync, existsSync } from 'node:fs'
import { Readable } from 'node:stream'
import { startCli, tempFile } from '../helpers/cli.js'
import { startUpstream } from '../helpers/upstream.js'

const SIZE = 128 * 1024 * 1024 // twice LIMIT: a proxy that buffered a body whole would fail (the 1 GiB figures are bench/ territory)
const LIMIT = 64 * 1024 * 1024
const CHUNK = Buffer.alloc(64 * 1024, 7)

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : 0
}

/** Samples the RSS of `pid` every 10 ms until stopped; returns the maximum. */
function sampler(pid: number) {
  let max = rssOf(pid)
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rssOf(pid))
    } catch {
      // the process exited between two samples
    }
  }, 10)
  return {
    stop() {
      clearInterval(timer)
      return max
    },
  }
}

function generated(size: number): Readable {
  let left = size
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null)
      const n = Math.min(left, CHUNK.length)
      left -= n
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))
    },
  })
}

t.test('128 MB request and response bodies stream through with bounded memory', { skip: !existsSync('/proc/self/status') && 'needs /proc' }, async (t) => {
  const up = await startUpstream('bulk', (req, res) => {
    if (req.url === '/download') {
      res.writeHead(200, { 'content-length': String(SIZE), 'content-type': 'application/octet-stream' })
      generated(SIZE).pipe(res)
      return
    }
    let n = 0
    req.on('data', (c: Buffer) => (n += c.length))
    req.on('end', () => res.end(JSON.stringify({ received: n })))
  })
  const cfg = `log: { level: info, accessLog: false }
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: outbound
    listen: 127.0.0.1:0
    routes: [{ match: {}, service: bulk }]
services:
  bulk: { endpoints: [{ address: ${up.address} }] }
`
  const cli = startCli(['--config', tempFile('sidecar.yaml', cfg)])
  t.teardown(async () => {
    cli.kill()
    await up.close()
  })
  const port = Number((await cli.waitFor(/"address":"127\.0\.0\.1:(\d+)","msg":"listening"/))[1])
  const pid = cli.child.pid!

  // warm up both directions (pool, JIT, the HTTP parser's wasm memory), then let memory settle
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/upload', agent: false }, (res) => {
      res.resume()
      res.on('end', resolve)
    })
    req.on('error', reject)
    generated(4 * 1024 * 1024).pipe(req)
  })
  await new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/download', agent: false }, (res) => {
      let n = 0
      res.on('data', (c: Buffer) => {
        n += c.length
        if (n > 4 * 1024 * 1024) res.destroy()
      })
      res.on('close', resolve)
    }).on('error', reject)
  })
  await new Promise((r) => setTimeout(r, 300))
  const baseline = rssOf(pid)

  await t.test('upload 128 MB (chunked)', async (t) => {
    const s = sampler(pid)
    const started = Date.now()
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/upload', agent: false }, (res) => {
        let b = ''
        res.on('data', (c: Buffer) => (b += c.toString()))
        res.on('end', () => resolve(b))
      })
      req.on('error', reject)
      generated(SIZE).pipe(req)
    })
    const max = s.stop()
    t.same(JSON.parse(body), { received: SIZE }, 'every byte arrived')
    const growth = max - baseline
    t.ok(growth < LIMIT, `sidecar RSS grew by ${(growth / 1048576).toFixed(1)} MB (< 64 MB) in ${Date.now() - started} ms`)
  })

  await t.test('download 128 MB', async (t) => {
    const s = sampler(pid)
    const started = Date.now()
    const received = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/download', agent: false }, (res) => {
          let n = 0
          res.on('data', (c: Buffer) => (n += c.length))
          res.on('end', () => resolve(n))
          res.on('error', reject)
        })
        .on('error', reject)
    })
    const max = s.stop()
    t.equal(received, SIZE, 'every byte arrived')
    const growth = max - baseline
    t.ok(growth < LIMIT, `sidecar RSS grew by ${(growth / 1048576).toFixed(1)} MB (< 64 MB) in ${Date.now() - started} ms`)
  })

  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
})
