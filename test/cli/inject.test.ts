/**
 * `commy inject` through the built CLI: a file or stdin in, YAML on stdout, one line per workload
 * on stderr; exit 2 with the document and the reason for what it cannot inject.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { MAIN, ROOT, assertBuilt, runCli, tempFile } from '../helpers/cli.js'
import { parseStream, podTemplate, validateResource, type Obj } from '../helpers/k8s.js'

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: web:1 }]
`

/** The CLI with `input` on stdin. */
function runWithStdin(args: readonly string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(input)
  })
}

t.test('a file: the injected YAML on stdout, a line per workload on stderr, exit 0', async (t) => {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
  const r = await runCli(['inject', tempFile('web.yaml', DEPLOYMENT), '--config', 'web-commy'])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stderr, 'Deployment/web injected\n')
  const [d] = parseStream(r.stdout)
  t.doesNotThrow(() => validateResource(d!))
  const spec = podTemplate(d!)!.spec as Obj
  t.match((spec.initContainers as Obj[])[0], { name: 'commy', image: `commy:${version}`, restartPolicy: 'Always' })
  t.match(spec.volumes, [{ name: 'commy-config', configMap: { name: 'web-commy' } }])
})

t.test('stdin (-), and its output injected again is the same', async (t) => {
  const once = await runWithStdin(['inject', '-', '--image', 'r.example/commy:1'], DEPLOYMENT)
  t.equal(once.code, 0, once.stderr)
  const twice = await runWithStdin(['inject', '-', '--image', 'r.example/commy:1'], once.stdout)
  t.equal(twice.code, 0)
  t.equal(twice.stdout, once.stdout)
  t.equal(twice.stderr, 'Deployment/web unchanged\n')
})

t.test('exit 2 naming the document and the reason, or a missing file; --help', async (t) => {
  const bad = await runCli(['inject', tempFile('bad.yaml', `${DEPLOYMENT}---\napiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: {}\n`)])
  t.equal(bad.code, 2)
  t.equal(bad.stdout, '', 'nothing half-written on stdout')
  t.match(bad.stderr, /^commy inject: document 2 \(Pod\/p\): spec\.containers is missing or not a list/)
  const missing = await runCli(['inject', '/nonexistent/x.yaml'])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /cannot read \/nonexistent\/x\.yaml \(ENOENT\)/)
  const help = await runCli(['inject', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /--config NAME/)
})
