/**
 * The compliance suite every DiscoverySource passes (as test/balancer/compliance.ts is for
 * balancers). Not a test file itself: compliance.test.ts runs it for every source in
 * src/discovery/. The contract (src/discovery/discovery.ts):
 * - `name` is a non-empty string (an endpoint's provenance);
 * - `subscribe` replays the current state to the new listener, one update per known service;
 * - each update is the service's full endpoint set (replace semantics), so applying updates
 *   again is idempotent, and a late subscriber ends with the same view as an early one;
 * - the unsubscribe function stops updates to that listener (and may be called twice);
 * - `start` and `stop` are idempotent; after `stop` no listener hears anything, and the source
 *   leaves no handle (timer, socket) open.
 *
 * A source is driven through a DiscoveryWorld: what the source watches (a config, a mesh), which
 * the suite sets to a given state of services.
 */
import type { Test } from 'tap'
import type { DiscoverySource, DiscoveryUpdate } from '../../src/discovery/discovery.js'

export interface ServiceEndpoint {
  readonly host: string
  readonly port: number
  readonly weight: number
}

/** service -> its endpoints. A service with none is the same as one that is absent. */
export type ServiceState = Readonly<Record<string, readonly ServiceEndpoint[]>>

export interface DiscoveryWorld {
  readonly source: DiscoverySource
  /**
   * Makes the world hold exactly `state`, and resolves once the change has reached what the
   * source watches (so a started, subscribed source has published it). Must not depend on the
   * source: the suite also calls it after `stop()`.
   */
  set(state: ServiceState): Promise<void> | void
  /** Frees what the world holds besides the source (the suite stops the source itself). */
  close?(): Promise<void> | void
}

/** Builds a world holding `initial`, with its source not started. */
export type DiscoveryWorldFactory = (initial: ServiceState) => Promise<DiscoveryWorld> | DiscoveryWorld

const INITIAL: ServiceState = {
  web: [
    { host: '10.0.0.1', port: 8080, weight: 1 },
    { host: '10.0.0.2', port: 8080, weight: 1 },
  ],
  db: [{ host: '10.0.0.3', port: 5432, weight: 1 }],
}

/** web replaced (one gone, one new, one reweighted), db removed, cache added. */
const NEXT: ServiceState = {
  web: [
    { host: '10.0.0.2', port: 8080, weight: 3 },
    { host: '10.0.0.4', port: 8080, weight: 1 },
  ],
  cache: [{ host: '10.0.0.5', port: 6379, weight: 1 }],
}

const LATER: ServiceState = { cache: [{ host: '10.0.0.6', port: 6379, weight: 1 }] }

/** What a listener knows: the last update per service, services without endpoints dropped. */
class View {
  readonly updates: DiscoveryUpdate[] = []
  private readonly last = new Map<string, DiscoveryUpdate>()
  readonly listener = (u: DiscoveryUpdate): void => {
    this.updates.push(u)
    this.last.set(u.service, u)
  }
  state(): Record<string, string[]> {
    return normalize(Object.fromEntries([...this.last].map(([s, u]) => [s, u.endpoints])))
  }
}

function normalize(state: Readonly<Record<string, readonly ServiceEndpoint[]>>): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const s of Object.keys(state).sort()) {
    const eps = state[s]!.map((e) => `${e.host}:${e.port} w${e.weight}`).sort()
    if (eps.length > 0) out[s] = eps
  }
  return out
}

export function runDiscoveryCompliance(t: Test, name: string, factory: DiscoveryWorldFactory): void {
  t.test(`${name}: DiscoverySource compliance`, async (t) => {
    const open = async (initial: ServiceState = INITIAL): Promise<DiscoveryWorld> => {
      const world = await factory(initial)
      let closed: Promise<void> | undefined
      const close = () => (closed ??= Promise.resolve(world.close?.()))
      t.teardown(async () => {
        await world.source.stop()
        await close()
      })
      return { source: world.source, set: (state) => world.set(state), close }
    }

    t.test('has a name', async (t) => {
      const { source } = await open()
      t.type(source.name, 'string')
      t.ok(source.name.length > 0, `name "${source.name}"`)
    })

    t.test('subscribe replays the current state, one update per service', async (t) => {
      const { source } = await open()
      await source.start()
      const view = new View()
      source.subscribe(view.listener)
      t.strictSame(view.state(), normalize(INITIAL))
      const services = view.updates.filter((u) => u.endpoints.length > 0).map((u) => u.service)
      t.strictSame(services.sort(), ['db', 'web'], 'each known service once')
    })

    t.test('updates replace a service whole: added, changed and removed services', async (t) => {
      const world = await open()
      await world.source.start()
      const view = new View()
      world.source.subscribe(view.listener)
      view.updates.length = 0
      await world.set(NEXT)
      t.strictSame(view.state(), normalize(NEXT))
      t.ok(
        view.updates.some((u) => u.service === 'db' && u.endpoints.length === 0),
        'a service that is gone is published with no endpoints',
      )
    })

    t.test('idempotent: the same state again changes no view, and replaying updates changes nothing', async (t) => {
      const world = await open()
      await world.source.start()
      const view = new View()
      world.source.subscribe(view.listener)
      await world.set(NEXT)
      const before = view.state()
      const seen = view.updates.length
      await world.set(NEXT)
      t.strictSame(view.state(), before, 'setting the same state again keeps the view')
      for (const u of view.updates.slice(seen)) t.strictSame(normalize({ [u.service]: u.endpoints }), normalize({ [u.service]: NEXT[u.service] ?? [] }), `a repeated ${u.service} update is the full set`)
      const replay = new View()
      for (const u of [...view.updates, ...view.updates]) replay.listener(u)
      t.strictSame(replay.state(), before, 'applying every update twice gives the same view')
    })

    t.test('a late subscriber ends with the same view as an early one', async (t) => {
      const world = await open()
      await world.source.start()
      const early = new View()
      world.source.subscribe(early.listener)
      await world.set(NEXT)
      await world.set(LATER)
      const late = new View()
      world.source.subscribe(late.listener)
      t.strictSame(late.state(), normalize(LATER))
      t.strictSame(early.state(), late.state())
    })

    t.test('unsubscribe stops updates to that listener only', async (t) => {
      const world = await open()
      await world.source.start()
      const gone = new View()
      const stays = new View()
      const unsubscribe = world.source.subscribe(gone.listener)
      world.source.subscribe(stays.listener)
      unsubscribe()
      unsubscribe()
      const heard = gone.updates.length
      await world.set(NEXT)
      t.equal(gone.updates.length, heard, 'nothing after unsubscribe')
      t.strictSame(stays.state(), normalize(NEXT), 'the other listener still hears')
    })

    t.test('start and stop are idempotent; after stop nothing is heard and no handle is left', async (t) => {
      const handles = process.getActiveResourcesInfo().sort()
      const once = await open()
      const twice = await open()
      await once.source.start()
      await twice.source.start()
      await twice.source.start()
      const onceView = new View()
      const twiceView = new View()
      once.source.subscribe(onceView.listener)
      twice.source.subscribe(twiceView.listener)
      await once.set(NEXT)
      await twice.set(NEXT)
      t.strictSame(twiceView.updates, onceView.updates, 'started twice, it publishes what a source started once does')
      await twice.source.stop()
      await twice.source.stop()
      const heard = twiceView.updates.length
      await twice.set(LATER)
      t.equal(twiceView.updates.length, heard, 'a stopped source publishes nothing')
      await once.source.stop()
      await once.close!()
      await twice.close!()
      t.strictSame(process.getActiveResourcesInfo().sort(), handles, 'no handle left open')
    })
  })
}
