import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOGGER = fileURLToPath(new URL('../../src/platform/logger.ts', import.meta.url));

/** Runs a script using createLogger in its own process; its stdout's JSON lines. */
function linesOf(body: string, killed = false): Array<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'armazem-logger-'));
  const script = join(dir, 'script.ts');
  writeFileSync(
    script,
    `import { createLogger } from ${JSON.stringify(LOGGER)};\nconst log = createLogger({ LOG_LEVEL: 'info', INSTANCE_ID: 'log-test' });\n${body}\n`,
  );
  const run = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  expect(killed ? run.signal : run.status).toBe(killed ? 'SIGKILL' : 0);
  return run.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('the logger', () => {
  it('writes every line, in order, across event-loop turns and when the process exits in the same turn', () => {
    const lines = linesOf(`
      for (let i = 0; i < 500; i++) log.info({ n: i }, 'first turn');
      setTimeout(() => {
        for (let i = 500; i < 1000; i++) log.info({ n: i }, 'later turn');
        process.exit(0);
      }, 20);
    `);
    expect(lines.map((l) => l.n)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(lines[0]).toMatchObject({ level: 30, instance: 'log-test', msg: 'first turn' });
  });

  it('flush() has written what was held when it calls back, so a SIGKILL right after loses nothing', () => {
    const lines = linesOf(
      `
      log.info('held');
      log.flush(() => process.kill(process.pid, 'SIGKILL'));
    `,
      true,
    );
    expect(lines.map((l) => l.msg)).toEqual(['held']);
  });

  it('never writes a credential', () => {
    const [line] = linesOf(`log.info({ password: 'hunter2', token: 't0k3n' }, 'login');`);
    expect(line).toMatchObject({ password: '[redacted]', token: '[redacted]' });
    expect(JSON.stringify(line)).not.toMatch(/hunter2|t0k3n/);
  });
});
