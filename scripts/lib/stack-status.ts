import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeOk } from './probes.ts';
import type { Probe, StackProgram } from './stack-programs.ts';
import { programStates, supervisorFiles } from './supervisor.ts';

/** What `up` started, kept beside supervisord's files so `status` needs only the state directory. */
export interface StackRecord {
  profile: string;
  databaseUrl: string;
  redisUrl: string;
  rate: string;
  burst: number;
  programs: Array<Pick<StackProgram, 'name' | 'ports' | 'probe'>>;
}

const recordFile = (stateDir: string) => join(supervisorFiles(stateDir).dir, 'stack.json');

export function writeStackRecord(stateDir: string, record: StackRecord): void {
  // It holds the database URL, which may carry a password.
  writeFileSync(recordFile(stateDir), JSON.stringify(record, null, 2), { mode: 0o600 });
}

function readStackRecord(stateDir: string): StackRecord | null {
  const file = recordFile(stateDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StackRecord) : null;
}

const table = (rows: string[][]) => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};

/**
 * Each program's state as supervisord reports it, and its probe where it has
 * one; returns whether everything runs and answers.
 */
export async function printStatus(stateDir: string): Promise<boolean> {
  const record = readStackRecord(stateDir);
  const order = (name: string) => record?.programs.findIndex((p) => p.name === name) ?? -1;
  // In start order, as `up` listed them (supervisorctl sorts by name).
  const states = programStates(stateDir)?.sort((a, b) => order(a.name) - order(b.name));
  if (!states || !record) {
    console.log(`the stack in ${stateDir} is down (no supervisord answers on its socket)`);
    return false;
  }
  const probes = await Promise.all(
    states.map(async (s) => {
      const probe = record.programs.find((p) => p.name === s.name)?.probe;
      if (!probe || s.state !== 'RUNNING') return '-';
      return (await probeOk(probe as Probe, record.databaseUrl)) ? 'ready' : 'not ready';
    }),
  );
  const rows = [['program', 'state', 'pid', 'listens on', 'probe', 'since']];
  for (const [i, s] of states.entries()) {
    const ports = record.programs.find((p) => p.name === s.name)?.ports ?? [];
    rows.push([
      s.name,
      s.state,
      s.pid === null ? '-' : String(s.pid),
      ports.map((port) => `http://127.0.0.1:${port}`).join(' ') || '-',
      probes[i] ?? '-',
      s.detail.replace(/^pid \d+, /, ''),
    ]);
  }
  console.log(table(rows));
  const f = supervisorFiles(stateDir);
  console.log(
    `\nsupervisord pid ${readFileSync(f.pidFile, 'utf8').trim()}, configuration ${f.conf}, logs in ${join(stateDir, 'logs')}`,
  );
  console.log(
    `database ${record.databaseUrl.replace(/:[^:@/]+@/, ':***@')}  redis ${record.redisUrl || 'none'}  profile ${record.profile}  rate limit ${record.rate} burst ${record.burst}`,
  );
  return states.every((s, i) => s.state === 'RUNNING' && probes[i] !== 'not ready');
}
