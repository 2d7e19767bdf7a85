import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemBinary } from './system-packages.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface NginxSite {
  /** Directory for the rendered configuration, pid file, logs and temp files. */
  stateDir: string;
  /** host:port of each instance. */
  upstreams: string[];
  listen: number;
  rate: string;
  burst: string;
  /** access_log's arguments. */
  accessLog: string;
}

/** Replaces ${ARMAZEM_*} the way the nginx image's envsubst does; nginx's own $variables stay. */
export function renderTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(ARMAZEM_[A-Z_]+)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`template variable ${name} has no value`);
    return value;
  });
}

/** Renders the repository's templates for a local nginx; returns the main configuration file. */
export function renderSite(site: NginxSite): string {
  for (const d of ['conf.d', 'nginx-temp', 'logs']) mkdirSync(join(site.stateDir, d), { recursive: true });
  const vars = {
    ARMAZEM_STATE_DIR: site.stateDir,
    ARMAZEM_UPSTREAMS: site.upstreams.map((u) => `server ${u} max_fails=1 fail_timeout=5s;`).join('\n    '),
    ARMAZEM_LISTEN: String(site.listen),
    ARMAZEM_RATE: site.rate,
    ARMAZEM_BURST: site.burst,
    ARMAZEM_ACCESS_LOG: site.accessLog,
  };
  const read = (f: string) => readFileSync(join(ROOT, 'nginx', f), 'utf8');
  writeFileSync(
    join(site.stateDir, 'conf.d', 'armazem.conf'),
    renderTemplate(read('templates/armazem.conf.template'), vars),
  );
  const main = join(site.stateDir, 'nginx.conf');
  writeFileSync(main, renderTemplate(read('nginx.local.conf.template'), vars));
  return main;
}

/** Renders and checks a site; returns the command line that runs nginx on it (daemonised). */
export function nginxCommand(site: NginxSite): string[] {
  const nginx = systemBinary('nginx', 'nginx-light');
  const conf = renderSite(site);
  execFileSync(nginx, ['-t', '-q', '-p', site.stateDir, '-c', conf], { stdio: 'inherit' });
  return [nginx, '-p', site.stateDir, '-c', conf];
}

/** Starts nginx on a site outside any supervisor (its pid in stateDir/nginx.pid): the benches' bare references. */
export function startNginx(site: NginxSite): void {
  const [nginx, ...args] = nginxCommand(site);
  execFileSync(nginx as string, args, { stdio: 'inherit' });
}
