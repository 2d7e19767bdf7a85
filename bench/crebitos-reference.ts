import http from 'node:http';

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

function send(res: http.ServerResponse, status: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

http
  .createServer((req, res) => {
    const m = /^\/clientes\/(\d+)\/(transacoes|extrato)$/.exec(req.url ?? '');
    const client = m ? clients.get(Number(m[1])) : undefined;
    if (!m || !client) return send(res, 404);
    if (m[2] === 'extrato') {
      return send(res, 200, {
        saldo: { total: client.saldo, data_extrato: new Date().toISOString(), limite: client.limite },
        ultimas_transacoes: client.recent,
      });
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: { valor?: unknown; tipo?: unknown; descricao?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400);
      }
      const { valor, tipo, descricao } = body;
      if (
        !Number.isInteger(valor) ||
        (valor as number) < 1 ||
        (tipo !== 'c' && tipo !== 'd') ||
        typeof descricao !== 'string' ||
        descricao.length < 1 ||
        descricao.length > 10
      )
        return send(res, 422);
      const saldo = client.saldo + (tipo === 'c' ? (valor as number) : -(valor as number));
      if (saldo < -client.limite) return send(res, 422);
      client.saldo = saldo;
      client.recent.unshift({
        valor: valor as number,
        tipo,
        descricao,
        realizada_em: new Date().toISOString(),
      });
      if (client.recent.length > 10) client.recent.pop();
      send(res, 200, { limite: client.limite, saldo });
    });
  })
  .listen(Number(process.env.PORT ?? 3998), '127.0.0.1');
