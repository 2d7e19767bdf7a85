import http from 'node:http';
import { expect, vi } from 'vitest';
import type { AppInstance } from '../../src/http/app-instance.ts';
import type { Case } from '../abuse/openapi-cases.ts';

/**
 * Routes with a lane (src/http/lanes.ts) are answered in the server's
 * listener when they come over a real connection, and by Fastify through
 * app.inject. These helpers send the same request both ways and compare what
 * a client sees.
 */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over a real connection (node:http sends any header, and a GET with a body, as asked). */
export const viaListener = (
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  payload?: string,
) =>
  new Promise<Answer>((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode as number,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(payload);
  });

export const viaFastify = async (
  app: AppInstance,
  method: string,
  path: string,
  headers: Record<string, string>,
  payload?: string,
): Promise<Answer> => {
  const res = await app.inject({
    method: method as 'GET',
    url: path,
    headers,
    ...(payload === undefined ? {} : { payload }),
  });
  return { status: res.statusCode, headers: res.headers as Answer['headers'], body: res.body };
};

/** What a client sees, without what differs by request (its id, a statement's own timestamp). */
export const seen = (a: Answer) => ({
  status: a.status,
  type: a.headers['content-type'],
  length: a.headers['content-length'],
  security: a.headers['content-security-policy'],
  nosniff: a.headers['x-content-type-options'],
  body: a.body
    .replace(/"requestId":"[^"]*"/, '"requestId":"…"')
    .replace(/"data_extrato":"[^"]*"/, '"data_extrato":"…"'),
});

/**
 * Every generated bad-input case both ways: the same answer, a 4xx. Returns
 * how many of them the lane replayed through app.inject — proof that the
 * lane, not Fastify's router, took the ones that came over the connection.
 */
export async function expectSameRefusals(app: AppInstance, base: string, cases: Case[]): Promise<number> {
  const differ: string[] = [];
  const inject = vi.spyOn(app, 'inject');
  let replayed = 0;
  try {
    for (const c of cases) {
      const calls = inject.mock.calls.length;
      const listener = await viaListener(base, c.method, c.url, c.headers, c.payload);
      replayed += inject.mock.calls.length - calls;
      const fastify = await viaFastify(app, c.method, c.url, c.headers, c.payload);
      if (JSON.stringify(seen(listener)) !== JSON.stringify(seen(fastify)))
        differ.push(`${c.name}: ${JSON.stringify(seen(listener))} ≠ ${JSON.stringify(seen(fastify))}`);
      if (listener.status < 400 || listener.status >= 500)
        differ.push(`${c.name}: status ${listener.status}`);
    }
  } finally {
    inject.mockRestore();
  }
  expect(differ.slice(0, 20), `${differ.length} of ${cases.length} differ`).toEqual([]);
  return replayed;
}
