import { parseMoney } from '../catalog/price.ts';

/**
 * Store credit counts integer cents (exact, and the contest's unit); the
 * native API shows decimal strings like every other amount ("19.90").
 */
export function decimalFromCents(cents: number): string {
  const abs = Math.abs(cents);
  const text = `${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
  return cents < 0 ? `-${text}` : text;
}

/** A validated decimal amount (string or exact JSON number) in cents; throws a 400 naming `field`. */
export function centsFromInput(input: string | number, field: string, integerDigits: number): number {
  const [int = '0', frac = '00'] = parseMoney(input, field, integerDigits).split('.');
  return Number(int) * 100 + Number(frac);
}
