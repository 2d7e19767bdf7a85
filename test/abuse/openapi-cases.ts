import { validatorCompiler } from '../../src/http/validation.ts';

/**
 * Bad requests generated from the OpenAPI document, so every operation —
 * including ones added later — is attacked without new test code. Each case
 * breaks exactly one thing of an otherwise valid request, so it must be
 * refused, naming what it broke when that is a field.
 */

export interface JsonSchema {
  type?: string | string[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  examples?: unknown[];
  default?: unknown;
}

interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: { schema: JsonSchema; required: boolean };
  secured: boolean;
}

export interface Case {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  /** The field an error must name, when the case breaks one. */
  field?: string;
  /** Send the caller's credentials (false: the case is about them). */
  auth: boolean;
}

export function operations(doc: {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Parameter[];
        requestBody?: { required?: boolean; content?: Record<string, { schema: JsonSchema }> };
        security?: unknown[];
      }
    >
  >;
}): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      ...(op.requestBody?.content?.['application/json']
        ? {
            body: {
              schema: op.requestBody.content['application/json'].schema,
              required: op.requestBody.required ?? false,
            },
          }
        : {}),
      secured: (op.security?.length ?? 0) > 0,
    })),
  );
}

const SAMPLE_UUID = '3f7c2a1e-9b4d-4c8e-a2f1-6d5e4b3a2c1f';

const matches = (pattern: string | undefined, value: string) =>
  pattern === undefined || new RegExp(pattern, 'u').test(value);

/** A value the schema accepts, or undefined when none of the guesses fits. */
export function validValue(s: JsonSchema): unknown {
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.anyOf) {
    for (const branch of s.anyOf) {
      if (branch.type === 'null') continue;
      const v = validValue(branch);
      if (v !== undefined) return v;
    }
    return undefined;
  }
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string': {
      if (s.format === 'date-time') return '2026-01-01T00:00:00Z';
      if (s.format === 'uuid') return SAMPLE_UUID;
      if (s.format === 'email') return 'abuse@example.com';
      const guesses = [...(s.examples ?? []), 'x'.repeat(Math.max(1, s.minLength ?? 1)), '1', 'abc', 'a-b'];
      return guesses.find(
        (g) =>
          typeof g === 'string' &&
          g.length >= (s.minLength ?? 0) &&
          g.length <= (s.maxLength ?? Number.POSITIVE_INFINITY) &&
          matches(s.pattern, g),
      );
    }
    case 'integer':
    case 'number':
      return Math.max(s.minimum ?? 1, 1, (s.exclusiveMinimum ?? 0) + 1);
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array': {
      const item = s.items ? validValue(s.items) : 'x';
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => item);
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of s.required ?? []) out[name] = validValue(s.properties?.[name] ?? {});
      return out;
    }
    default:
      return undefined;
  }
}

const typesOf = (s: JsonSchema): string[] =>
  s.anyOf
    ? s.anyOf.flatMap(typesOf)
    : s.enum
      ? [...new Set(s.enum.map((v) => (v === null ? 'null' : typeof v)))]
      : s.const !== undefined
        ? [typeof s.const]
        : [s.type].flat().filter((t): t is string => typeof t === 'string');

/** JSON values of the wrong type for `s`, and values of the right type that break its constraints. */
function badJsonValues(s: JsonSchema): Array<[string, unknown]> {
  const types = new Set(typesOf(s));
  const out: Array<[string, unknown]> = [];
  const wrong: Array<[string, string, unknown]> = [
    ['string', 'a string', 'not-valid-\u0001'],
    ['number', 'a number', 12.5],
    ['integer', 'an integer', 12],
    ['boolean', 'a boolean', true],
    ['null', 'null', null],
    ['object', 'an object', { nested: 1 }],
    ['array', 'an array', [1, 'two']],
  ];
  for (const [type, label, value] of wrong) {
    if (types.has(type)) continue;
    if (type === 'integer' && types.has('number')) continue;
    if (type === 'number' && types.has('integer')) {
      out.push(['a fraction', 1.5]);
      continue;
    }
    out.push([label, value]);
  }
  const branches = s.anyOf ?? [s];
  for (const b of branches) {
    if (b.enum)
      out.push(
        ['a value outside the enum', 'surely-not-a-member'],
        ['an enum value in capitals', `${String(b.enum[0]).toUpperCase()}!`],
      );
    if (b.type === 'string') {
      out.push(['a NUL character', `${String(validValue(b) ?? 'x')}\u0000`]);
      if (b.maxLength !== undefined) out.push([`${b.maxLength + 1} characters`, 'x'.repeat(b.maxLength + 1)]);
      // Long, yet under the body limit: the field's own bound refuses it.
      out.push(['60,000 characters', 'y'.repeat(60_000)]);
      if (b.maxLength !== undefined && b.maxLength <= 1000)
        out.push(['emoji past its length', '😀'.repeat(b.maxLength + 1)]);
      if ((b.minLength ?? 0) > 0) out.push(['an empty string', '']);
      if (b.pattern) {
        for (const bad of ['\u200b', ' ', '\u202e', '!!', '-1', '1.999', 'ÇÃO', '<script>'])
          if (!matches(b.pattern, bad)) out.push([`${JSON.stringify(bad)} against its pattern`, bad]);
      }
      if (b.format === 'date-time')
        out.push(
          ['year 0000', '0000-01-01T00:00:00Z'],
          ['an offset of +23:59', '2026-01-01T00:00:00+23:59'],
          ['February 30th', '2026-02-30T00:00:00Z'],
          ['a date without a time', '2026-01-01'],
          ['a five-digit year', '10000-01-01T00:00:00Z'],
        );
      if (b.format === 'uuid')
        out.push(['a urn:uuid: prefix', `urn:uuid:${SAMPLE_UUID}`], ['not a uuid', 'not-a-uuid']);
      if (b.format === 'email') out.push(['no @', 'no-at-sign.example.com']);
    }
    if (b.type === 'integer' || b.type === 'number') {
      out.push(['a numeric string', '5'], ['a string in exponent form', '1e3']);
      if (b.minimum !== undefined) out.push([`below ${b.minimum}`, b.minimum - 1]);
      if (b.exclusiveMinimum !== undefined) out.push([`equal to its exclusive minimum`, b.exclusiveMinimum]);
      if (b.maximum !== undefined)
        out.push([`above ${b.maximum}`, b.maximum + 1 === b.maximum ? b.maximum * 2 : b.maximum + 1]);
      out.push(['1e300', 1e300]);
    }
    if (b.type === 'array') {
      if (b.maxItems !== undefined)
        out.push([
          `${b.maxItems + 1} items`,
          Array.from({ length: b.maxItems + 1 }, () => validValue(b.items ?? {})),
        ]);
      if ((b.minItems ?? 0) > 0) out.push(['no items', []]);
    }
  }
  return out;
}

/** Texts for a query or path parameter that its schema refuses. */
function badTexts(s: JsonSchema): Array<[string, string]> {
  const types = new Set(typesOf(s));
  const out: Array<[string, string]> = [['a NUL character', 'a\u0000b']];
  if (types.has('integer') || types.has('number')) {
    out.push(
      ['hexadecimal', '0x10'],
      ['exponent form', '1e1'],
      ['a leading space', ' 5'],
      ['a plus sign', '+5'],
      ['a fraction', '1.5'],
      ['words', 'ten'],
      ['an empty value', ''],
      ['beyond 2^64', '99999999999999999999999'],
      ['binary', '0b11'],
      ['Arabic-Indic digits', '\u0663'],
      ['digit separators', '1_000'],
      ['Infinity', 'Infinity'],
      ['NaN', 'NaN'],
      ['a list', '1,2'],
      ['JSON', '{"$gt":0}'],
      ['SQL', "1' OR '1'='1"],
    );
    if (s.minimum !== undefined) out.push([`below ${s.minimum}`, String(s.minimum - 1)]);
    if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER)
      out.push([`above ${s.maximum}`, String(s.maximum + 1)]);
  }
  for (const [label, value] of badJsonValues(s)) {
    if (typeof value === 'string' && !out.some(([, v]) => v === value) && value.length <= 3000)
      out.push([label, value]);
  }
  return out;
}

interface Fixture {
  /** Whether the server's own validator accepts `value` for a field of this schema (body: JSON; else text). */
  accepts(schema: JsonSchema, value: unknown, part: 'body' | 'querystring' | 'params' | 'headers'): boolean;
  /** A value for each path parameter that passes validation. */
  pathValue(path: string, name: string): string;
  /** Authorization headers that must be refused, made with the server's own secret (expired, unknown account…). */
  badTokens: Array<[string, string]>;
}

const encode = (v: string) => encodeURIComponent(v);

function url(
  op: Operation,
  fixture: Fixture,
  path: Record<string, string> = {},
  query: Record<string, string> = {},
) {
  const p = op.path.replace(
    /\{(\w+)\}/g,
    (_, name: string) => path[name] ?? encode(fixture.pathValue(op.path, name)),
  );
  const q = Object.entries(query)
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .join('&');
  return q ? `${p}?${q}` : p;
}

/** Every case for every operation. */
export function generateCases(ops: Operation[], fixture: Fixture): Case[] {
  const cases: Case[] = [];
  for (const op of ops) {
    const label = `${op.method} ${op.path}`;
    const requiredQuery = Object.fromEntries(
      op.parameters
        .filter((p) => p.in === 'query' && p.required && p.schema.default === undefined)
        .map((p) => [p.name, String(validValue(p.schema))]),
    );
    const baseBody = op.body ? validValue(op.body.schema) : undefined;
    const json = { 'content-type': 'application/json' };
    const send = (over: Partial<Case> & { name: string }): void => {
      cases.push({
        method: op.method,
        url: url(op, fixture, {}, requiredQuery),
        headers: baseBody === undefined ? {} : json,
        ...(baseBody === undefined ? {} : { payload: JSON.stringify(baseBody) }),
        auth: true,
        ...over,
        name: `${label}: ${over.name}`,
      });
    };

    for (const p of op.parameters.filter((x) => x.in === 'path')) {
      // An empty segment is another route (404), not a bad parameter.
      for (const [what, value] of badTexts(p.schema).filter(
        ([, v]) => v !== '' && !fixture.accepts(p.schema, v, 'params'),
      ))
        send({
          name: `path ${p.name} as ${what}`,
          url: url(op, fixture, { [p.name]: encode(value) }, requiredQuery),
          field: `params.${p.name}`,
        });
      send({
        name: `path ${p.name} of 500 characters`,
        url: url(op, fixture, { [p.name]: '9'.repeat(500) }, requiredQuery),
        field: 'path',
      });
      send({
        name: `path ${p.name} badly percent-encoded`,
        url: url(op, fixture, { [p.name]: '%E0%A4%A' }, requiredQuery),
        field: 'path',
      });
    }
    for (const p of op.parameters.filter((x) => x.in === 'query')) {
      for (const [what, value] of badTexts(p.schema).filter(
        ([, v]) => !fixture.accepts(p.schema, v, 'querystring'),
      ))
        send({
          name: `query ${p.name} as ${what}`,
          url: url(op, fixture, {}, { ...requiredQuery, [p.name]: value }),
          field: `query.${p.name}`,
        });
      const v = validValue(p.schema);
      if (v !== undefined)
        send({
          name: `query ${p.name} twice`,
          url: `${url(op, fixture, {}, { ...requiredQuery, [p.name]: String(v) })}&${encode(p.name)}=${encode(String(v))}`,
          field: `query.${p.name}`,
        });
    }
    if (op.parameters.some((x) => x.in === 'query'))
      send({
        name: 'an unknown query parameter',
        url: url(op, fixture, {}, { ...requiredQuery, sneaky: '1' }),
        field: 'query.sneaky',
      });
    for (const p of op.parameters.filter((x) => x.in === 'header')) {
      for (const [what, value] of [
        ['a space', 'a b'],
        ['201 characters', 'k'.repeat(201)],
        ['an empty value', ''],
      ] as const)
        send({
          name: `header ${p.name} with ${what}`,
          headers: { ...(baseBody === undefined ? {} : json), [p.name]: value },
          field: `header.${p.name}`,
        });
    }

    if (
      op.body &&
      baseBody !== undefined &&
      baseBody !== null &&
      typeof baseBody === 'object' &&
      !Array.isArray(baseBody)
    ) {
      const schema = (op.body.schema.anyOf?.find((b) => b.type === 'object') ?? op.body.schema) as JsonSchema;
      for (const [name, prop] of Object.entries(schema.properties ?? {})) {
        for (const [what, value] of badJsonValues(prop).filter(([, v]) => !fixture.accepts(prop, v, 'body')))
          send({
            name: `body.${name} as ${what}`,
            payload: JSON.stringify({ ...baseBody, [name]: value }),
            field: `body.${name}`,
          });
        // One level down: the fields of the objects an array holds (an order's items).
        const item = prop.items;
        if (prop.type === 'array' && item?.type === 'object') {
          const good = validValue(item) as Record<string, unknown>;
          const withItem = (i: Record<string, unknown>) => JSON.stringify({ ...baseBody, [name]: [i] });
          for (const [inner, innerProp] of Object.entries(item.properties ?? {})) {
            const field = `body.${name}[0].${inner}`;
            for (const [what, value] of badJsonValues(innerProp).filter(
              ([, v]) => !fixture.accepts(innerProp, v, 'body'),
            ))
              send({ name: `${field} as ${what}`, payload: withItem({ ...good, [inner]: value }), field });
            if (item.required?.includes(inner)) {
              const { [inner]: _, ...rest } = good;
              send({ name: `${field} missing`, payload: withItem(rest), field });
            }
          }
          if (item.additionalProperties === false)
            send({
              name: `body.${name}[0] with an unknown field`,
              payload: withItem({ ...good, sneaky: 1 }),
              field: `body.${name}[0].sneaky`,
            });
        }
        if (schema.required?.includes(name)) {
          const { [name]: _, ...rest } = baseBody as Record<string, unknown>;
          send({ name: `body.${name} missing`, payload: JSON.stringify(rest), field: `body.${name}` });
        }
      }
      if (schema.additionalProperties === false)
        send({
          name: 'an unknown body field',
          payload: JSON.stringify({ ...baseBody, sneaky: 1 }),
          field: 'body.sneaky',
        });
    }
    if (op.body) {
      const nullable = op.body.schema.anyOf?.some((b) => b.type === 'null') ?? false;
      send({ name: 'malformed JSON', payload: '{"a": ', field: 'body' });
      send({ name: 'a JSON array body', payload: '[1, 2]', field: 'body' });
      send({ name: 'a JSON string body', payload: '"text"', field: 'body' });
      send({ name: 'prototype poisoning', payload: '{"__proto__": {"admin": true}}', field: 'body' });
      send({
        name: 'constructor poisoning',
        payload: '{"constructor": {"prototype": {"admin": true}}}',
        field: 'body',
      });
      send({
        name: 'a text/plain body',
        headers: { 'content-type': 'text/plain' },
        payload: 'hello',
        field: 'header.content-type',
      });
      for (const [what, contentType, payload] of [
        ['a form body', 'application/x-www-form-urlencoded', 'a=1'],
        ['a multipart body', 'multipart/form-data; boundary=x', '--x--'],
        ['an XML body', 'application/xml', '<a/>'],
        ['a content type that only starts like JSON', 'application/jsonx', '{}'],
      ])
        send({
          name: what as string,
          headers: { 'content-type': contentType as string },
          payload,
          field: 'header.content-type',
        });
      send({
        name: 'a body with no content type',
        headers: {},
        payload: JSON.stringify(baseBody ?? {}),
        field: 'header.content-type',
      });
      send({
        name: 'a body over the limit',
        payload: JSON.stringify({ pad: 'z'.repeat(70_000) }),
        field: 'body',
      });
      send({
        name: 'JSON nested 10,000 deep',
        payload: `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
        field: 'body',
      });
      if (!nullable) {
        send({ name: 'an empty JSON body', payload: '', field: 'body' });
        send({ name: 'a null body', payload: 'null', field: 'body' });
      }
    }

    if (op.secured) {
      const tokens: Array<[string, string]> = [
        ['no credentials', ''],
        ['a garbage bearer token', 'Bearer garbage'],
        ['a Basic authorization', 'Basic YWRtaW46YWRtaW4='],
        [
          'an unsigned (alg none) token',
          `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: '1', role: 'admin' })}.`,
        ],
        [
          'a token with a forged signature',
          `Bearer ${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: '1', role: 'admin', exp: 4_102_444_800 })}.c2lnbmF0dXJl`,
        ],
        ['an empty bearer token', 'Bearer '],
        ['two bearer tokens', 'Bearer a.b.c, Bearer d.e.f'],
        ...fixture.badTokens,
      ];
      for (const [what, authorization] of tokens)
        send({
          name: `${what}`,
          auth: false,
          headers: { ...(baseBody === undefined ? {} : json), ...(authorization ? { authorization } : {}) },
        });
    }
  }
  // Methods a path does not serve, and paths next to the real ones: a JSON 404, never a 5xx.
  const byPath = new Map<string, string[]>();
  for (const op of ops) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op.method]);
  for (const [path, methods] of byPath) {
    const real = url({ method: 'GET', path, parameters: [], secured: false }, fixture);
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !methods.includes(m)))
      cases.push({
        name: `${method} ${path}: a method it does not serve`,
        method,
        url: real,
        headers: {},
        auth: true,
      });
    for (const [what, suffix] of [
      ['a traversal', '/../../etc/passwd'],
      ['an encoded traversal', '/%2e%2e/%2e%2e/etc/passwd'],
      ['a matrix parameter', ';jsessionid=1'],
      ['a doubled slash', '//'],
    ])
      cases.push({
        name: `GET ${path}: ${what}`,
        method: 'GET',
        url: `${real}${suffix}`,
        headers: {},
        auth: true,
      });
  }
  return cases;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** The server's own validator, on one field: a case it would accept is not a bad-input case. */
export const serverAccepts: Fixture['accepts'] = (schema, value, part) => {
  const validate = validatorCompiler({
    schema: { type: 'object', properties: { f: schema } },
    httpPart: part,
    method: 'POST',
    url: '/',
  }) as (data: unknown) => boolean;
  return validate({ f: value });
};
