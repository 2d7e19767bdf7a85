import { ERRORS } from '../errors.ts';

/** A date range whose start is after its end is a mistake, not an empty answer: 400 naming `query.from`. */
export function assertRange(from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to))
    throw ERRORS.invalidField('query.from', 'must not be later than query.to');
}
