import { ERROR_CODES } from '../../../src/error-codes.ts';

/** docs/errors.md: the catalogue of src/error-codes.ts, by status. */
export function renderErrorReference(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from src/error-codes.ts by `npm run docs:generate`; edit the catalogue there. -->',
    '',
    'Every error is RFC 9457 `application/problem+json` with a stable `code` from this closed',
    'list, the `requestId` (also in the `x-request-id` header and in the log line), and for bad',
    'input an `errors` list naming each field (`body.price`, `query.cursor`, …). Clients should',
    'branch on `code`, never on `title` or `detail`. The OpenAPI document carries the same list',
    '(`components.schemas.Problem`, `x-error-codes`).',
    '',
  ];
  const byStatus = Object.entries(ERROR_CODES).sort(([, a], [, b]) => a.status - b.status);
  for (const [code, spec] of byStatus) {
    lines.push(`- **\`${code}\`** — ${spec.status} ${spec.title}.`, `  ${spec.meaning}`);
  }
  return `${lines.join('\n')}\n`;
}
