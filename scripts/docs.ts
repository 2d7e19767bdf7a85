/**
 * Writes the generated references — docs/configuration.md (src/config.ts),
 * docs/errors.md (src/error-codes.ts) and docs/openapi.json (the app's
 * OpenAPI document) — or, with --check, only says which are out of date.
 * test/docs/ fails on the same comparison.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { renderConfigReference } from './lib/docs/config-reference.ts';
import { renderErrorReference } from './lib/docs/error-reference.ts';
import { generateOpenApi } from './lib/docs/openapi-document.ts';

const root = new URL('../', import.meta.url);
const check = process.argv.includes('--check');

const generated: Array<[string, string]> = [
  ['docs/configuration.md', renderConfigReference()],
  ['docs/errors.md', renderErrorReference()],
  ['docs/openapi.json', await generateOpenApi()],
];

let stale = 0;
for (const [path, text] of generated) {
  const committed = await readFile(new URL(path, root), 'utf8').catch(() => '');
  if (committed === text) continue;
  if (check) {
    stale++;
    console.error(`${path} is out of date: run npm run docs:generate`);
  } else {
    await writeFile(new URL(path, root), text);
    console.log(`wrote ${path}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
