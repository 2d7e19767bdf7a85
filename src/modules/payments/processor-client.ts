import * as http from 'node:http';
import * as https from 'node:https';

export type ProcessorName = 'default' | 'fallback';

/**
 * What a call to a processor tells us, and so what may happen next:
 * - accepted: it has the payment (200);
 * - duplicate: it already had it (422): a previous, ambiguous call went through;
 * - failed: it answered 500: nothing stored, the payment may go anywhere;
 * - unreachable: the request never left (connection refused): same;
 * - ambiguous: sent, but no answer (timeout, reset): it may have the payment,
 *   so only this processor may be asked again.
 */
export type CallOutcome = 'accepted' | 'duplicate' | 'failed' | 'unreachable' | 'ambiguous';

export interface Health {
  failing: boolean;
  minResponseTime: number;
}

/** One HTTP exchange's result: a status and body, or how it failed and whether the request could have been sent. */
type Exchange = { status: number; body: string } | { error: 'refused' | 'lost' };

/**
 * Calls one processor over keep-alive connections with node:http: at a
 * payment test's rate it serves as well as undici, in less memory
 * (docs/decisions.md).
 */
export class ProcessorClient {
  readonly name: ProcessorName;
  private readonly url: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;

  /** `maxConnections`: as many as calls can be in flight (a worker's batch), so none waits for a socket on its budget. */
  constructor(name: ProcessorName, baseUrl: string, timeoutMs: number, maxConnections = 64) {
    this.name = name;
    this.url = new URL(baseUrl);
    this.timeoutMs = timeoutMs;
    this.transport = this.url.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: maxConnections, timeout: 30_000 });
  }

  async pay(
    correlationId: string,
    amount: string,
    requestedAt: Date,
    timeoutMs = this.timeoutMs,
  ): Promise<CallOutcome> {
    const res = await this.exchange(
      'POST',
      '/payments',
      `{"correlationId":"${correlationId}","amount":${amount},"requestedAt":"${requestedAt.toISOString()}"}`,
      timeoutMs,
    );
    if ('error' in res) return res.error === 'refused' ? 'unreachable' : 'ambiguous';
    if (res.status >= 200 && res.status < 300) return 'accepted';
    if (res.status === 422) return 'duplicate';
    if (res.status === 500) return 'failed';
    // Anything else (a proxy's 502/504…) says nothing certain about the processor.
    return 'ambiguous';
  }

  /** The processor's own health report (the contest's answers 503 while failing); null when it cannot be had (429, down). */
  async health(): Promise<Health | null> {
    const res = await this.exchange('GET', '/payments/service-health', undefined, 2000);
    if ('error' in res || (res.status !== 200 && res.status !== 503)) return null;
    try {
      const body = JSON.parse(res.body) as Partial<Health>;
      return typeof body.failing === 'boolean' && typeof body.minResponseTime === 'number'
        ? { failing: body.failing, minResponseTime: body.minResponseTime }
        : null;
    } catch {
      return null;
    }
  }

  /**
   * Whether the processor holds this payment (GET /payments/:id, which answers at once even while
   * the processor is slow or failing): what settles a call that went unanswered. False when it
   * says no or cannot be asked — the payment may still be on its way.
   */
  async holds(correlationId: string, timeoutMs = 1000): Promise<boolean> {
    const res = await this.exchange('GET', `/payments/${correlationId}`, undefined, timeoutMs);
    return !('error' in res) && res.status === 200;
  }

  /**
   * One request within `timeoutMs`. 'refused': no connection was made, so the
   * request never left; 'lost': it may have been sent (timeout, reset).
   */
  private exchange(method: 'GET' | 'POST', path: string, body: string | undefined, timeoutMs: number) {
    return new Promise<Exchange>((resolve) => {
      let connected = false;
      // A timer cleared when the call ends, not AbortSignal.timeout(): its timer outlived every
      // call by the whole budget, so each call's objects survived into the old generation.
      let timer: NodeJS.Timeout | undefined;
      const settle = (result: Exchange) => {
        clearTimeout(timer);
        resolve(result);
      };
      const req = this.transport.request(
        {
          // URL keeps an IPv6 literal's brackets; the socket wants the bare address.
          host: this.url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: this.url.port || (this.url.protocol === 'https:' ? 443 : 80),
          method,
          path,
          agent: this.agent,
          headers:
            body === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => settle({ status: res.statusCode ?? 0, body: text }));
          // Cut mid-body (or by the timer): whatever the status said, the exchange did not finish.
          res.on('close', () => {
            if (!res.complete) settle({ error: 'lost' });
          });
        },
      );
      timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('socket', (socket) => {
        // A kept-alive socket is connected already; a new one once 'connect' fires.
        if (!socket.connecting) connected = true;
        else socket.once('connect', () => (connected = true));
      });
      req.on('error', (err: NodeJS.ErrnoException) =>
        settle({ error: !connected || err.code === 'ECONNREFUSED' ? 'refused' : 'lost' }),
      );
      req.end(body);
    });
  }

  close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }
}
