import { describe, expect, it } from 'vitest';
import { NearCache } from '../../src/modules/catalog/near-cache.ts';

const FAR = Number.MAX_SAFE_INTEGER;

describe('NearCache', () => {
  it('serves a body until its version key changes, then drops every body that version guards', () => {
    const near = new NearCache(1 << 20);
    near.set(near.token(), 'lists:ver', 'q:a', '[1]', FAR);
    near.set(near.token(), 'lists:ver', 'q:b', '[2]', FAR);
    near.set(near.token(), 'p1:ver', 'p1:body', '{"id":1}', FAR);
    expect(near.get('q:a', 0)).toBe('[1]');
    near.invalidate(['lists:ver']);
    expect(near.get('q:a', 0)).toBeUndefined();
    expect(near.get('q:b', 0)).toBeUndefined();
    expect(near.get('p1:body', 0)).toBe('{"id":1}');
    expect(near.stats().entries).toBe(1);
  });

  it('ignores a change to a body key alone: stores and expiries in Redis change no version', () => {
    const near = new NearCache(1 << 20);
    near.set(near.token(), 'p1:ver', 'p1:body', 'x', FAR);
    near.invalidate(['p1:body']);
    expect(near.get('p1:body', 0)).toBe('x');
  });

  it('refuses a fill that began before an invalidation: its read may predate the write', () => {
    const near = new NearCache(1 << 20);
    const token = near.token();
    near.invalidate(['p9:ver']);
    near.set(token, 'p1:ver', 'p1:body', 'old', FAR);
    expect(near.get('p1:body', 0)).toBeUndefined();
    near.set(near.token(), 'p1:ver', 'p1:body', 'new', FAR);
    expect(near.get('p1:body', 0)).toBe('new');
  });

  it('expires a copy when its Redis entry does', () => {
    const near = new NearCache(1 << 20);
    near.set(near.token(), 'p1:ver', 'p1:body', 'x', 1000);
    expect(near.get('p1:body', 999)).toBe('x');
    expect(near.get('p1:body', 1000)).toBeUndefined();
    expect(near.stats()).toEqual({ entries: 0, bytes: 0 });
  });

  it('stays within its byte budget, dropping the oldest copies first', () => {
    const body = 'x'.repeat(1000);
    const near = new NearCache(5 * 2500);
    for (let i = 1; i <= 10; i++) near.set(near.token(), `p${i}:ver`, `p${i}:body`, body, FAR);
    expect(near.stats().bytes).toBeLessThanOrEqual(5 * 2500);
    expect(near.get('p1:body', 0)).toBeUndefined();
    expect(near.get('p10:body', 0)).toBe(body);
    // A body larger than the whole budget is not kept at all.
    near.set(near.token(), 'big:ver', 'big:body', 'y'.repeat(10_000), FAR);
    expect(near.get('big:body', 0)).toBeUndefined();
    expect(near.get('p10:body', 0)).toBe(body);
  });

  it('replacing a body keeps the byte count exact, and clear() empties it', () => {
    const near = new NearCache(1 << 20);
    near.set(near.token(), 'p1:ver', 'p1:body', 'aaaa', FAR);
    const one = near.stats().bytes;
    near.set(near.token(), 'p1:ver', 'p1:body', 'bbbb', FAR);
    expect(near.stats()).toEqual({ entries: 1, bytes: one });
    const token = near.token();
    near.clear();
    expect(near.stats()).toEqual({ entries: 0, bytes: 0 });
    near.set(token, 'p1:ver', 'p1:body', 'stale', FAR);
    expect(near.get('p1:body', 0)).toBeUndefined();
  });
});
