/**
 * Watching the mesh TLS files for rotation: the directories that hold them are watched
 * (fs.watch), because Kubernetes Secret volumes swap a `..data` symlink and cert-manager or an
 * editor rename new files over old ones; a change, settled for `debounceMs`, calls `changed`.
 * A slow poll calls it too (every `pollMs`), for file systems where fs.watch sees nothing (NFS,
 * some container mounts). `changed` compares contents itself, so a spurious call is cheap.
 * Startable; nothing it holds keeps the process alive.
 */
import { watch, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import type { Clock, Timer } from '../clock.js'
import type { Startable } from '../lifecycle.js'
import { Ticker } from '../ticker.js'

export interface TlsWatchOptions {
  /** The files to watch (read at start and on `rewatch`). */
  readonly files: () => readonly string[]
  /** Something may have changed: compare and reload. */
  readonly changed: () => void
  readonly clock: Clock
  /** Told when a directory cannot be watched (the poll still runs). */
  readonly onWatchError?: (dir: string, err: unknown) => void
  /** Quiet time after the last event. Default 200 ms. */
  readonly debounceMs?: number
  /** Poll interval. Default 10 s. */
  readonly pollMs?: number
}

export class TlsWatch implements Startable {
  private readonly o: TlsWatchOptions
  private readonly watchers = new Map<string, FSWatcher>()
  private readonly poll: Ticker
  private timer: Timer | undefined
  private active = false

  constructor(options: TlsWatchOptions) {
    this.o = options
    this.poll = new Ticker({ clock: options.clock, interval: options.pollMs ?? 10_000, run: () => options.changed() })
  }

  start(): void {
    if (this.active) return
    this.active = true
    this.rewatch()
    this.poll.start()
  }

  /** Watches the directories of the current file list (after a reload changed the paths). */
  rewatch(): void {
    if (!this.active) return
    const dirs = new Set(this.o.files().map((f) => dirname(f)))
    for (const [dir, w] of this.watchers) {
      if (!dirs.has(dir)) {
        w.close()
        this.watchers.delete(dir)
      }
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue
      try {
        const w = watch(dir, { persistent: false }, () => this.schedule())
        w.on('error', (err) => {
          this.o.onWatchError?.(dir, err)
          w.close()
          this.watchers.delete(dir)
        })
        this.watchers.set(dir, w)
      } catch (err) {
        this.o.onWatchError?.(dir, err)
      }
    }
  }

  stop(): void {
    if (!this.active) return
    this.active = false
    for (const w of this.watchers.values()) w.close()
    this.watchers.clear()
    this.poll.stop()
    this.timer?.cancel()
    this.timer = undefined
  }

  private schedule(): void {
    if (!this.active) return
    this.timer?.cancel()
    this.timer = this.o.clock.setTimer(() => {
      this.timer = undefined
      if (this.active) this.o.changed()
    }, this.o.debounceMs ?? 200)
  }
}
