import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as received, with its attributes and its resource's flattened to plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface ExportTraceServiceRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: KeyValue[];
      }>;
    }>;
  }>;
}

const plain = (attrs: KeyValue[] = []) =>
  Object.fromEntries(
    attrs.map(({ key, value }) => [
      key,
      value.stringValue ??
        (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
        value.doubleValue ??
        value.boolValue,
    ]),
  );

/**
 * An OTLP/HTTP trace receiver, as a collector's: POST /v1/traces with the
 * JSON encoding (ExportTraceServiceRequest) is decoded and kept; the
 * protobuf encoding is counted (bodies kept raw); anything else is refused
 * (404 path, 405 method, 415 type, 400 undecodable) as a collector would.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly protobufBodies: Buffer[] = [];
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const type = req.headers['content-type']?.split(';')[0];
        if (req.url !== '/v1/traces') return res.writeHead(404).end();
        if (req.method !== 'POST') return res.writeHead(405).end();
        if (type === 'application/x-protobuf') {
          this.protobufBodies.push(body);
          return res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        }
        if (type !== 'application/json') return res.writeHead(415).end();
        let request: ExportTraceServiceRequest;
        try {
          request = JSON.parse(body.toString('utf8'));
        } catch {
          return res
            .writeHead(400, { 'content-type': 'application/json' })
            .end('{"code":3,"message":"bad JSON"}');
        }
        for (const rs of request.resourceSpans ?? []) {
          const resource = plain(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              this.spans.push({
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
                kind: s.kind,
                attributes: plain(s.attributes),
                resource,
              });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
