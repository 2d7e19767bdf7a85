/**
 * The import rules `npm run check:imports` enforces: no circles, and the layers
 * ARCHITECTURE.md draws — entry points → app (app.ts, deps.ts) → modules →
 * http and platform → config, errors. An arrow may only point down (or
 * sideways between modules); never back up.
 */
const APP = '^src/(app|deps)[.]ts$';
const BASE = '^src/(config|errors|error-codes)[.]ts$';

export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle, type-only imports included: the layers stop meaning anything.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'modules-below-app',
      severity: 'error',
      comment: 'Modules receive what they need; they do not reach up to the wiring or the processes.',
      from: { path: '^src/modules/' },
      to: { path: [APP, '^src/entrypoints/'] },
    },
    {
      name: 'http-platform-below-modules',
      severity: 'error',
      comment: 'What every route shares, and the clients of databases and caches, know no feature.',
      from: { path: '^src/(http|platform)/' },
      to: { path: ['^src/modules/', APP, '^src/entrypoints/'] },
    },
    {
      name: 'base-imports-nothing-above',
      severity: 'error',
      comment: 'config.ts, errors.ts and the error catalogue sit under everything.',
      from: { path: BASE },
      to: { path: '^src/', pathNot: BASE },
    },
    {
      name: 'app-below-entrypoints',
      severity: 'error',
      comment: 'The app is built by entry points and tests, never the other way round.',
      from: { path: APP },
      to: { path: '^src/entrypoints/' },
    },
    {
      name: 'src-stands-alone',
      severity: 'error',
      comment: 'The image ships src/ alone: it cannot import tests, benches or scripts.',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'src-no-dev-dependencies',
      severity: 'error',
      comment: 'The image installs production dependencies only.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'resolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // TypeScript 7 ships no JavaScript API for dependency-cruiser to parse with; swc reads the
    // sources (type-only imports included) instead.
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|data|bench/reports)/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default'],
      mainFields: ['module', 'main'],
    },
  },
};
