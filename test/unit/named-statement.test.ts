import { describe, expect, it } from 'vitest';
import { namedStatement } from '../../src/platform/named-statement.ts';

describe('namedStatement', () => {
  const statement = namedStatement<{ ids: string[]; limit: number; at: Date }>(
    'example',
    "SELECT $ids::uuid[], $limit, $ids, now() - '1 day'::interval, $at::timestamptz WHERE x = $1",
  );

  it('numbers each name once, in order of first use, and leaves casts and $1 alone', () => {
    const at = new Date(0);
    expect(statement({ at, limit: 5, ids: ['a'] })).toEqual({
      name: 'example',
      text: "SELECT $1::uuid[], $2, $1, now() - '1 day'::interval, $3::timestamptz WHERE x = $1",
      values: [['a'], 5, at],
    });
  });

  it('with planEachCall, sends the same text and values unnamed, so PostgreSQL plans each call', () => {
    const each = namedStatement<{ ids: string[] }>('example_each', 'SELECT $ids::uuid[]', {
      planEachCall: true,
    });
    const config = each({ ids: ['a'] });
    expect(config).toEqual({ text: 'SELECT $1::uuid[]', values: [['a']] });
    expect('name' in config).toBe(false);
  });

  it('refuses a call that leaves a name without a value', () => {
    expect(() => statement({ ids: [], limit: 1 } as never)).toThrow(/no value for \$at/);
  });
});
