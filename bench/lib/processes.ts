import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export { waitForHttp as waitHealthy } from '../../scripts/lib/wait.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/**
 * The V8 flags `npm start` uses: a 32 MB young generation means fewer
 * scavenges and a lower p99 at half load (docs/decisions.md).
 */
export const API_NODE_FLAGS = ['--max-semi-space-size=32'];

/** Starts a Node entry point as its own process, output discarded as a production log pipe would take it. */
export function spawnNode(entry: string, env: Record<string, string>, flags: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...flags, entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc. Unlike
 * throughput, CPU per request hardly moves when other work shares the
 * machine, so it compares builds where wall-clock figures drift.
 */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(stat[11]) + Number(stat[12])) / 100;
}

/**
 * CPU seconds of every PostgreSQL process so far, backends that have exited
 * included (the postmaster reaps them, so theirs is in its children's time).
 * The server is shared: other users' work counts too.
 */
export function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const raw = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (!raw.includes('(postgres)')) continue;
      const stat = raw.split(') ')[1]?.split(' ') ?? [];
      ticks += Number(stat[11]) + Number(stat[12]);
      // The postmaster (its parent is not PostgreSQL): add the backends it has reaped.
      if (!readFileSync(`/proc/${stat[1]}/stat`, 'utf8').includes('(postgres)'))
        ticks += Number(stat[13]) + Number(stat[14]);
    } catch {}
  }
  return ticks / 100;
}
