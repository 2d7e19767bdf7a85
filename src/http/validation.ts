import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS; its default export is the function.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const common: Options = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false };

/**
 * A date-time PostgreSQL can hold and JavaScript can read back: RFC 3339
 * with a four-digit year from 0001, seconds 00–59, and a UTC offset within
 * ±15:59 (PostgreSQL refuses larger ones).
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;
export function isStorableDateTime(text: string): boolean {
  const m = DATE_TIME.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offH = 0, offM = 0] = m.slice(1).map((x) => Number(x ?? 0));
  if (year === undefined || month === undefined || day === undefined) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return (
    year >= 1 &&
    day >= 1 &&
    day <= days &&
    (hour ?? 99) <= 23 &&
    (minute ?? 99) <= 59 &&
    (second ?? 99) <= 59 &&
    offH <= 15 &&
    offM <= 59
  );
}

/** Plain UUIDs only: ajv-formats also takes `urn:uuid:…`, which PostgreSQL's uuid type does not. */
const UUID = /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;

function strictAjv(opts: Options): Ajv {
  const ajv = addFormats(new Ajv({ ...common, ...opts }));
  ajv.addFormat('date-time', { type: 'string', validate: isStorableDateTime });
  ajv.addFormat('uuid', UUID);
  return ajv;
}

/**
 * Bodies are JSON and must carry the right types ("5" is not a stock);
 * query strings and path params are text and are coerced to the schema.
 * Unknown fields are rejected, never silently dropped.
 */
const bodyAjv = strictAjv({ coerceTypes: false });
const textAjv = strictAjv({ coerceTypes: 'array' });

/** Where in `data` a string holds a NUL (PostgreSQL's text cannot store one), as a JSON pointer. */
function nulAt(data: unknown, path = ''): string | null {
  if (typeof data === 'string') return data.includes('\u0000') ? path : null;
  if (data === null || typeof data !== 'object') return null;
  for (const [key, value] of Object.entries(data)) {
    const found = nulAt(value, `${path}/${key}`);
    if (found !== null) return found;
  }
  return null;
}

/** Top-level properties that a schema types as integers (ids, limits). */
function integerProperties(schema: unknown): string[] {
  const props = (
    schema as { properties?: Record<string, { type?: unknown; anyOf?: Array<{ type?: unknown }> }> }
  )?.properties;
  if (!props) return [];
  return Object.entries(props)
    .filter(([, s]) => s.type === 'integer' || s.anyOf?.some((x) => x.type === 'integer'))
    .map(([name]) => name);
}

/** Ids and limits in query strings and paths are plain decimal digits: not `0x10`, `1e0` or ` 7`. */
const PLAIN_INTEGER = /^-?[0-9]{1,20}$/;

type Validator = ((data: unknown) => boolean) & {
  errors?: Array<Pick<ErrorObject, 'instancePath' | 'keyword' | 'params' | 'message' | 'schemaPath'>> | null;
};

/**
 * Fastify's schema compiler: ajv, plus what every route gets without
 * saying so — integers in text written as plain digits, and no NUL in any
 * string (refused here, once, instead of as a database error).
 */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const text = httpPart !== 'body';
  const validate = (text ? textAjv : bodyAjv).compile(schema as object);
  const integers = text ? integerProperties(schema) : [];
  const checkNul = httpPart !== 'headers';
  const validator: Validator = (data: unknown) => {
    if (integers.length > 0 && data !== null && typeof data === 'object') {
      const bad = integers.filter((k) => {
        const v = (data as Record<string, unknown>)[k];
        return typeof v === 'string' && !PLAIN_INTEGER.test(v);
      });
      if (bad.length > 0) {
        validator.errors = bad.map((k) => ({
          instancePath: `/${k}`,
          schemaPath: `#/properties/${k}/type`,
          keyword: 'type',
          params: { type: 'integer' },
          message: 'must be an integer written in plain decimal digits',
        }));
        return false;
      }
    }
    if (!validate(data)) {
      validator.errors = validate.errors ?? null;
      return false;
    }
    const nul = checkNul ? nulAt(data) : null;
    if (nul !== null) {
      validator.errors = [
        {
          instancePath: nul,
          schemaPath: '#',
          keyword: 'nul',
          params: {},
          message: 'must not contain the NUL character (\\u0000)',
        },
      ];
      return false;
    }
    validator.errors = null;
    return true;
  };
  return validator;
};
