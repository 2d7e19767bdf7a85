import { ERRORS } from '../../errors.ts';

/** Up to 10 integer digits and 2 decimals: what numeric(12,2) holds exactly. */
export const DECIMAL_PATTERN = '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,2})?$';
const DECIMAL_RES = new Map<number, RegExp>([[10, new RegExp(DECIMAL_PATTERN)]]);

/** Compiled once per width: payments parse every amount with 12 integer digits. */
function decimalRe(integerDigits: number): RegExp {
  let re = DECIMAL_RES.get(integerDigits);
  if (!re) {
    re = new RegExp(`^(0|[1-9][0-9]{0,${integerDigits - 1}})(\\.[0-9]{1,2})?$`);
    DECIMAL_RES.set(integerDigits, re);
  }
  return re;
}

/**
 * Money travels as a decimal string ("19.90") so no binary float ever rounds
 * it. A JSON number is accepted on input when its shortest text form is an
 * exact decimal with at most 2 places (19.9 → "19.90"); 19.999 is refused.
 */
export function parseMoney(input: string | number, field: string, integerDigits = 10): string {
  const text = typeof input === 'number' ? numberText(input) : input;
  const re = decimalRe(integerDigits);
  if (text === null || !re.test(text)) {
    throw ERRORS.invalidField(
      field,
      `must be a decimal ≥ 0 with at most 2 decimal places and ${integerDigits} integer digits, e.g. "19.90"`,
    );
  }
  const [int = '0', frac = ''] = text.split('.');
  return `${int}.${frac.padEnd(2, '0')}`;
}

function numberText(n: number): string | null {
  if (!Number.isFinite(n) || n < 0) return null;
  const text = String(n);
  return /e/i.test(text) ? null : text;
}
