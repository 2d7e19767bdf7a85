import { describe, expect, it } from 'vitest';
import { type Action, decode, encode, fitTerm } from '../../src/modules/bot/callback-data.ts';

const MAX_ID = Number.MAX_SAFE_INTEGER;
const LONGEST_CATEGORY = `${'a'.repeat(24)}-${'b'.repeat(25)}`;

describe('callback data', () => {
  it.each<Action>([
    { kind: 'menu' },
    { kind: 'category', category: 'frutas' },
    { kind: 'category', category: LONGEST_CATEGORY, after: MAX_ID },
    { kind: 'category', category: LONGEST_CATEGORY, before: MAX_ID },
    { kind: 'search', term: fitTerm('limão '.repeat(20)), after: MAX_ID },
    { kind: 'product', id: MAX_ID },
    { kind: 'add', id: 42 },
    { kind: 'more', id: 42 },
    { kind: 'less', id: 42 },
    { kind: 'checkout', cartId: 'AbC_-12345z' },
    { kind: 'payCredit', id: 7 },
    { kind: 'cancel', id: 7 },
    { kind: 'orders' },
  ])('when %o is encoded, then it fits 64 bytes and decodes to itself', (action) => {
    const data = encode(action);
    expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
    expect(decode(data)).toEqual(action);
  });

  it('when a term is too long for a button, then it is cut at a character boundary', () => {
    const term = fitTerm('ç'.repeat(40));
    expect(Buffer.byteLength(term)).toBeLessThanOrEqual(50);
    expect(term).toBe('ç'.repeat(25));
  });

  it('when anything would exceed 64 bytes, then encoding throws instead of sending it', () => {
    expect(() => encode({ kind: 'search', term: 'x'.repeat(70) })).toThrow(/over 64 bytes/);
  });

  it.each(['', 'q', 'p0', 'p-1', 'pzzzzzzzzzzzz', 'cn:Frutas', 'cp:frutas', 'mx', 'o', 'Z1'])(
    'when the data is %j, then it is not ours: null',
    (data) => {
      expect(decode(data)).toBeNull();
    },
  );
});
