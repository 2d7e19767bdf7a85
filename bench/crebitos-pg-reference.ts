import pg from 'pg';
import { statementOf } from '../src/modules/credit/contest.contract.ts';
import { CreditRepository } from '../src/modules/credit/credit.repository.ts';
import { serveCrebitos } from './lib/crebitos-server.ts';

/**
 * bench:credit's floor: the contest's routes on bare node:http with
 * armazem's own SQL (credit_post() and the statement's read, on armazem's
 * schema) sent through `pg`, one query per request and commits without the
 * WAL flush, as the credit profile commits — no framework, batching, logs,
 * metrics or security headers. Two of these behind the same nginx are what
 * any durable server of this shape pays for the PostgreSQL hop; armazem's
 * distance from them is its own work.
 */
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: 4,
  options: '-c synchronous_commit=off',
});
const credit = new CreditRepository(pool, { maxBatch: 1, concurrency: 1 });

serveCrebitos(
  {
    async statement(id) {
      const account = await credit.contestAccount(id);
      return account ? { status: 200, body: statementOf(account) } : { status: 404 };
    },
    async post(id, { valor, tipo, descricao }) {
      const [r] = await credit.postNow(pool, [
        { account: { contestClientId: id }, kind: tipo, amount: valor, description: descricao },
      ]);
      if (r?.outcome === 'applied') return { status: 200, body: { limite: r.limit, saldo: r.balance } };
      return { status: r?.outcome === 'not_found' ? 404 : 422 };
    },
  },
  Number(process.env.PORT ?? 3997),
  (id) => id >= 1 && id <= 2_147_483_647,
);
