import { serveCrebitos } from './lib/crebitos-server.ts';

/**
 * bench:credit's reference: the Rinha de Backend 2024/Q1 contract served by
 * bare node:http from memory (one process, nothing durable) — the least a
 * Node server can do for the contest's requests, measured behind the same
 * nginx in the same run.
 */
interface Tx {
  valor: number;
  tipo: string;
  descricao: string;
  realizada_em: string;
}
const clients = new Map<number, { limite: number; saldo: number; recent: Tx[] }>(
  [100_000, 80_000, 1_000_000, 10_000_000, 500_000].map((limite, i) => [
    i + 1,
    { limite, saldo: 0, recent: [] },
  ]),
);
const account = (id: number) => clients.get(id) as { limite: number; saldo: number; recent: Tx[] };

serveCrebitos(
  {
    statement(id) {
      const client = account(id);
      return {
        status: 200,
        body: {
          saldo: { total: client.saldo, data_extrato: new Date().toISOString(), limite: client.limite },
          ultimas_transacoes: client.recent,
        },
      };
    },
    post(id, { valor, tipo, descricao }) {
      const client = account(id);
      const saldo = client.saldo + (tipo === 'c' ? valor : -valor);
      if (saldo < -client.limite) return { status: 422 };
      client.saldo = saldo;
      client.recent.unshift({ valor, tipo, descricao, realizada_em: new Date().toISOString() });
      if (client.recent.length > 10) client.recent.pop();
      return { status: 200, body: { limite: client.limite, saldo } };
    },
  },
  Number(process.env.PORT ?? 3998),
  (id) => clients.has(id),
);
