import type { FastifyInstance } from 'fastify';
import { createProcessorEmulator } from '../../src/modules/payments/emulator/processor-emulator.ts';

export type ProcessorName = 'default' | 'fallback';
const ADMIN = { 'x-rinha-token': '123', 'content-type': 'application/json' };

export interface Processors {
  url: Record<ProcessorName, string>;
  /** The app's env pointing at these two. */
  env: { PAYMENT_PROCESSOR_URL_DEFAULT: string; PAYMENT_PROCESSOR_URL_FALLBACK: string };
  app: Record<ProcessorName, FastifyInstance>;
  configure(name: ProcessorName, what: 'delay' | 'failure', value: number | boolean): Promise<void>;
  summary(name: ProcessorName): Promise<{ totalRequests: number; totalAmount: number }>;
  purge(): Promise<void>;
  close(): Promise<void>;
}

/** The two payment-processor emulators on free ports (default fee 0.05, fallback 0.15). */
export async function startProcessors(
  opts: {
    healthWindowMs?: number;
    onRequest?: (
      name: ProcessorName,
      url: string,
      headers: Record<string, string | string[] | undefined>,
    ) => void;
  } = {},
): Promise<Processors> {
  const app = {} as Record<ProcessorName, FastifyInstance>;
  const url = {} as Record<ProcessorName, string>;
  for (const [name, fee] of [
    ['default', 0.05],
    ['fallback', 0.15],
  ] as const) {
    const p = createProcessorEmulator({
      name,
      fee,
      ...(opts.healthWindowMs ? { healthWindowMs: opts.healthWindowMs } : {}),
    });
    const onRequest = opts.onRequest;
    if (onRequest) p.addHook('onRequest', async (request) => onRequest(name, request.url, request.headers));
    await p.listen({ port: 0, host: '127.0.0.1' });
    app[name] = p;
    url[name] = `http://127.0.0.1:${(p.server.address() as { port: number }).port}`;
  }
  return {
    url,
    env: { PAYMENT_PROCESSOR_URL_DEFAULT: url.default, PAYMENT_PROCESSOR_URL_FALLBACK: url.fallback },
    app,
    configure: async (name, what, value) => {
      await fetch(`${url[name]}/admin/configurations/${what}`, {
        method: 'PUT',
        headers: ADMIN,
        body: JSON.stringify({ [what]: value }),
      });
    },
    summary: async (name) =>
      (await (await fetch(`${url[name]}/admin/payments-summary`, { headers: ADMIN })).json()) as {
        totalRequests: number;
        totalAmount: number;
      },
    purge: async () => {
      for (const name of ['default', 'fallback'] as const)
        await fetch(`${url[name]}/admin/purge-payments`, { method: 'POST', headers: ADMIN });
    },
    close: async () => {
      await Promise.all(Object.values(app).map((a) => a.close()));
    },
  };
}
