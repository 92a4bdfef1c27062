/**
 * The OTLP/HTTP (JSON) span exporter of `tracing.otlp`: OpenTelemetry's OTLPTraceExporter with
 * the URL, headers and timeout of the config (given explicitly: they win over OTEL_* variables)
 * and a keep-alive agent of our own, destroyed on shutdown so no socket outlives the exporter.
 */
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { TracingConfig } from '../config/types.js'

export function otlpExporter(otlp: TracingConfig['otlp']): SpanExporter {
  let agent: HttpAgent | undefined
  const exporter = new OTLPTraceExporter({
    url: otlp.endpoint,
    headers: { ...otlp.headers },
    timeoutMillis: otlp.timeoutMs,
    httpAgentOptions: (protocol: string) => (agent ??= protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 2 }) : new HttpAgent({ keepAlive: true, maxSockets: 2 })),
  })
  return {
    export: (spans, done) => exporter.export(spans, done),
    async shutdown() {
      try {
        await exporter.shutdown()
      } finally {
        agent?.destroy()
      }
    },
    forceFlush: () => exporter.forceFlush(),
  }
}
