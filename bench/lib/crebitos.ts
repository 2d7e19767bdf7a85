import http from 'node:http';

/**
 * The Rinha de Backend 2024/Q1 load test ("crébitos"), re-created from the
 * contest's public Gatling simulation (RinhaBackendCrebitosSimulation.scala):
 * the same scenarios, injection profile, checks and judging. Like Gatling's
 * virtual users, every request opens its own connection.
 */

export interface Answer {
  status: number;
  /** Parsed JSON body, or undefined when the body was not JSON. */
  json: unknown;
  /** From the start of the connection to the end of the body. */
  ms: number;
}

/** Where requests go: one address (nginx), or a function that picks one per request (round robin in tests). */
export type Base = string | (() => string);

/** One request on a new connection, as each Gatling virtual user makes it. */
export function request(base: Base, method: 'GET' | 'POST', path: string, body?: string): Promise<Answer> {
  const url = new URL(path, typeof base === 'string' ? base : base());
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        agent: false,
        headers: {
          'user-agent': 'Agente do Caos - 2024/Q1',
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {}
          resolve({ status: res.statusCode ?? 0, json, ms: performance.now() - started });
        });
        res.on('error', () => resolve({ status: 0, json: undefined, ms: performance.now() - started }));
      },
    );
    req.on('error', () => resolve({ status: 0, json: undefined, ms: performance.now() - started }));
    req.end(body);
  });
}

/** Gatling's jmesPath: a dotted path with [n] indexes. */
function at(json: unknown, path: string): unknown {
  let v: unknown = json;
  for (const part of path.split('.')) {
    const m = /^([^[]+)(?:\[(\d+)\])?$/.exec(part);
    if (!m || v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[m[1] as string];
    if (m[2] !== undefined) v = Array.isArray(v) ? v[Number(m[2])] : undefined;
  }
  return v;
}

/** A failed check, named as Gatling's simulation.log names it (the contest's judging greps these). */
export interface Failure {
  request: string;
  check: string;
}

export interface Checked {
  request: string;
  answer: Answer;
  failures: Failure[];
}

/** saldo ≥ −limite, as validarConsistenciaSaldoLimite checks it. */
function consistent(request: string, name: string, saldo: unknown, limite: unknown): Failure[] {
  const s = Number.isInteger(saldo) ? (saldo as number) : Number.NaN;
  const l = Number.isInteger(limite) ? (limite as number) : Number.NaN;
  if (Number.isNaN(s) || Number.isNaN(l)) return [{ request, check: `${name}: WTF?!` }];
  return s < -l ? [{ request, check: `${name}: Limite ultrapassado!` }] : [];
}

const statusIn = (request: string, a: Answer, ...allowed: number[]): Failure[] =>
  allowed.includes(a.status)
    ? []
    : [{ request, check: `status.find.in(${allowed.join(',')}), found ${a.status}` }];

/** jmesPath(path).is(expected), compared as text, as ofType[String] does. */
const is = (request: string, a: Answer, path: string, expected: unknown): Failure[] =>
  String(at(a.json, path)) === String(expected)
    ? []
    : [
        {
          request,
          check: `jmesPath(${path}).find.is(${String(expected)}), found ${String(at(a.json, path))}`,
        },
      ];

const transaction = (valor: number | string, tipo: string, descricao: string | null) =>
  `{"valor": ${valor}, "tipo": ${JSON.stringify(tipo)}, "descricao": ${descricao === null ? 'null' : JSON.stringify(descricao)}}`;

export async function debit(
  base: Base,
  clientId: number,
  valor: number,
  descricao: string,
): Promise<Checked> {
  const a = await request(
    base,
    'POST',
    `/clientes/${clientId}/transacoes`,
    transaction(valor, 'd', descricao),
  );
  const failures = statusIn('débitos', a, 200, 422);
  if (a.status === 200)
    failures.push(
      ...consistent(
        'débitos',
        'ConsistenciaSaldoLimite - Transação',
        at(a.json, 'saldo'),
        at(a.json, 'limite'),
      ),
    );
  return { request: 'débitos', answer: a, failures };
}

export async function credit(
  base: Base,
  clientId: number,
  valor: number,
  descricao: string,
): Promise<Checked> {
  const a = await request(
    base,
    'POST',
    `/clientes/${clientId}/transacoes`,
    transaction(valor, 'c', descricao),
  );
  const failures = statusIn('créditos', a, 200);
  failures.push(
    ...consistent(
      'créditos',
      'ConsistenciaSaldoLimite - Transação',
      at(a.json, 'saldo'),
      at(a.json, 'limite'),
    ),
  );
  return { request: 'créditos', answer: a, failures };
}

export async function statement(base: Base, clientId: number): Promise<Checked> {
  const a = await request(base, 'GET', `/clientes/${clientId}/extrato`);
  const failures = consistent(
    'extratos',
    'ConsistenciaSaldoLimite - Extrato',
    at(a.json, 'saldo.total'),
    at(a.json, 'saldo.limite'),
  );
  return { request: 'extratos', answer: a, failures };
}

/** The contest's clients and their limits (cents). */
export const CLIENTS = [
  { id: 1, limite: 1000 * 100 },
  { id: 2, limite: 800 * 100 },
  { id: 3, limite: 10000 * 100 },
  { id: 4, limite: 100000 * 100 },
  { id: 5, limite: 5000 * 100 },
];

/** "validação concorrência": 25 concurrent transactions of 1 on client 1, then its balance. */
async function concurrencyValidation(base: Base, tipo: 'c' | 'd', expected: number): Promise<Checked[]> {
  const txs = await Promise.all(
    Array.from({ length: 25 }, async () => {
      const a = await request(base, 'POST', '/clientes/1/transacoes', transaction(1, tipo, 'validacao'));
      return { request: 'validações', answer: a, failures: statusIn('validações', a, 200) };
    }),
  );
  const a = await request(base, 'GET', '/clientes/1/extrato');
  return [
    ...txs,
    { request: 'validações', answer: a, failures: is('validações', a, 'saldo.total', expected) },
  ];
}

/** "validações": one client's statement, transactions, statement consistency and invalid bodies. */
async function clientValidation(base: Base, c: { id: number; limite: number }): Promise<Checked[]> {
  const out: Checked[] = [];
  const v = (a: Answer, failures: Failure[]) => out.push({ request: 'validações', answer: a, failures });
  const path = `/clientes/${c.id}`;

  let a = await request(base, 'GET', `${path}/extrato`);
  v(a, [
    ...statusIn('validações', a, 200),
    ...is('validações', a, 'saldo.limite', c.limite),
    ...is('validações', a, 'saldo.total', 0),
  ]);
  for (const [tipo, descricao] of [
    ['c', 'toma'],
    ['d', 'devolve'],
  ] as const) {
    a = await request(base, 'POST', `${path}/transacoes`, transaction(1, tipo, descricao));
    v(a, [
      ...statusIn('validações', a, 200),
      ...consistent(
        'validações',
        'ConsistenciaSaldoLimite - Transação',
        at(a.json, 'saldo'),
        at(a.json, 'limite'),
      ),
    ]);
  }
  a = await request(base, 'GET', `${path}/extrato`);
  v(a, [
    ...is('validações', a, 'ultimas_transacoes[0].descricao', 'devolve'),
    ...is('validações', a, 'ultimas_transacoes[0].tipo', 'd'),
    ...is('validações', a, 'ultimas_transacoes[0].valor', 1),
    ...is('validações', a, 'ultimas_transacoes[1].descricao', 'toma'),
    ...is('validações', a, 'ultimas_transacoes[1].tipo', 'c'),
    ...is('validações', a, 'ultimas_transacoes[1].valor', 1),
  ]);
  a = await request(base, 'POST', `${path}/transacoes`, transaction(1, 'c', 'danada'));
  v(a, statusIn('validações', a, 200));
  const { saldo, limite } = (a.json ?? {}) as { saldo?: number; limite?: number };
  // Four statements at once (Gatling's .resources), each must show the credit just made.
  const statements = await Promise.all(
    Array.from({ length: 4 }, () => request(base, 'GET', `${path}/extrato`)),
  );
  for (const s of statements) {
    v(s, [
      ...is('validações', s, 'ultimas_transacoes[0].descricao', 'danada'),
      ...is('validações', s, 'ultimas_transacoes[0].tipo', 'c'),
      ...is('validações', s, 'ultimas_transacoes[0].valor', 1),
      ...is('validações', s, 'saldo.limite', limite),
      ...is('validações', s, 'saldo.total', saldo),
    ]);
  }
  for (const body of [
    transaction(1.2, 'd', 'devolve'),
    transaction(1, 'x', 'devolve'),
    transaction(1, 'c', '123456789 e mais um pouco'),
    transaction(1, 'c', ''),
    transaction(1, 'c', null),
  ]) {
    a = await request(base, 'POST', `${path}/transacoes`, body);
    v(a, statusIn('validações', a, 422, 400));
  }
  return out;
}

/** Client 6 does not exist: 404. */
async function notFoundValidation(base: Base): Promise<Checked> {
  const a = await request(base, 'GET', '/clientes/6/extrato');
  return { request: 'validações', answer: a, failures: statusIn('validações', a, 404) };
}

/** The simulation's setUp before the load: returns every check it made, in order. */
export async function validations(base: Base, load?: () => Promise<Checked[]>): Promise<Checked[]> {
  const out: Checked[] = [];
  out.push(...(await concurrencyValidation(base, 'd', -25)));
  out.push(...(await concurrencyValidation(base, 'c', 0)));
  // criteriosClientes runs beside criterioClienteNaoEcontrado, and the load starts once the latter is done.
  const clients = Promise.all(CLIENTS.map((c) => clientValidation(base, c)));
  const loadRun = notFoundValidation(base).then(async (nf) => [nf, ...(load ? await load() : [])]);
  const [perClient, rest] = await Promise.all([clients, loadRun]);
  out.push(...perClient.flat(), ...rest);
  return out;
}

/** Start times (s) of the users `rampUsersPerSec(from).to(to).during(d)` then `constantUsersPerSec(to).during(d)` injects. */
export function injectionTimes(
  from: number,
  to: number,
  rampSeconds: number,
  constantSeconds: number,
): number[] {
  const times: number[] = [];
  // Users injected by time t of the ramp: from·t + (to − from)·t²/(2d); the k-th user starts when that reaches k.
  const a = (to - from) / (2 * rampSeconds);
  for (let k = 1; ; k++) {
    const t = a === 0 ? k / from : (-from + Math.sqrt(from * from + 4 * a * k)) / (2 * a);
    if (t > rampSeconds) break;
    times.push(t);
  }
  const n = Math.round(to * constantSeconds);
  for (let k = 0; k < n; k++) times.push(rampSeconds + k / to);
  return times;
}

const randomInt = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));
const randomDescricao = () =>
  Array.from(
    { length: 10 },
    () => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[randomInt(0, 61)],
  ).join('');

/**
 * The load: débitos ramping 1 → 220 users/s, créditos 1 → 110, extratos 1 → 10,
 * each over `rampSeconds`, then constant for `constantSeconds` (the contest: 120 + 120).
 * Each answer carries `at`, the second of the run its user started in.
 */
export async function load(
  base: Base,
  opts: { rampSeconds: number; constantSeconds: number },
): Promise<Checked[]> {
  const scenarios: Array<[number, () => Promise<Checked>]> = [
    [220, () => debit(base, randomInt(1, 5), randomInt(1, 10_000), randomDescricao())],
    [110, () => credit(base, randomInt(1, 5), randomInt(1, 10_000), randomDescricao())],
    [10, () => statement(base, randomInt(1, 5))],
  ];
  const schedule = scenarios
    .flatMap(([rate, run]) =>
      injectionTimes(1, rate, opts.rampSeconds, opts.constantSeconds).map((t) => ({ t, run })),
    )
    .sort((x, y) => x.t - y.t);
  const started = performance.now();
  const running: Array<Promise<Checked & { at: number }>> = [];
  for (const s of schedule) {
    const wait = s.t * 1000 - (performance.now() - started);
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    running.push(s.run().then((c) => ({ ...c, at: s.t })));
  }
  return Promise.all(running);
}

/** The contest's judging (executar-testes-final.sh): payout of USD 100,000 minus the SLA and consistency fines. */
export function judge(checked: Checked[], slaMs = 250) {
  const total = checked.length;
  const okFast = checked.filter((c) => c.failures.length === 0 && c.answer.ms < slaMs).length;
  const percent = Math.round((okFast / total) * 10_000) / 100;
  const inconsistencies = checked
    .flatMap((c) => c.failures)
    .filter(
      (f) =>
        f.check.startsWith('ConsistenciaSaldoLimite') || f.check.startsWith('jmesPath(saldo.total).find.is'),
    ).length;
  const slaFine = Math.max(0, Math.round((98 - percent) * 1000 * 100) / 100);
  const consistencyFine = Math.round(inconsistencies * 803.01 * 100) / 100;
  return {
    total,
    okUnderSla: okFast,
    percentUnderSla: percent,
    inconsistencies,
    slaFine,
    consistencyFine,
    payout: Math.max(0, Math.round((100_000 - slaFine - consistencyFine) * 100) / 100),
  };
}
