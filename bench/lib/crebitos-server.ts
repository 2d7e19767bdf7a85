import http from 'node:http';

/** A contest answer: a status and, for a 200, its JSON body. */
export interface Answer {
  status: number;
  body?: unknown;
}

export interface Transaction {
  valor: number;
  tipo: 'c' | 'd';
  descricao: string;
}

/** What a bench reference does with a contest request (a promise only when it must wait). */
export interface Store {
  post(clientId: number, tx: Transaction): Answer | Promise<Answer>;
  statement(clientId: number): Answer | Promise<Answer>;
}

function send(res: http.ServerResponse, { status, body }: Answer): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const answer = (res: http.ServerResponse, a: Answer | Promise<Answer>) =>
  a instanceof Promise
    ? a.then(
        (x) => send(res, x),
        () => send(res, { status: 500 }),
      )
    : send(res, a);

/** The body the contest's specification allows, else undefined (a 422). */
function transaction(raw: string): Transaction | undefined {
  let body: { valor?: unknown; tipo?: unknown; descricao?: unknown };
  try {
    body = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const { valor, tipo, descricao } = body ?? {};
  if (
    !Number.isInteger(valor) ||
    (valor as number) < 1 ||
    (tipo !== 'c' && tipo !== 'd') ||
    typeof descricao !== 'string' ||
    descricao.length < 1 ||
    descricao.length > 10
  )
    return undefined;
  return { valor: valor as number, tipo, descricao };
}

/**
 * The Rinha de Backend 2024/Q1 routes on bare node:http, for bench:credit's
 * references: routing, the body's checks and the answers, with nothing else
 * (no framework, logs, metrics or headers beyond the contest's).
 */
export function serveCrebitos(store: Store, port: number, knows: (clientId: number) => boolean): http.Server {
  return http
    .createServer((req, res) => {
      const m = /^\/clientes\/(\d+)\/(transacoes|extrato)$/.exec(req.url ?? '');
      const id = m ? Number(m[1]) : 0;
      if (!m || !knows(id)) return send(res, { status: 404 });
      if (m[2] === 'extrato') return answer(res, store.statement(id));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const tx = transaction(Buffer.concat(chunks).toString('utf8'));
        answer(res, tx ? store.post(id, tx) : { status: 422 });
      });
    })
    .listen(port, '127.0.0.1');
}
