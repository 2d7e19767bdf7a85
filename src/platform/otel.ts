import { readFileSync } from 'node:fs';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { register as registerEsmHooks } from 'import-in-the-middle/register-hooks.mjs';
import type { Config } from '../config.ts';
import type { Tracer } from './tracer.ts';

/**
 * The SDK itself, imported only by `startTracing`. The exporter, the batch
 * processor and the sampler read their standard OTEL_* variables (declared
 * in config.ts); the service name and resource come from OTEL_SERVICE_NAME
 * and OTEL_RESOURCE_ATTRIBUTES, with armazem's role and instance added.
 */
const VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

export async function startOtel(config: Config, role: string): Promise<Tracer> {
  // ESM imports of the instrumented packages are hooked in this thread (no loader worker).
  registerEsmHooks({ include: ['pg', 'pg-pool', 'ioredis', 'http', 'https', 'node:http', 'node:https'] });
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: 'armazem',
    [ATTR_SERVICE_VERSION]: VERSION,
    'service.instance.id': config.INSTANCE_ID,
    'armazem.role': role,
  }).merge(detectResources({ detectors: [envDetector] }));
  const exporter =
    config.OTEL_EXPORTER_OTLP_PROTOCOL === 'http/json' ? new JsonExporter() : new ProtobufExporter();
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  // W3C trace context (and baggage) in and out.
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Exporting spans must not make spans of its own.
        ignoreOutgoingRequestHook: (req) => String(req.path ?? '').startsWith('/v1/traces'),
      }),
      new FastifyOtelInstrumentation({ registerOnInitialization: true, instrumentHooks: false }),
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  const tracer = provider.getTracer('armazem', VERSION);
  return {
    inSpan: (name, attributes, fn) =>
      tracer.startActiveSpan(name, { attributes }, async (span: Span) => {
        try {
          return await fn(span);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      }),
    logFields: (): Record<string, string> => {
      const span = trace.getSpan(context.active())?.spanContext();
      return span ? { traceId: span.traceId, spanId: span.spanId } : {};
    },
    shutdown: () => provider.shutdown(),
  };
}
