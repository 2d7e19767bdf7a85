import { createProcessorEmulator } from '../modules/payments/emulator/processor-emulator.ts';

// npm run processors — the two payment processors of the Rinha 2025 test, emulated:
// default (fee 0.05) and fallback (fee 0.15).
const ports = {
  default: Number(process.env.PROCESSOR_DEFAULT_PORT ?? 8001),
  fallback: Number(process.env.PROCESSOR_FALLBACK_PORT ?? 8002),
};
const servers = [
  createProcessorEmulator({ name: 'default', fee: 0.05 }),
  createProcessorEmulator({ name: 'fallback', fee: 0.15 }),
];
const host = process.env.HOST ?? '127.0.0.1';
await servers[0]?.listen({ host, port: ports.default });
await servers[1]?.listen({ host, port: ports.fallback });
console.error(
  `payment processors: default http://127.0.0.1:${ports.default} · fallback http://127.0.0.1:${ports.fallback}`,
);
const stop = async () => {
  await Promise.all(servers.map((s) => s.close()));
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
