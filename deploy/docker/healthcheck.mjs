// The image's HEALTHCHECK: GET a URL (default the probe listener's /healthz) and exit 0 on a 2xx,
// 1 otherwise. Slim images have no curl; this needs node only.
//
//   node /app/healthcheck.mjs [URL]        (or COMMY_HEALTHCHECK_URL)
import http from 'node:http'

const url = process.argv[2] ?? process.env.COMMY_HEALTHCHECK_URL ?? 'http://127.0.0.1:4191/healthz'
const req = http.get(url, { timeout: 2000 }, (res) => {
  res.resume()
  const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300
  if (!ok) process.stderr.write(`${url}: ${res.statusCode}\n`)
  process.exitCode = ok ? 0 : 1
})
req.on('timeout', () => req.destroy(new Error('timed out')))
req.on('error', (err) => {
  process.stderr.write(`${url}: ${err.message}\n`)
  process.exitCode = 1
})
