import { join } from 'node:path';
import type { Config } from '../../src/config.ts';
import { entryPoint, type StackConfig } from '../stack-config.ts';
import { type NginxSite, nginxCommand } from './nginx.ts';
import type { Program } from './supervisor.ts';

/** How the stack tells a program is ready, beyond supervisord's RUNNING. */
export type Probe =
  | { url: string; headers?: Record<string, string> }
  /** A queue worker has no port: it is ready once its LISTEN connection shows in pg_stat_activity. */
  | { listenAs: string };

export interface StackProgram extends Program {
  /** Where it listens on 127.0.0.1. */
  ports: number[];
  probe?: Probe;
}

/**
 * The stack's programs as compose's services run them: instances, workers,
 * the processor emulators and nginx restarted whatever their exit
 * (`restart: unless-stopped`), the bot only after a failure (its
 * `on-failure`). docs/stack.md explains each setting.
 */
export function stackPrograms(stack: StackConfig, app: Config): StackProgram[] {
  const log = (name: string) => join(stack.stateDir, 'logs', `${name}.log`);
  // The roles drain for SHUTDOWN_DRAIN_MS, then close within SHUTDOWN_TIMEOUT_MS; a second more before SIGKILL.
  const drainSecs = Math.ceil((app.SHUTDOWN_DRAIN_MS + app.SHUTDOWN_TIMEOUT_MS) / 1000) + 1;
  const node = (role: string, name: string, priority: number, env: Record<string, string>): StackProgram => ({
    name,
    command: [process.execPath, ...stack.nodeFlags, entryPoint(stack, role)],
    env: { INSTANCE_ID: name, MIGRATE_ON_START: 'false', ...env },
    log: log(name),
    ports: [],
    priority,
    stopSignal: 'TERM',
    stopWaitSecs: drainSecs,
    autorestart: true,
    startSecs: 2,
    startRetries: 5,
  });
  const programs: StackProgram[] = [];
  if (stack.processors) {
    const [d, f] = [stack.processorBasePort, stack.processorBasePort + 1];
    programs.push({
      ...node('processors', 'processors', 10, {
        PROCESSOR_DEFAULT_PORT: String(d),
        PROCESSOR_FALLBACK_PORT: String(f),
      }),
      ports: [d, f],
      probe: { url: `http://127.0.0.1:${f}/admin/payments-summary`, headers: { 'x-rinha-token': '123' } },
    });
  }
  for (let i = 0; i < stack.instances; i++) {
    const port = stack.apiBasePort + i;
    programs.push({
      ...node('api', `api-${i + 1}`, 100, { PORT: String(port) }),
      ports: [port],
      probe: { url: `http://127.0.0.1:${port}/readyz` },
    });
  }
  for (let i = 0; i < stack.workers; i++) {
    const name = `worker-${i + 1}`;
    programs.push({ ...node('worker', name, 200, {}), probe: { listenAs: `armazem/${name}` } });
  }
  if (stack.profile.bot && app.TELEGRAM_BOT_TOKEN) {
    programs.push({
      ...node('bot', 'bot', 300, { BOT_METRICS_PORT: String(stack.botPort) }),
      autorestart: 'unexpected',
      ports: [stack.botPort],
      probe: { url: `http://127.0.0.1:${stack.botPort}/readyz` },
    });
  }
  programs.push({
    name: 'nginx',
    // In the foreground: supervisord watches the process it started.
    command: [...nginxCommand(nginxSite(stack)), '-g', 'daemon off;'],
    log: log('nginx'),
    priority: 900,
    // QUIT: finish the requests in flight, then exit.
    stopSignal: 'QUIT',
    stopWaitSecs: 10,
    autorestart: true,
    startSecs: 1,
    startRetries: 5,
    ports: [stack.port],
    probe: { url: `http://127.0.0.1:${stack.port}/readyz` },
  });
  return programs;
}

export function nginxSite(stack: StackConfig): NginxSite {
  return {
    stateDir: stack.stateDir,
    upstreams: Array.from({ length: stack.instances }, (_, i) => `127.0.0.1:${stack.apiBasePort + i}`),
    listen: stack.port,
    rate: stack.rate,
    burst: String(stack.burst),
    accessLog: `${join(stack.stateDir, 'logs', 'nginx-access.log')} armazem_json buffer=64k flush=1s`,
  };
}
