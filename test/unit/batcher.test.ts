import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/platform/batcher.ts';

/** A batch runner whose batches finish only when the test says so. */
function gated() {
  const batches: number[][] = [];
  const gates: Array<() => void> = [];
  const run = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((r) => gates.push(r));
    return items.map((i) => i * 10);
  };
  const open = async () => {
    await new Promise((r) => setImmediate(r));
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { batches, run, open };
}

describe('Batcher (group commit)', () => {
  it('sends a lone item at once, and what arrives meanwhile together in the next batch, in order', async () => {
    const g = gated();
    const b = new Batcher(g.run, { maxBatch: 100 });
    const first = b.submit(1);
    const rest = [2, 3, 4].map((i) => b.submit(i));
    expect(g.batches).toEqual([[1]]);
    expect(b.waiting).toBe(3);
    await g.open();
    expect(await first).toBe(10);
    expect(g.batches).toEqual([[1], [2, 3, 4]]);
    await g.open();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
  });

  it('never puts more than maxBatch items in one batch', async () => {
    const g = gated();
    const sizes: number[] = [];
    const b = new Batcher(g.run, { maxBatch: 2, onBatch: (n) => sizes.push(n) });
    const all = [1, 2, 3, 4, 5].map((i) => b.submit(i));
    for (let i = 0; i < 4; i++) await g.open();
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50]);
    expect(g.batches).toEqual([[1], [2, 3], [4, 5]]);
    expect(sizes).toEqual([1, 2, 2]);
  });

  it('fails every item of a batch that fails, and goes on with the next', async () => {
    let calls = 0;
    const b = new Batcher(
      async (items: number[]) => {
        calls++;
        if (calls === 2) throw new Error('database unavailable');
        await new Promise((r) => setTimeout(r, 5));
        return items;
      },
      { maxBatch: 10 },
    );
    const first = b.submit(1);
    const failing = [b.submit(2), b.submit(3)];
    await first;
    await expect(failing[0]).rejects.toThrow('database unavailable');
    await expect(failing[1]).rejects.toThrow('database unavailable');
    expect(await b.submit(4)).toBe(4);
  });

  it('refuses a runner that answers a different number of results', async () => {
    const b = new Batcher(async (items: number[]) => items.slice(1), { maxBatch: 10 });
    await expect(b.submit(1)).rejects.toThrow('batch returned 0 results for 1 items');
  });
});

describe('Batcher with concurrency', () => {
  it('keeps up to `concurrency` batches in flight, and groups what arrives while all lanes are busy', async () => {
    const g = gated();
    const b = new Batcher(g.run, { maxBatch: 100, concurrency: 2 });
    const all = [1, 2, 3, 4].map((i) => b.submit(i));
    expect(g.batches).toEqual([[1], [2]]);
    await g.open();
    await g.open();
    await g.open();
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40]);
    expect(g.batches).toEqual([[1], [2], [3, 4]]);
  });
});
