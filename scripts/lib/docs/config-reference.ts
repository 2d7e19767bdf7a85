import { CONFIG_SECTIONS } from '../../../src/config.ts';

interface VariableSchema {
  type?: string;
  const?: unknown;
  anyOf?: VariableSchema[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

const n = (value: number | undefined) => (value ?? 0).toLocaleString('en-US');

/** What values a variable takes, in words, from its schema. */
function kind(schema: VariableSchema): string {
  if (schema.anyOf) return `one of ${schema.anyOf.map((s) => `\`${String(s.const)}\``).join(', ')}`;
  switch (schema.type) {
    case 'boolean':
      return '`true` or `false`';
    case 'integer':
    case 'number':
      return `${schema.type === 'integer' ? 'an integer' : 'a number'} from ${n(schema.minimum)} to ${n(schema.maximum)}`;
    default: {
      if (schema.format === 'email') return 'an email address';
      if (schema.pattern) return `text matching \`${schema.pattern}\``;
      const length = schema.maxLength ? `, ${schema.minLength ?? 0} to ${schema.maxLength} characters` : '';
      return `text${length}`;
    }
  }
}

/** docs/configuration.md: every variable of src/config.ts, by section, from the schema's own descriptions. */
export function renderConfigReference(): string {
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated from src/config.ts by `npm run docs:generate`; edit the descriptions there. -->',
    '',
    'armazem reads these environment variables once, at start, and nothing else. A bad value',
    'stops the start with a message naming the variable (exit code 78); an empty value counts',
    'as unset. Deployment manifests are checked against this list (`test/deploy/`).',
  ];
  for (const section of CONFIG_SECTIONS) {
    lines.push('', `## ${section.title}`, '');
    for (const [name, value] of Object.entries(section.variables)) {
      const schema = value as VariableSchema;
      const fallback =
        schema.default === undefined ? 'unset by default' : `default \`${String(schema.default)}\``;
      lines.push(`- **\`${name}\`** — ${kind(schema)}; ${fallback}.`, `  ${schema.description ?? ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
