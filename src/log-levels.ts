/**
 * Log levels at run time, as Envoy's `/logging`: one default level (`log.level`) and per-component
 * overrides (`gossip: debug`), changed by `PUT /v1/log-level` and by a config reload.
 *
 * Every child logger carrying a `component` binding is followed (pino's `onChild` hook, inherited
 * by grandchildren): on any change each gets `override ?? default`. The loggers are held weakly, so
 * a component logger nobody uses any more is not kept alive. A change logs nothing by itself; the
 * caller (admin, runtime) logs who asked.
 */
import type { Logger } from 'pino'

export const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type Level = (typeof LEVELS)[number]

export function isLevel(s: unknown): s is Level {
  return typeof s === 'string' && (LEVELS as readonly string[]).includes(s)
}

export interface LevelView {
  /** The default level (`log.level`, or what PUT set). */
  readonly level: Level
  /** Components with a level of their own. */
  readonly components: Readonly<Record<string, Level>>
  /** Every component that has a logger (what an override may name). */
  readonly known: readonly string[]
}

export class LogLevels {
  private base: Level
  private readonly overrides = new Map<string, Level>()
  private readonly loggers = new Map<string, Set<WeakRef<Logger>>>()

  /** Follows `root` and every child made from it after this call. */
  constructor(private readonly root: Logger) {
    this.base = isLevel(root.level) ? root.level : 'info'
    const previous = root.onChild
    root.onChild = (child: Logger) => {
      previous.call(root, child)
      this.follow(child)
    }
  }

  private follow(child: Logger): void {
    const component = componentOf(child)
    if (component === undefined) return
    let set = this.loggers.get(component)
    if (!set) this.loggers.set(component, (set = new Set()))
    set.add(new WeakRef(child))
    const own = this.overrides.get(component)
    if (own !== undefined) child.level = own
  }

  view(): LevelView {
    return { level: this.base, components: Object.fromEntries(this.overrides), known: [...this.loggers.keys()].sort() }
  }

  /** True when a logger of that component exists. */
  knows(component: string): boolean {
    return this.loggers.has(component)
  }

  /** The level a component logs at now. */
  levelOf(component: string | undefined): Level {
    return (component !== undefined ? this.overrides.get(component) : undefined) ?? this.base
  }

  /** Sets the default level (components with an override keep theirs). Returns the previous one. */
  setDefault(level: Level): Level {
    const previous = this.base
    this.base = level
    this.root.level = level
    this.apply()
    return previous
  }

  /** Sets (or, with `undefined`, removes) a component's own level. Returns the level it had. */
  setComponent(component: string, level: Level | undefined): Level {
    const previous = this.levelOf(component)
    if (level === undefined) this.overrides.delete(component)
    else this.overrides.set(component, level)
    this.apply(component)
    return previous
  }

  private apply(only?: string): void {
    for (const [component, set] of this.loggers) {
      if (only !== undefined && component !== only) continue
      const level = this.levelOf(component)
      for (const ref of set) {
        const l = ref.deref()
        if (l === undefined) set.delete(ref)
        else l.level = level
      }
    }
  }
}

function componentOf(logger: Logger): string | undefined {
  const c = (logger.bindings() as Record<string, unknown>).component
  return typeof c === 'string' ? c : undefined
}
