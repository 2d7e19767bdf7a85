import { errors, Pool } from 'undici';

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

export class ProcessorClient {
  readonly name: ProcessorName;
  private readonly pool: Pool;
  private readonly timeoutMs: number;

  constructor(name: ProcessorName, baseUrl: string, timeoutMs: number) {
    this.name = name;
    this.timeoutMs = timeoutMs;
    // Keep-alive connections: no handshake per payment.
    this.pool = new Pool(baseUrl, { connections: 64, keepAliveTimeout: 30_000, pipelining: 1 });
  }

  async pay(
    correlationId: string,
    amount: string,
    requestedAt: Date,
    timeoutMs = this.timeoutMs,
  ): Promise<CallOutcome> {
    try {
      const res = await this.pool.request({
        method: 'POST',
        path: '/payments',
        headers: { 'content-type': 'application/json' },
        body: `{"correlationId":"${correlationId}","amount":${amount},"requestedAt":"${requestedAt.toISOString()}"}`,
        // undici's own headersTimeout runs on coarse timers (≈0.5–1 s); an abort signal keeps the budget exact.
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return 'accepted';
      if (res.statusCode === 422) return 'duplicate';
      if (res.statusCode === 500) return 'failed';
      // Anything else (a proxy's 502/504…) says nothing certain about the processor.
      return 'ambiguous';
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ECONNREFUSED' || err instanceof errors.ConnectTimeoutError) return 'unreachable';
      return 'ambiguous';
    }
  }

  /** The processor's own health report; null when it cannot be had (429, down). */
  async health(): Promise<Health | null> {
    try {
      const res = await this.pool.request({
        method: 'GET',
        path: '/payments/service-health',
        headersTimeout: 2000,
        bodyTimeout: 2000,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        return null;
      }
      const body = (await res.body.json()) as Partial<Health>;
      return typeof body.failing === 'boolean' && typeof body.minResponseTime === 'number'
        ? { failing: body.failing, minResponseTime: body.minResponseTime }
        : null;
    } catch {
      return null;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
