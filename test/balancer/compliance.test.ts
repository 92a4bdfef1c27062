import t from 'tap'
import { builtinStrategies } from '../../src/balancer/registry.js'
import { runCompliance } from './compliance.js'

const registry = builtinStrategies()

t.same(registry.names().sort(), ['consistent-hash', 'latency', 'least-connections', 'random', 'round-robin', 'weighted'], 'all six built-ins registered')

for (const name of registry.names()) runCompliance(t, name, registry.get(name)!)
