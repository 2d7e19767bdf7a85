import { ERRORS } from '../errors.ts';

/** Keyset cursors are opaque to clients: base64url of "p:<last id>". */
export function encodeCursor(lastId: number): string {
  return Buffer.from(`p:${lastId}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^p:([1-9][0-9]{0,15})$/.exec(text);
  const id = match?.[1] ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(id) || Buffer.from(text).toString('base64url') !== cursor) {
    throw ERRORS.invalidField('query.cursor', 'is not a cursor returned by this API');
  }
  return id;
}

/**
 * A page from rows fetched with `limit + 1`: the extra row, when there is
 * one, says a next page exists; the cursor is the last returned id.
 */
export function toPage<T extends { id: number }>(
  rows: T[],
  limit: number,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}
