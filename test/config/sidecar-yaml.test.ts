import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TSchema } from '@sinclair/typebox'
import { loadConfigFile } from '../../src/config/load.js'
import { SidecarSchema } from '../../src/config/schema.js'
import { schemaDocument } from '../../src/config/schema-doc.js'
import { ROOT } from '../helpers/cli.js'

const yamlFile = join(ROOT, 'sidecar.yaml')

/** Every property name the schema knows, with its dotted path. */
function keys(schema: TSchema, path: string, out: Map<string, string>): void {
  const s = schema as { properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[]; patternProperties?: Record<string, TSchema> }
  for (const [name, sub] of Object.entries(s.properties ?? {})) {
    out.set(`${path}${name}`, name)
    keys(sub, `${path}${name}.`, out)
  }
  if (s.items) keys(s.items, path, out)
  for (const sub of s.anyOf ?? []) keys(sub, path, out)
  for (const sub of Object.values(s.patternProperties ?? {})) keys(sub, `${path}*.`, out)
}

t.test('the repo sidecar.yaml is valid and points at the demo services', async (t) => {
  const config = loadConfigFile(yamlFile, { env: {} })
  t.equal(config.listeners[0]!.listen.port, 15001)
  const addresses = Object.values(config.services).flatMap((s) => s.endpoints.map((e) => e.address)).sort()
  t.same(addresses, ['127.0.0.1:9101', '127.0.0.1:9102', '127.0.0.1:9103'], 'the ports `commy demo` uses')
  for (const s of Object.values(config.services)) t.ok(s.upstream.connectTimeoutMs <= 1000, `${s.name}: short connect timeout`)
})

t.test('the repo sidecar.yaml shows every key of the schema (set or commented)', async (t) => {
  const text = readFileSync(yamlFile, 'utf8')
  const all = new Map<string, string>()
  keys(SidecarSchema, '', all)
  const missing = [...all].filter(([, name]) => !new RegExp(`(^|[\\s{,#])${name}:`, 'm').test(text)).map(([path]) => path)
  t.same(missing, [], 'no key left out')
})

t.test('schema/sidecar.schema.json is in sync with the schema (npm run schema)', async (t) => {
  const file = readFileSync(join(ROOT, 'schema/sidecar.schema.json'), 'utf8')
  t.equal(file, `${JSON.stringify(schemaDocument(), null, 2)}\n`)
})
