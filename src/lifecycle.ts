/** Anything that owns a timer, socket or loop. `stop()` is idempotent and leaves no handle open. */
export interface Startable {
  start(): Promise<void> | void
  stop(): Promise<void> | void
}

/** Starts components in order and stops them in reverse; a failed start stops what already started. */
export class StartOrder {
  private readonly started: Startable[] = []
  async start(components: readonly Startable[]): Promise<void> {
    for (const c of components) {
      try {
        await c.start()
      } catch (err) {
        await this.stop()
        throw err
      }
      this.started.push(c)
    }
  }
  async stop(): Promise<void> {
    while (this.started.length > 0) {
      const c = this.started.pop()!
      await c.stop()
    }
  }
}
