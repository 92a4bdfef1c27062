/**
 * Opt-in config file watching (`admin.watchConfig`): a change to the file, settled for
 * `debounceMs`, triggers one reload through the same path as SIGHUP and POST /v1/reload (which
 * validates, applies or refuses, and counts the attempt). The file's directory is watched, so
 * editors that save by writing a new file and renaming it over the old one are seen too; where
 * fs.watch is not available the file is polled (fs.watchFile). A save that leaves the text as it
 * was does not reload. At most one reload runs at a time; a change during it reloads once more
 * afterwards. Startable; nothing it holds keeps the process alive.
 */
import { readFileSync, unwatchFile, watch, watchFile, type FSWatcher, type Stats } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { Clock, Timer } from '../clock.js'
import type { Startable } from '../lifecycle.js'

export interface ConfigWatchLog {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

export interface ConfigWatchOptions {
  /** Absolute path of the config file. */
  readonly file: string
  /** Reloads the config (never rejects; a refused config is the reloader's business). */
  readonly reload: () => Promise<unknown>
  readonly clock: Clock
  readonly log: ConfigWatchLog
  /** Quiet time after the last change before reloading. Default 250 ms. */
  readonly debounceMs?: number
  /** Polling interval when fs.watch is unavailable. Default 1000 ms. */
  readonly pollMs?: number
}

export class ConfigWatcher implements Startable {
  private readonly o: ConfigWatchOptions
  private watcher: FSWatcher | undefined
  private polling = false
  private timer: Timer | undefined
  private running: Promise<void> | undefined
  private again = false
  private lastText: string | undefined
  private active = false
  private judgedChanges = 0

  constructor(options: ConfigWatchOptions) {
    this.o = options
  }

  get watching(): boolean {
    return this.active
  }

  start(): void {
    if (this.active) return
    this.active = true
    this.lastText = this.read()
    const name = basename(this.o.file)
    try {
      this.watcher = watch(dirname(this.o.file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === undefined || changed.toString() === name) this.changed()
      })
      this.watcher.on('error', (err) => {
        this.o.log.warn({ err, file: this.o.file }, 'config watch failed: polling the file instead')
        this.closeWatcher()
        this.poll()
      })
    } catch (err) {
      this.o.log.warn({ err, file: this.o.file }, 'config watch unavailable: polling the file instead')
      this.poll()
    }
    this.o.log.info({ file: this.o.file }, 'watching the config file')
  }

  stop(): void {
    if (!this.active) return
    this.active = false
    this.closeWatcher()
    if (this.polling) unwatchFile(this.o.file, this.onPoll)
    this.polling = false
    this.timer?.cancel()
    this.timer = undefined
  }

  /**
   * Settled changes judged so far: each one reloaded, was deferred behind a running reload, or
   * left the text as it was (lets a caller wait for the verdict on a save instead of sleeping).
   */
  get judged(): number {
    return this.judgedChanges
  }

  /** Resolves when no reload started by the watcher is running (tests). */
  async settled(): Promise<void> {
    while (this.running) await this.running
  }

  private poll(): void {
    if (!this.active || this.polling) return
    this.polling = true
    watchFile(this.o.file, { persistent: false, interval: this.o.pollMs ?? 1000 }, this.onPoll)
  }

  private readonly onPoll = (cur: Stats, prev: Stats): void => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) this.changed()
  }

  private closeWatcher(): void {
    this.watcher?.close()
    this.watcher = undefined
  }

  private changed(): void {
    if (!this.active) return
    this.timer?.cancel()
    this.timer = this.o.clock.setTimer(() => {
      this.timer = undefined
      this.fire()
    }, this.o.debounceMs ?? 250)
  }

  private fire(): void {
    if (!this.active) return
    this.judgedChanges++
    if (this.running) {
      this.again = true
      return
    }
    const text = this.read()
    if (text === undefined || text === this.lastText) return
    this.lastText = text
    this.o.log.info({ file: this.o.file }, 'config file changed: reloading')
    this.running = this.o
      .reload()
      .catch((err: unknown) => this.o.log.warn({ err }, 'config reload after a file change failed'))
      .then(() => {
        this.running = undefined
        if (this.again) {
          this.again = false
          this.fire()
        }
      })
  }

  /** The file's text; undefined while it cannot be read (being replaced, removed). */
  private read(): string | undefined {
    try {
      return readFileSync(this.o.file, 'utf8')
    } catch {
      return undefined
    }
  }
}
