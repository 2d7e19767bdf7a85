import { describe, expect, it } from 'vitest';
import { retryWhileUnavailable } from '../../src/platform/database.ts';

const unreachable = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('retryWhileUnavailable', () => {
  it('runs the work again while the database cannot be reached, then returns its result', async () => {
    let calls = 0;
    const result = await retryWhileUnavailable(async () => {
      calls++;
      if (calls < 3) throw unreachable();
      return 'recorded';
    }, 5000);
    expect([result, calls]).toEqual(['recorded', 3]);
  });

  it('throws any other error at once, and the last one when the time is up', async () => {
    let calls = 0;
    const bad = Object.assign(new Error('syntax error'), { code: '42601' });
    await expect(
      retryWhileUnavailable(async () => {
        calls++;
        throw bad;
      }, 5000),
    ).rejects.toBe(bad);
    expect(calls).toBe(1);
    const started = Date.now();
    await expect(
      retryWhileUnavailable(async () => {
        throw unreachable();
      }, 200),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
