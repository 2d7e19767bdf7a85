import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { instanceEnv } from '../../scripts/lib/instance-env.ts';
import { stackPrograms } from '../../scripts/lib/stack-programs.ts';
import {
  type Program,
  programPid,
  programStates,
  renderSupervisorConf,
  startSupervisor,
  stopSupervisor,
} from '../../scripts/lib/supervisor.ts';
import { loadStackConfig, ROOT, StackEnv } from '../../scripts/stack-config.ts';
import { ConfigError } from '../../src/config.ts';
import { eventually } from '../helpers/env.ts';
import { alive } from '../helpers/process.ts';

const dirs: string[] = [];
const scratch = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'armazem-stack-config-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("the stack's settings", () => {
  it('come from one schema with defaults, and docs/stack.md names every variable', () => {
    const stack = loadStackConfig({}, ['node', 'scripts/stack.ts', 'up']);
    expect(stack).toMatchObject({
      profileName: 'store',
      stateDir: join(ROOT, '.stack'),
      port: 9999,
      instances: 2,
      workers: 1,
      processors: true,
      nodeFlags: ['--max-semi-space-size=32'],
    });
    const doc = readFileSync(join(ROOT, 'docs/stack.md'), 'utf8');
    for (const name of Object.keys(StackEnv.properties)) expect(doc, name).toContain(`\`${name}\``);
  });

  it('name every bad value at once, and an unknown profile', () => {
    expect(() => loadStackConfig({ STACK_PORT: 'nine', STACK_RATE_LIMIT: '10 per second' }, [])).toThrow(
      /STACK_PORT="nine"[\s\S]*STACK_RATE_LIMIT="10 per second"/,
    );
    expect(() => loadStackConfig({ STACK_INSTANCES: '0' }, [])).toThrow(ConfigError);
    expect(() => loadStackConfig({}, ['up', '--profile', 'nope'])).toThrow(/unknown profile 'nope'/);
  });

  it("take the profile's shape: the credit profile has no workers, processors or Redis, whatever the environment says", async () => {
    const stateDir = await scratch();
    const stack = loadStackConfig(
      { STACK_DIR: stateDir, REDIS_URL: 'redis://127.0.0.1:6379', STACK_PROCESSORS: '1' },
      ['up', '--profile', 'credit'],
    );
    expect(stack).toMatchObject({ workers: 0, processors: false });
    const { env, config } = instanceEnv(stack);
    expect(env.REDIS_URL).toBe('');
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.CREDIT_CONTEST_ROUTES).toBe(true);
    // The contest's shape: commits without the WAL flush, and warmed up before it listens (docs/decisions.md).
    expect(config.CREDIT_ASYNC_COMMIT).toBe(true);
    expect(config.CREDIT_WARMUP).toBe(true);
    // Production mode, with a strong secret made once and kept.
    expect(config.NODE_ENV).toBe('production');
    expect(config.JWT_SECRET?.length).toBeGreaterThanOrEqual(32);
    expect(instanceEnv(stack).config.JWT_SECRET).toBe(config.JWT_SECRET);
    expect(stackPrograms(stack, config).map((p) => p.name)).toEqual(['api-1', 'api-2', 'nginx']);
  });

  it.each([
    ['payments', 'PAYMENTS_JOURNAL_DIR', 'payments-journal'],
    ['credit', 'CREDIT_JOURNAL_DIR', 'credit-journal'],
  ] as const)(
    '%s profile: each instance writes a journal in the state directory, unless the environment turns it off',
    async (profile, variable, dir) => {
      const stateDir = await scratch();
      const journal = (env: NodeJS.ProcessEnv) =>
        instanceEnv(loadStackConfig({ STACK_DIR: stateDir, ...env }, ['up', '--profile', profile])).config[
          variable
        ];
      expect(journal({})).toBe(join(stateDir, dir));
      expect(journal({ [variable]: '' })).toBeUndefined();
      expect(instanceEnv(loadStackConfig({ STACK_DIR: stateDir }, [])).config[variable]).toBeUndefined();
    },
  );

  it('give the Node programs a stop grace that covers their drain and shutdown time', async () => {
    const stack = loadStackConfig({ STACK_DIR: await scratch(), SHUTDOWN_DRAIN_MS: '5000' }, []);
    const programs = stackPrograms(stack, instanceEnv(stack).config);
    const api = programs.find((p) => p.name === 'api-1');
    expect(api).toMatchObject({ stopWaitSecs: 16, autorestart: true, stopSignal: 'TERM' });
    expect(programs.find((p) => p.name === 'nginx')).toMatchObject({ stopSignal: 'QUIT', autorestart: true });
  });
});

describe('the generated supervisord configuration', () => {
  const text = `50% off, "quoted" $HOME`;
  const arg = `${text} and 'single'`;
  /** A program that writes its environment and argument to `out`, then stays up. */
  const echo = (stateDir: string, out: string): Program => ({
    name: 'echo',
    command: ['sh', '-c', 'printf "%s|%s" "$TEXT" "$1" > "$2"; exec sleep 60', 'sh', arg, out],
    env: { TEXT: text },
    log: join(stateDir, 'echo.log'),
    priority: 1,
    stopSignal: 'TERM',
    stopWaitSecs: 2,
    autorestart: true,
    startSecs: 1,
    startRetries: 1,
  });

  it('refuses an environment value supervisord could not pass as it is', () => {
    const program = { ...echo('/tmp', '/tmp/out'), env: { BOTH: `"a" and 'b'` } };
    expect(() => renderSupervisorConf('/tmp', '/tmp', [program])).toThrow(/BOTH: supervisord cannot pass/);
  });

  it('runs a program with the environment and arguments given, whatever characters they hold, and stops it with supervisord', async () => {
    const stateDir = await scratch();
    const out = join(stateDir, 'out');
    await startSupervisor(stateDir, stateDir, [echo(stateDir, out)], { PATH: '/usr/bin:/bin' });
    await eventually(() => expect(readFileSync(out, 'utf8')).toBe(`${text}|${arg}`), 10_000);
    // RUNNING once up for startsecs; supervisorctl shows no pid before.
    const pid = await eventually(() => {
      const running = programPid(stateDir, 'echo') as number;
      expect(programStates(stateDir)?.[0]).toMatchObject({ name: 'echo', state: 'RUNNING', pid: running });
      return running;
    }, 10_000);
    await stopSupervisor(stateDir);
    expect(alive(pid)).toBe(false);
    expect(programStates(stateDir)).toBeNull();
  });
});
