import type pg from 'pg';

/** `$name` in SQL; `$1` (digits) and `::casts` are left alone. */
const PLACEHOLDER = /\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * A prepared statement written with named placeholders (`$limit`, `$ids`):
 * compiled once into PostgreSQL's `$1 … $n`, then each call takes its values
 * from an object by name, so no value can land in the wrong position. A name
 * used twice is one parameter. Every name in the text must be a key of
 * `Params` (a missing one throws before anything is sent).
 *
 * `planEachCall` sends it unprepared, planned at every call. For a join of
 * parameter arrays (`unnest($ids)`) to a table that grows: a prepared
 * statement's generic plan, made while the table was small, keeps scanning
 * the whole table as it grows (a hash join on a sequential scan), where a
 * plan for the actual arrays probes the index once per element.
 */
export function namedStatement<Params extends object>(
  name: string,
  text: string,
  opts: { planEachCall?: boolean } = {},
): (params: Params) => pg.QueryConfig {
  const names: string[] = [];
  const compiled = text.replace(PLACEHOLDER, (_, param: string) => {
    const at = names.indexOf(param);
    return `$${(at === -1 ? names.push(param) : at + 1).toString()}`;
  });
  return (params) => ({
    // Unnamed: PostgreSQL plans it at each call, with its values and the table's size then.
    ...(opts.planEachCall ? {} : { name }),
    text: compiled,
    values: names.map((param) => {
      if (!(param in params)) throw new Error(`statement ${name}: no value for $${param}`);
      return (params as Record<string, unknown>)[param];
    }),
  });
}
