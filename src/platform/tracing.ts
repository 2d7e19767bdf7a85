import type { Config } from '../config.ts';
import type { Attributes, SpanHandle, Tracer } from './tracer.ts';

/**
 * OpenTelemetry, loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set: without
 * it nothing of the SDK is imported and `inSpan` is a plain call. The SDK
 * must hook pg, ioredis and node:http before they load, so entry points call
 * `startTracing` first and import the role's modules after it.
 */

let active: Tracer | null = null;
const noSpan: SpanHandle = { setAttributes() {} };

export async function startTracing(config: Config, role: string): Promise<void> {
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT || active) return;
  active = await (await import('./otel.ts')).startOtel(config, role);
}

/** Runs `fn` in a child span of the active one (a root span when there is none); just runs it when tracing is off. */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: SpanHandle) => Promise<T>,
): Promise<T> {
  return active ? active.inSpan(name, attributes, fn) : fn(noSpan);
}

/** pino's mixin: the active trace and span ids on every log line written inside a span. */
export function traceLogFields(): Record<string, string> {
  return active ? active.logFields() : {};
}

export function tracingEnabled(): boolean {
  return active !== null;
}

/** Sends the spans still buffered; called last on shutdown. */
export async function stopTracing(): Promise<void> {
  await active?.shutdown();
  active = null;
}
