import type { KeyValueStore } from '../../platform/kv.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Health, ProcessorClient, ProcessorName } from './processor-client.ts';

/** The processors allow one health call per 5 s, whoever makes it. */
const PROBE_EVERY_MS = 5000;

interface Shared {
  health: Health | null;
  at: number;
}

/**
 * Processor health, read at most once per 5 s per processor across *all*
 * instances: whoever wins a lease in Redis (SET NX PX 5000) calls the
 * processor and publishes the answer in Redis; everyone reads it from there.
 * In the embedded mode the same happens in process.
 */
export class HealthMonitor {
  private readonly latest = new Map<ProcessorName, Shared>();
  private timer: NodeJS.Timeout | null = null;
  private readonly kv: KeyValueStore;
  private readonly clients: ProcessorClient[];
  private readonly instance: string;
  private readonly log: Logger;

  constructor(kv: KeyValueStore, clients: ProcessorClient[], instance: string, log: Logger) {
    this.kv = kv;
    this.clients = clients;
    this.instance = instance;
    this.log = log;
  }

  /** The last shared report, null when unknown or older than two probe windows. */
  health(name: ProcessorName): Health | null {
    const s = this.latest.get(name);
    return s && Date.now() - s.at < 2 * PROBE_EVERY_MS ? s.health : null;
  }

  /** When the current report was made (0 when there is none). */
  reportedAt(name: ProcessorName): number {
    return this.latest.get(name)?.at ?? 0;
  }

  start(intervalMs = 500): void {
    const tick = () => {
      this.refresh().catch((err) => this.log.debug({ err }, 'health refresh failed'));
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Reads the shared reports; probes a processor when this instance wins its lease. */
  async refresh(): Promise<void> {
    await Promise.all(
      this.clients.map(async (client) => {
        const key = `payments:{health}:${client.name}`;
        if (await this.kv.setIfAbsent(`${key}:lease`, this.instance, PROBE_EVERY_MS)) {
          const health = await client.health();
          await this.kv.set(key, JSON.stringify({ health, at: Date.now() }), 60);
        }
        const stored = await this.kv.get(key);
        if (stored) this.latest.set(client.name, JSON.parse(stored) as Shared);
      }),
    );
  }
}
