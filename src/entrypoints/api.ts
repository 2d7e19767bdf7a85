// Tracing hooks pg, ioredis and node:http as they load, so it starts before the role's modules are imported.
import { startTracing } from '../platform/tracing.ts';
import { loadConfigOrExit } from './load-config.ts';

await startTracing(loadConfigOrExit(), 'api');
await import('./roles/api.ts');
