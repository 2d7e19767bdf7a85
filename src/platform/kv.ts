import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { redactUrl } from './database.ts';
import type { Logger } from './logger.ts';

/**
 * The small key-value surface armazem needs from Redis. Two real
 * implementations: Redis (shared by every instance) and an in-process map
 * for the embedded single-instance mode.
 */
export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  readonly description: string;
  /** False while disconnected, and while a reconnect clean-up runs. */
  available(): boolean;
  get(key: string): Promise<string | null>;
  mget(keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  incr(key: string): Promise<number>;
  /** SET NX with a TTL: true when this call set it (a lease won). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes the keys matching a glob pattern (`*` wildcard); returns how many. */
  deleteMatching(pattern: string): Promise<number>;
  /** Round-trip time in ms; throws when unreachable. */
  ping(): Promise<number>;
  details(): Promise<Record<string, string | number>>;
  /** Runs `task` after every reconnection, before `available()` turns true again. */
  onReconnect(task: () => Promise<void>): void;
  /** The Redis client, for libraries that speak Redis themselves (rate limits); null in memory. */
  readonly redisClient: Redis | null;
  close(): Promise<void>;
}

export async function openKeyValueStore(config: Config, log: Logger): Promise<KeyValueStore> {
  if (!config.REDIS_URL) return new MemoryStore();
  const store = new RedisStore(config.REDIS_URL, config, log);
  await store.waitReady(2000);
  return store;
}

class RedisStore implements KeyValueStore {
  readonly kind = 'redis';
  readonly description: string;
  private readonly redis: Redis;
  readonly redisClient: Redis;
  private readonly prefix: string;
  private readonly reconnectTasks: Array<() => Promise<void>> = [];
  private everReady = false;
  private cleaning = false;
  private closing = false;

  private readonly log: Logger;

  constructor(url: string, config: Config, log: Logger) {
    this.log = log;
    this.description = `redis ${redactUrl(url)}`;
    this.prefix = config.REDIS_KEY_PREFIX;
    this.redis = new Redis(url, {
      keyPrefix: this.prefix,
      // One round trip carries every command issued in the same tick.
      enableAutoPipelining: true,
      // Fail fast while disconnected, so callers fall back to the database
      // instead of queueing behind a dead connection.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A socket that owes replies and stays silent this long is dropped and
      // reconnected (one timer per read, not one per command as commandTimeout).
      socketTimeout: config.REDIS_TIMEOUT_MS,
      connectTimeout: 2000,
      // Reconnect forever, backing off to one attempt every 2 s.
      retryStrategy: (times) => Math.min(times * 100, 2000),
      connectionName: `armazem:${config.INSTANCE_ID}`,
    });
    this.redisClient = this.redis;
    this.redis.on('error', (err) => this.log.debug({ err: err.message }, 'redis error'));
    this.redis.on('close', () => {
      if (this.everReady && !this.closing) this.log.warn('redis connection lost');
    });
    this.redis.on('ready', () => {
      if (!this.everReady) {
        this.everReady = true;
        return;
      }
      this.log.info('redis reconnected');
      void this.runReconnectTasks();
    });
  }

  waitReady(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn('redis not reachable at start; running degraded until it is');
        resolve();
      }, timeoutMs);
      this.redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async runReconnectTasks(): Promise<void> {
    this.cleaning = true;
    try {
      for (const task of this.reconnectTasks) await task();
    } catch (err) {
      this.log.error({ err }, 'redis reconnect clean-up failed; retrying');
      setTimeout(() => void this.runReconnectTasks(), 500).unref();
      return;
    }
    this.cleaning = false;
  }

  available(): boolean {
    return this.redis.status === 'ready' && !this.cleaning;
  }
  get(key: string) {
    return this.redis.get(key);
  }
  mget(keys: string[]) {
    return this.redis.mget(keys);
  }
  async set(key: string, value: string, ttlSeconds: number) {
    await this.redis.set(key, value, 'EX', ttlSeconds);
  }
  incr(key: string) {
    return this.redis.incr(key);
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    return (await this.redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
  }
  async deleteMatching(pattern: string): Promise<number> {
    let deleted = 0;
    let cursor = '0';
    do {
      // SCAN's MATCH is not prefixed by ioredis; the keys it returns are.
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.prefix + pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await this.redis.del(...keys.map((k) => k.slice(this.prefix.length)));
    } while (cursor !== '0');
    return deleted;
  }
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.redis.ping();
    return performance.now() - t0;
  }
  async details() {
    const info = await this.redis.info();
    const field = (name: string) => info.match(new RegExp(`^${name}:(.*)$`, 'm'))?.[1]?.trim() ?? '';
    return {
      version: field('redis_version'),
      usedMemoryBytes: Number(field('used_memory')),
      connectedClients: Number(field('connected_clients')),
    };
  }
  onReconnect(task: () => Promise<void>) {
    this.reconnectTasks.push(task);
  }
  async close() {
    this.closing = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

interface Entry {
  value: string;
  expiresAt: number;
}

/** In-process store for the single-instance embedded mode; bounded, least recently used evicted first. */
export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory';
  readonly description = 'in-process memory';
  readonly redisClient = null;
  private readonly entries = new Map<string, Entry>();

  private readonly maxEntries: number;

  constructor(maxEntries = 50_000) {
    this.maxEntries = maxEntries;
  }

  available() {
    return true;
  }
  private read(key: string): string | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    // Re-insert to mark it most recently used (Map keeps insertion order).
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }
  private write(key: string, value: string, ttlSeconds: number) {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
  async get(key: string) {
    return this.read(key);
  }
  async mget(keys: string[]) {
    return keys.map((k) => this.read(k));
  }
  async set(key: string, value: string, ttlSeconds: number) {
    this.write(key, value, ttlSeconds);
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.read(key) !== null) return false;
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    return true;
  }
  async incr(key: string) {
    const next = Number(this.read(key) ?? '0') + 1;
    this.write(key, String(next), Number.MAX_SAFE_INTEGER / 1000);
    return next;
  }
  async deleteMatching(pattern: string) {
    const re = new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    let deleted = 0;
    for (const key of [...this.entries.keys()]) {
      if (re.test(key)) {
        this.entries.delete(key);
        deleted++;
      }
    }
    return deleted;
  }
  async ping() {
    return 0;
  }
  async details() {
    return { version: `node ${process.version}`, entries: this.entries.size, maxEntries: this.maxEntries };
  }
  onReconnect() {}
  async close() {
    this.entries.clear();
  }
}
