import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigReference } from '../../scripts/lib/docs/config-reference.ts';
import { renderErrorReference } from '../../scripts/lib/docs/error-reference.ts';
import { DOCUMENTED_ENV, formatOpenApi } from '../../scripts/lib/docs/openapi-document.ts';
import { CONFIG_SECTIONS, CONFIG_VARIABLES } from '../../src/config.ts';
import { ERROR_CODES } from '../../src/error-codes.ts';
import { useTestApp } from '../helpers/app.ts';

const committed = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const STALE = 'out of date: run `npm run docs:generate` and commit the result';

describe('the generated references', () => {
  it('when config.ts changes, then docs/configuration.md says the same', () => {
    expect(committed('docs/configuration.md'), STALE).toBe(renderConfigReference());
  });

  it('when a variable is declared, then it is described, in exactly one section', () => {
    const listed = CONFIG_SECTIONS.flatMap((s) => Object.entries(s.variables));
    expect(listed.map(([name]) => name).sort()).toEqual([...CONFIG_VARIABLES].sort());
    for (const [name, schema] of listed)
      expect((schema as { description?: string }).description ?? '', name).toMatch(/\w{3}/);
  });

  it('when the error catalogue changes, then docs/errors.md says the same', () => {
    expect(committed('docs/errors.md'), STALE).toBe(renderErrorReference());
  });

  it('when nginx answers a problem itself, then its code is in the catalogue', () => {
    const template = committed('nginx/templates/armazem.conf.template');
    const codes = [...template.matchAll(/"code":"([a-z_]+)"/g)].map((m) => m[1] as string);
    expect(codes.length).toBeGreaterThan(0);
    for (const code of codes) expect(Object.keys(ERROR_CODES), code).toContain(code);
  });
});

describe('the committed OpenAPI document', () => {
  const ctx = useTestApp(DOCUMENTED_ENV);

  it('when a route or schema changes, then docs/openapi.json is the running app’s document', async () => {
    const res = await ctx.t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(committed('docs/openapi.json'), STALE).toBe(formatOpenApi(res.json()));
  });

  it('when a problem is documented, then its code is one of the catalogue', async () => {
    const doc = (await ctx.t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const problem = doc.components.schemas.Problem;
    expect(problem.properties.code.enum).toEqual(Object.keys(ERROR_CODES));
    expect(problem['x-error-codes']).toEqual(ERROR_CODES);
  });
});
