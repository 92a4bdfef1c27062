/** A raw HTTP/1.1 client for timeout tests: writes a head, trickles the rest, records when the server closes. */
import net from 'node:net'

export interface RawResult {
  /** Everything the server sent. */
  readonly text: string
  /** ms from the first write until the server closed the connection. */
  readonly closedAfterMs: number
}

/**
 * Opens a connection, writes `head`, then `trickle` one byte every `everyMs` (until it ends or the
 * server closes); resolves when the server closes the connection or `giveUpMs` passes.
 */
export function rawClient(port: number, head: string, opts: { trickle?: string; everyMs?: number; giveUpMs?: number } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const started = Date.now()
    let text = ''
    let timer: NodeJS.Timeout | undefined
    let i = 0
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(head)
      const rest = opts.trickle
      if (rest !== undefined && rest.length > 0) {
        timer = setInterval(() => {
          if (i >= rest.length || s.destroyed) return clearInterval(timer)
          s.write(rest[i++]!)
        }, opts.everyMs ?? 200)
      }
    })
    const done = () => {
      clearInterval(timer)
      clearTimeout(giveUp)
      resolve({ text, closedAfterMs: Date.now() - started })
    }
    const giveUp = setTimeout(() => {
      s.destroy()
    }, opts.giveUpMs ?? 8000)
    s.on('data', (d: Buffer) => (text += d.toString('latin1')))
    s.on('close', done)
    s.on('error', () => {})
  })
}

export const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)
export const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>
