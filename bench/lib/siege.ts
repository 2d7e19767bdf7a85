import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SiegeReport {
  transactions: number;
  availability: number;
  elapsed_time: number;
  response_time: number;
  transaction_rate: number;
  successful_transactions: number;
  failed_transactions: number;
  longest_transaction: number;
}

/**
 * Runs siege (Debian's package) with its defaults — a new connection per
 * request — except: more than 255 users, JSON out, no HTML parsing, no log.
 * `target` is a URL, or "URL POST body" as siege takes it.
 */
export async function siege(
  target: string,
  o: { users: number; seconds: number; delay: string; headers?: string[] },
): Promise<SiegeReport> {
  const dir = mkdtempSync(join(tmpdir(), 'armazem-siege-'));
  const rc = join(dir, 'siegerc');
  writeFileSync(
    rc,
    'limit = 2000\njson_output = true\nverbose = false\nquiet = true\nparser = false\nlogging = false\nshow-logfile = false\nconnection = close\n',
  );
  const args = [
    '-R',
    rc,
    '-c',
    String(o.users),
    '-t',
    `${o.seconds}S`,
    '-d',
    o.delay,
    '-j',
    ...(o.headers ?? []).flatMap((h) => ['-H', h]),
    target,
  ];
  const shown = args
    .map((a) => a.replace(/^(Authorization: Bearer ).+$/i, '$1***'))
    .map((a) => (a.includes(' ') ? `'${a}'` : a));
  console.log(`$ siege ${shown.join(' ')}`);
  const child = spawn('siege', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
  const json = /\{[\s\S]*\}/.exec(out)?.[0];
  if (!json) throw new Error(`siege exited ${code} without a report:\n${out}\n${err.slice(-2000)}`);
  return JSON.parse(json) as SiegeReport;
}
