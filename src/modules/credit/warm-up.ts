import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppInstance } from '../../http/app-instance.ts';
import type { CreditRepository } from './credit.repository.ts';

/** A contest id no client has: a post to it goes all the way to credit_post() and changes nothing. */
const NO_CLIENT = 2_147_483_647;

/**
 * CREDIT_WARMUP, before the instance listens: every credit connection opened
 * and its statements planned (a credit and a debit, rolled back), then the
 * contest routes asked `rounds` times each, over real loopback connections
 * (a private server on the app's own listener), for answers that change nothing —
 * a statement, a post to a client that does not exist (through the batcher
 * and credit_post()), a refused body — so V8 has compiled the request path,
 * Node's HTTP server included, before the first real request.
 */
export async function warmUpCredit(
  app: AppInstance,
  credit: CreditRepository,
  opts: { connections: number; rounds: number },
): Promise<void> {
  await credit.warm(opts.connections, 1);
  await app.ready();
  // The listener the instance serves with (the contest's lane first), on a private port.
  const [listener] = app.server.listeners('request') as http.RequestListener[];
  const server = http.createServer(listener ?? ((req, res) => app.routing(req, res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const send = (method: string, path: string, body?: string) =>
    new Promise<void>((resolve) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          agent: false,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
          res.on('error', () => resolve());
        },
      );
      req.on('error', () => resolve());
      req.end(body);
    });
  const body = (valor: number) => JSON.stringify({ valor, tipo: 'd', descricao: 'warm-up' });
  const round = () =>
    Promise.all([
      // Held accounts (CREDIT_JOURNAL_DIR): a real client's statement would take its account from the instance nginx sends it to.
      send('GET', `/clientes/${credit.holding ? NO_CLIENT : 1}/extrato`),
      send('POST', `/clientes/${NO_CLIENT}/transacoes`, body(1)),
      send('POST', '/clientes/1/transacoes', body(1.5)),
    ]);
  try {
    // A few rounds at once, so posts also meet as batches.
    for (let i = 0; i < opts.rounds; i += 8) await Promise.all(Array.from({ length: 8 }, round));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
