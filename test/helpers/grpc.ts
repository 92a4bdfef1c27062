/**
 * Real @grpc/grpc-js servers and clients for the gRPC acceptance tests, without protoc: one
 * generic service, `test.v1.Echo`, whose messages are raw bytes (identity serializers), built with
 * `makeGenericClientConstructor`. Each server is named; its behaviour per call is chosen by the
 * test (answer, fail with a status, stay silent, be slow), and it counts the calls it got.
 *
 *   Unary(bytes) -> `<name>:<bytes>`
 *   Stream(bytes: decimal N)  -> N bytes in 64 KiB messages (server streaming)
 *   Chat(stream) -> every message echoed back (bidirectional)
 */
import * as grpc from '@grpc/grpc-js'

const id = (b: Buffer): Buffer => b

function method(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream, responseStream, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id }
}

export const ECHO_SERVICE = {
  Unary: method('/test.v1.Echo/Unary', false, false),
  Stream: method('/test.v1.Echo/Stream', false, true),
  Chat: method('/test.v1.Echo/Chat', true, true),
} satisfies grpc.ServiceDefinition

export const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo')
export type EchoClientType = InstanceType<typeof EchoClient> & {
  Unary: (req: Buffer, metadata: grpc.Metadata, options: grpc.CallOptions, cb: grpc.requestCallback<Buffer>) => grpc.ClientUnaryCall
  Stream: (req: Buffer, metadata?: grpc.Metadata, options?: grpc.CallOptions) => grpc.ClientReadableStream<Buffer>
  Chat: (metadata?: grpc.Metadata, options?: grpc.CallOptions) => grpc.ClientDuplexStream<Buffer, Buffer>
}

/** What a server does with a unary call. */
export type UnaryBehaviour = { kind: 'ok'; delayMs?: number } | { kind: 'fail'; code: grpc.status } | { kind: 'silent' }

export interface GrpcServer {
  readonly name: string
  /** `127.0.0.1:port`, or `unix:/path` for a Unix socket server. */
  readonly address: string
  /** Unary calls received. */
  calls: number
  behaviour: UnaryBehaviour
  /** Called with every bidirectional call as it starts (tests watch its events). */
  onChat: ((call: grpc.ServerDuplexStream<Buffer, Buffer>) => void) | undefined
  stop(): Promise<void>
}

const STREAM_CHUNK = 64 * 1024

/** A grpc-js server for `test.v1.Echo` on 127.0.0.1:0 (or on `unixPath`). */
export async function startGrpcServer(name: string, behaviour: UnaryBehaviour = { kind: 'ok' }, unixPath?: string): Promise<GrpcServer> {
  const server = new grpc.Server()
  const silent: grpc.ServerUnaryCall<Buffer, Buffer>[] = []
  const s: GrpcServer = {
    name,
    address: '',
    calls: 0,
    behaviour,
    onChat: undefined,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve())
        // calls kept silent on purpose would hold the shutdown: end them
        setTimeout(() => server.forceShutdown(), 500).unref()
      }),
  }
  server.addService(ECHO_SERVICE, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      s.calls++
      const b = s.behaviour
      if (b.kind === 'fail') cb({ code: b.code, details: `${name} fails` })
      else if (b.kind === 'silent') silent.push(call)
      else if (b.delayMs) setTimeout(() => cb(null, Buffer.from(`${name}:${call.request.toString()}`)), b.delayMs)
      else cb(null, Buffer.from(`${name}:${call.request.toString()}`))
    },
    Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      let left = Number(call.request.toString())
      const chunk = Buffer.alloc(STREAM_CHUNK, 7)
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, STREAM_CHUNK)
          left -= n
          if (!call.write(n === STREAM_CHUNK ? chunk : chunk.subarray(0, n))) {
            call.once('drain', pump)
            return
          }
        }
        call.end()
      }
      pump()
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      s.onChat?.(call)
      call.on('data', (m: Buffer) => call.write(m))
      call.on('end', () => call.end())
    },
  })
  const target = unixPath !== undefined ? `unix:${unixPath}` : '127.0.0.1:0'
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  )
  ;(s as { address: string }).address = unixPath !== undefined ? `unix:${unixPath}` : `127.0.0.1:${port}`
  return s
}

/** A client channel to `address` (`127.0.0.1:port`): one HTTP/2 connection, plaintext. */
export function echoClient(address: string): EchoClientType {
  return new EchoClient(address, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 }) as EchoClientType
}

export interface UnaryResult {
  readonly code: grpc.status
  readonly body?: string
  readonly details?: string
  readonly ms: number
}

/** One unary call; resolves with the status (never rejects). */
export function unary(client: EchoClientType, body: string, options: grpc.CallOptions = {}, metadata = new grpc.Metadata()): Promise<UnaryResult> {
  const t0 = performance.now()
  return new Promise((resolve) => {
    client.Unary(Buffer.from(body), metadata, options, (err, res) => {
      const ms = performance.now() - t0
      if (err) resolve({ code: err.code, details: err.details, ms })
      else resolve({ code: grpc.status.OK, body: res?.toString(), ms })
    })
  })
}

export { grpc }

/** Runs `call(i)` for i < total with at most `concurrency` in flight (a slow call holds only its own slot). */
export async function inFlight<R>(total: number, concurrency: number, call: (i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(total)
  let next = 0
  const worker = async () => {
    while (next < total) {
      const i = next++
      out[i] = await call(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker))
  return out
}
