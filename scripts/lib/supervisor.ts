import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { systemBinary } from './system-packages.ts';

/** One program under supervisord: what it runs and how it is restarted and stopped. */
export interface Program {
  name: string;
  command: string[];
  /** On top of supervisord's environment, which every program inherits. */
  env?: Record<string, string>;
  log: string;
  /** Started in ascending order; `supervisorctl shutdown` stops in descending order. */
  priority: number;
  stopSignal: 'TERM' | 'QUIT';
  /** How long a stop waits for the exit before SIGKILL. */
  stopWaitSecs: number;
  /** true: restarted whatever its exit (compose's unless-stopped); 'unexpected': only after a failure (on-failure). */
  autorestart: true | 'unexpected';
  /** Up this long counts as started; an earlier exit is a failed start, retried with a growing delay. */
  startSecs: number;
  /** Failed starts in a row before the program is left FATAL. */
  startRetries: number;
}

/** Where one stack's supervisord keeps its files: its own socket and pid file, never the system's. */
export function supervisorFiles(stateDir: string) {
  const dir = join(stateDir, 'supervisor');
  return {
    dir,
    conf: join(dir, 'supervisord.conf'),
    socket: join(dir, 'supervisord.sock'),
    pidFile: join(dir, 'supervisord.pid'),
    log: join(dir, 'supervisord.log'),
  };
}

/** supervisord reads %(name)s expansions in values and splits commands as a POSIX shell would. */
const value = (text: string) => text.replaceAll('%', '%%');
const shellWord = (word: string) =>
  /^[\w@+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
/** `environment=` is split by a non-POSIX shlex: no escapes, so a value is quoted with a quote it does not hold. */
function quoted(name: string, text: string): string {
  const quote = text.includes('"') ? "'" : '"';
  if (text.includes(quote) || /^['"]|['"]$/.test(text))
    throw new Error(
      `${name}: supervisord cannot pass a value that holds both quote characters, or starts or ends with one`,
    );
  return `${quote}${text}${quote}`;
}

export function renderSupervisorConf(stateDir: string, workingDir: string, programs: Program[]): string {
  const f = supervisorFiles(stateDir);
  const sections = [
    `[unix_http_server]
file=${value(f.socket)}
chmod=0700

[supervisord]
logfile=${value(f.log)}
logfile_maxbytes=5MB
logfile_backups=1
pidfile=${value(f.pidFile)}
childlogdir=${value(f.dir)}
directory=${value(workingDir)}
identifier=armazem-stack

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${value(f.socket)}
`,
  ];
  for (const p of programs) {
    const env = Object.entries(p.env ?? {}).map(([k, v]) => `${k}=${value(quoted(k, v))}`);
    sections.push(`[program:${p.name}]
command=${value(p.command.map(shellWord).join(' '))}
directory=${value(workingDir)}
${env.length > 0 ? `environment=${env.join(',')}\n` : ''}priority=${p.priority}
autostart=true
autorestart=${p.autorestart}
startsecs=${p.startSecs}
startretries=${p.startRetries}
stopsignal=${p.stopSignal}
stopwaitsecs=${p.stopWaitSecs}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=${value(p.log)}
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=2
`);
  }
  return sections.join('\n');
}

export interface CtlResult {
  code: number | null;
  out: string;
}

/** supervisorctl on one stack's supervisord. */
export function supervisorctl(stateDir: string, args: string[]): CtlResult {
  const r = spawnSync(
    systemBinary('supervisorctl', 'supervisor'),
    ['-c', supervisorFiles(stateDir).conf, ...args],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export interface ProgramState {
  name: string;
  /** STARTING, RUNNING, BACKOFF, STOPPING, STOPPED, EXITED, FATAL or UNKNOWN. */
  state: string;
  pid: number | null;
  /** supervisorctl's words after the state: the uptime, or when and how it ended. */
  detail: string;
}

/** Every program's state, or null when this stack's supervisord is not running. */
export function programStates(stateDir: string): ProgramState[] | null {
  if (!existsSync(supervisorFiles(stateDir).conf)) return null;
  const { out } = supervisorctl(stateDir, ['status']);
  const states = out.split('\n').flatMap((line) => {
    const m = /^(\S+)\s+(STARTING|RUNNING|BACKOFF|STOPPING|STOPPED|EXITED|FATAL|UNKNOWN)\b\s*(.*)$/.exec(
      line,
    );
    if (!m) return [];
    const pid = /pid (\d+)/.exec(m[3] ?? '');
    return [{ name: m[1] ?? '', state: m[2] ?? '', pid: pid ? Number(pid[1]) : null, detail: m[3] ?? '' }];
  });
  return states.length > 0 ? states : null;
}

/** The pid of one program of a running stack (what tests and benches signal), or null. */
export function programPid(stateDir: string, name: string): number | null {
  const { code, out } = supervisorctl(stateDir, ['pid', name]);
  const pid = Number(out.trim());
  return code === 0 && Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** This stack's supervisord accepts connections on its socket (asked without starting supervisorctl's Python). */
export function supervisorRunning(stateDir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(supervisorFiles(stateDir).socket)
      .once('connect', () => {
        socket.destroy();
        resolve(true);
      })
      .once('error', () => resolve(false));
  });
}

/** Writes the configuration and starts supervisord, which starts every program; returns once it answers. */
export async function startSupervisor(
  stateDir: string,
  workingDir: string,
  programs: Program[],
  env: Record<string, string>,
): Promise<void> {
  const f = supervisorFiles(stateDir);
  // A unix socket's path holds 107 bytes at most.
  if (Buffer.byteLength(f.socket) > 100)
    throw new Error(`${f.socket}: path too long for a unix socket; choose a shorter STACK_DIR`);
  mkdirSync(f.dir, { recursive: true });
  writeFileSync(f.conf, renderSupervisorConf(stateDir, workingDir, programs));
  // supervisord forks into the background (its parent exits at once); the programs inherit `env`.
  const r = spawnSync(systemBinary('supervisord', 'supervisor'), ['-c', f.conf], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`supervisord did not start: ${r.stderr}${r.stdout}`);
  const deadline = Date.now() + 30_000;
  while (!(await supervisorRunning(stateDir))) {
    if (Date.now() > deadline) throw new Error(`supervisord did not answer on ${f.socket} (see ${f.log})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

/** Stops every program (in parallel, each by its stop signal and grace) and then supervisord itself. */
export async function stopSupervisor(stateDir: string): Promise<string> {
  const f = supervisorFiles(stateDir);
  if (!(await supervisorRunning(stateDir))) return 'supervisord not running';
  const pid = Number(readFileSync(f.pidFile, 'utf8').trim());
  const stopped = supervisorctl(stateDir, ['stop', 'all']).out.trim();
  // Asked over its socket, not by SIGTERM: a signal waits for its loop's next one-second tick.
  supervisorctl(stateDir, ['shutdown']);
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  return stopped;
}
