import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { decodeCursor, encodeCursor } from '../../src/http/cursor.ts';
import { parseMoney } from '../../src/modules/catalog/price.ts';

describe('parseMoney', () => {
  it.each([
    ['19.90', '19.90'],
    ['19.9', '19.90'],
    ['0', '0.00'],
    [19.9, '19.90'],
    [0.07, '0.07'],
    [1234567.89, '1234567.89'],
    [9999999999.99, '9999999999.99'],
  ])('%j → %s', (input, expected) => {
    expect(parseMoney(input, 'body.price')).toBe(expected);
  });

  it.each([['1.999'], ['-1'], ['01.00'], ['1e3'], [1.005], [-0.5], [Number.NaN], [1e21], ['12345678901']])(
    '%j is refused naming the field',
    (input) => {
      try {
        parseMoney(input, 'body.price');
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).errors?.[0]?.field).toBe('body.price');
      }
    },
  );
});

describe('cursors', () => {
  it('round-trip an id and refuse anything else', () => {
    expect(decodeCursor(encodeCursor(42))).toBe(42);
    for (const bad of [
      '',
      'cDo=',
      'cDow',
      Buffer.from('p:-1').toString('base64url'),
      Buffer.from('p:9999999999999999999').toString('base64url'),
    ]) {
      expect(() => decodeCursor(bad), bad).toThrow(AppError);
    }
  });
});
