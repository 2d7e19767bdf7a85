/**
 * What tracing.ts asks of the OpenTelemetry SDK wrapper (otel.ts), declared
 * apart so otel.ts, loaded on demand by tracing.ts, does not import it back.
 */
export interface Tracer {
  inSpan<T>(name: string, attributes: Attributes, fn: (span: SpanHandle) => Promise<T>): Promise<T>;
  logFields(): Record<string, string>;
  shutdown(): Promise<void>;
}
export type Attributes = Record<string, string | number | boolean>;
export interface SpanHandle {
  setAttributes(attributes: Attributes): void;
}
