/** Shared argv parsing for the bench forwarders: `--port N --target host:port[,host:port]`. */
export function forwarderArgs(argv: readonly string[]): { port: number; targets: { host: string; port: number }[] } {
  const get = (name: string) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const targets = (get('--target') ?? '').split(',').filter(Boolean).map((t) => {
    const i = t.lastIndexOf(':')
    return { host: t.slice(0, i), port: Number(t.slice(i + 1)) }
  })
  if (targets.length === 0) throw new Error('--target host:port is required')
  return { port: Number(get('--port') ?? 0), targets }
}

/** Tells the bench runner where the forwarder listens (one JSON line on stdout). */
export function announce(port: number): void {
  process.stdout.write(`${JSON.stringify({ listening: port })}\n`)
}
