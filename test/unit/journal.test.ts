import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Journal } from '../../src/platform/journal.ts';
import { createLogger } from '../../src/platform/logger.ts';

/** platform/journal.ts on its own: the file, the takeover, and what a stalled instance must not do. */
const log = createLogger({ LOG_LEVEL: 'silent', INSTANCE_ID: 'journal-unit' });
const codec = {
  encode: (e: { id: string }) => e.id,
  decode: (line: string) => (/^[a-z0-9]+$/.test(line) ? { id: line } : null),
  key: (e: { id: string }) => e.id,
};
const roots: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function journal(root: string, instance: string, drained: string[][] = []) {
  const sent: string[] = [];
  const j = new Journal(
    { name: 'test journal', root, instance, flushMs: 10_000, maxPending: 100, orphanMs: 1_000 },
    codec,
    {
      send: async (entries) => {
        sent.push(...entries.map((e) => e.id));
      },
      orphanDrained: async (tags) => {
        drained.push(tags);
      },
    },
    log,
  );
  return { j, sent };
}

describe('the journal', () => {
  it('a gone instance is taken over whole: its entries sent once, its life told as drained, its directory removed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'armazem-journal-unit-'));
    roots.push(root);
    const a = journal(root, 'a');
    a.j.open();
    for (const id of ['x1', 'x2', 'x3']) expect(a.j.append({ id })).toBe('written');
    // A's heartbeat stops (a SIGKILL): B, a second later, takes its directory.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 5_000);
    const drained: string[][] = [];
    const b = journal(root, 'b', drained);
    b.j.open();
    expect(b.j.isAlive(a.j.tag)).toBe(false);
    expect(b.j.adoptOrphans()).toBe(3);
    await b.j.flushNow();
    expect(b.sent).toEqual(['x1', 'x2', 'x3']);
    expect(drained).toEqual([[a.j.tag]]);
    expect(existsSync(join(root, 'a'))).toBe(false);
    // And A, running again after its stall, writes nothing where no one would read it: it goes on
    // as a new life in a new directory, where what it had not sent is written again (B's copy and
    // A's share their keys, so the sink applies each once).
    const first = a.j.tag;
    expect(a.j.append({ id: 'x4' })).toBe('written');
    expect(a.j.tag).not.toBe(first);
    expect(a.j.pendingCount).toBe(4);
    expect(readdirSync(join(root, 'a')).filter((f) => f.endsWith('.jnl'))).toHaveLength(1);
    await a.j.flushNow();
    expect(a.sent).toEqual(['x1', 'x2', 'x3', 'x4']);
    await Promise.all([a.j.close(), b.j.close()]);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a live instance is left alone, and its next start takes up what its previous life left', async () => {
    const root = mkdtempSync(join(tmpdir(), 'armazem-journal-unit-'));
    roots.push(root);
    const a = journal(root, 'a');
    a.j.open();
    expect(a.j.append({ id: 'y1' })).toBe('written');
    const b = journal(root, 'b');
    b.j.open();
    expect(b.j.isAlive(a.j.tag)).toBe(true);
    expect(b.j.adoptOrphans()).toBe(0);
    // A second life of A (the first killed): it finds y1 and sends it.
    const drained: string[][] = [];
    const again = journal(root, 'a', drained);
    expect(again.j.open()).toBe(1);
    await again.j.flushNow();
    expect(again.sent).toEqual(['y1']);
    expect(drained).toEqual([[a.j.tag]]);
    await Promise.all([again.j.close(), b.j.close()]);
  });
});
