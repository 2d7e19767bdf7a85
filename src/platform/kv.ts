import { Cluster, Redis, type RedisOptions } from 'ioredis';
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
  /** Milliseconds the key has left; negative when it is missing (-2) or never expires (-1). */
  ttlMs(key: string): Promise<number>;
  /** Adds `by` (1 unless given) and returns the new value. */
  incr(key: string, by?: number): Promise<number>;
  /** SET NX with a TTL: true when this call set it (a lease won). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes the keys matching a glob pattern (`*` wildcard); returns how many. */
  deleteMatching(pattern: string): Promise<number>;
  /** Round-trip time in ms; throws when unreachable. */
  ping(): Promise<number>;
  details(): Promise<Record<string, string | number>>;
  /** Runs `task` after every reconnection, before `available()` turns true again. */
  onReconnect(task: () => Promise<void>): void;
  /**
   * Reports changes other connections make to keys under `prefix` (Redis
   * client tracking, broadcast mode): `onChange(keys)` with the changed keys
   * (without the store's own prefix), `onChange(null)` whenever changes may
   * have gone unreported (a connection dropped, the database flushed), so a
   * copy of anything under the prefix must be dropped. Null where the store
   * cannot report changes (a cluster, or memory, which needs no copy).
   */
  watchPrefix(prefix: string, onChange: (keys: string[] | null) => void): KeyWatch | null;
  /** The Redis client (or cluster), for libraries that speak Redis themselves (rate limits); null in memory. */
  readonly redisClient: Redis | Cluster | null;
  close(): Promise<void>;
}

/** A watch on a key prefix: copies may be served only while it is live. */
export interface KeyWatch {
  /** True while every change under the prefix is being reported. */
  live(): boolean;
}

export async function openKeyValueStore(config: Config, log: Logger): Promise<KeyValueStore> {
  if (!config.REDIS_URL && !config.REDIS_CLUSTER_NODES) return new MemoryStore();
  const store = new RedisStore(config, log);
  await store.waitReady(2000);
  return store;
}

/**
 * REDIS_CLUSTER_NODES (a few seed nodes; the rest is discovered) makes a
 * Cluster client; credentials and TLS come from the first URL. Every
 * multi-key command armazem sends names keys of one hash slot ({…} tags).
 */
function connect(config: Config, options: RedisOptions): { client: Redis | Cluster; description: string } {
  if (!config.REDIS_CLUSTER_NODES) {
    const url = config.REDIS_URL as string;
    return { client: new Redis(url, options), description: `redis ${redactUrl(url)}` };
  }
  const urls = config.REDIS_CLUSTER_NODES.split(',').map((u) => new URL(u));
  const first = urls[0] as URL;
  const { enableOfflineQueue, retryStrategy, ...perNode } = options;
  const client = new Cluster(
    urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    {
      enableOfflineQueue,
      enableAutoPipelining: true,
      clusterRetryStrategy: retryStrategy,
      redisOptions: {
        ...perNode,
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
        ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    },
  );
  return {
    client,
    description: `redis cluster ${urls.map((u) => `${u.hostname}:${u.port || 6379}`).join(',')}`,
  };
}

class RedisStore implements KeyValueStore {
  readonly kind = 'redis';
  readonly description: string;
  private readonly redis: Redis | Cluster;
  readonly redisClient: Redis | Cluster;
  private readonly prefix: string;
  private readonly reconnectTasks: Array<() => Promise<void>> = [];
  private everReady = false;
  private cleaning = false;
  private closing = false;
  private readonly config: Config;
  private readonly options: RedisOptions;
  private tracker: Tracker | null = null;

  private readonly log: Logger;

  constructor(config: Config, log: Logger) {
    this.log = log;
    this.config = config;
    this.prefix = config.REDIS_KEY_PREFIX;
    this.options = {
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
    };
    const { client, description } = connect(config, this.options);
    this.redis = client;
    this.description = description;
    this.redisClient = this.redis;
    this.redis.on('error', (err) => this.log.debug({ err: err.message }, 'redis error'));
    this.redis.on('close', () => {
      this.tracker?.lost();
      if (this.everReady && !this.closing) this.log.warn('redis connection lost');
    });
    this.redis.on('ready', () => {
      // A new connection has no tracking: it is turned on again before copies are served.
      this.tracker?.connect();
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
  ttlMs(key: string) {
    return this.redis.pttl(key);
  }
  incr(key: string, by = 1) {
    return by === 1 ? this.redis.incr(key) : this.redis.incrby(key, by);
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    return (await this.redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
  }
  /** SCANs every master (a cluster's keys are spread over them); deletes key by key, as keys of different slots cannot share a DEL. */
  async deleteMatching(pattern: string): Promise<number> {
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    let deleted = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        // SCAN's MATCH is not prefixed by ioredis; the keys it returns are.
        const [next, keys] = await node.scan(cursor, 'MATCH', this.prefix + pattern, 'COUNT', 1000);
        cursor = next;
        // Auto-pipelined: one round trip per node for the whole page.
        const counts = await Promise.all(keys.map((k) => this.redis.del(k.slice(this.prefix.length))));
        deleted += counts.reduce((a, b) => a + b, 0);
      } while (cursor !== '0');
    }
    return deleted;
  }
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.redis.ping();
    return performance.now() - t0;
  }
  async details() {
    const node = this.redis instanceof Cluster ? this.redis.nodes('master')[0] : this.redis;
    const info = (await node?.info()) ?? '';
    const field = (name: string, text = info) =>
      text.match(new RegExp(`^${name}:(.*)$`, 'm'))?.[1]?.trim() ?? '';
    const base = {
      version: field('redis_version'),
      usedMemoryBytes: Number(field('used_memory')),
      connectedClients: Number(field('connected_clients')),
    };
    if (!(this.redis instanceof Cluster)) return base;
    const cluster = await this.redis.cluster('INFO');
    return {
      ...base,
      clusterState: field('cluster_state', cluster),
      clusterMasters: this.redis.nodes('master').length,
    };
  }
  onReconnect(task: () => Promise<void>) {
    this.reconnectTasks.push(task);
  }
  watchPrefix(prefix: string, onChange: (keys: string[] | null) => void): KeyWatch | null {
    if (this.redis instanceof Cluster) return null;
    if (this.tracker) throw new Error('one prefix is watched per store');
    this.tracker = new Tracker(
      this.redis,
      this.config.REDIS_URL as string,
      this.options,
      this.prefix,
      prefix,
      onChange,
      this.log,
    );
    if (this.redis.status === 'ready') this.tracker.connect();
    return this.tracker;
  }
  async close() {
    this.closing = true;
    await this.tracker?.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

const INVALIDATE_CHANNEL = '__redis__:invalidate';

/**
 * Redis client tracking in broadcast mode: Redis sends the name of every key
 * changed under the prefix to a second connection subscribed to its
 * invalidation channel; the data connection asks for it (REDIRECT) and skips
 * its own changes (NOLOOP), which the caller applies itself. Redis queues the
 * message while the write executes and sends it in the same pass as the
 * write's reply, so it reaches this instance before any request that follows
 * the write can. Whenever either connection drops, or the redirect changes,
 * the watch stops being live and reports `null` until tracking is on again.
 */
class Tracker implements KeyWatch {
  private readonly subscriber: Redis;
  private isLive = false;
  /** Each connect() attempt; a slower earlier one does not turn a later state live. */
  private attempt = 0;
  private closed = false;
  /** Set-up attempts failed in a row. */
  private failures = 0;
  private readonly data: Redis;
  private readonly storePrefix: string;
  private readonly prefix: string;
  private readonly onChange: (keys: string[] | null) => void;
  private readonly log: Logger;

  constructor(
    data: Redis,
    url: string,
    options: RedisOptions,
    storePrefix: string,
    prefix: string,
    onChange: (keys: string[] | null) => void,
    log: Logger,
  ) {
    this.data = data;
    this.storePrefix = storePrefix;
    this.prefix = prefix;
    this.onChange = onChange;
    this.log = log;
    const { keyPrefix: _, ...rest } = options;
    // Its client id is needed before it subscribes, so it subscribes itself after each connect.
    this.subscriber = new Redis(url, {
      ...rest,
      enableAutoPipelining: false,
      autoResubscribe: false,
      // Redis sends a RESP2 subscriber the changed keys as channel messages; a RESP3 one gets pushes ioredis drops.
      protocol: 2,
      connectionName: `${options.connectionName}:invalidations`,
    });
    this.subscriber.on('error', (err) => this.log.debug({ err: err.message }, 'redis invalidations error'));
    this.subscriber.on('close', () => this.lost());
    this.subscriber.on('ready', () => this.connect());
    this.subscriber.on('messageBuffer', (_channel: Buffer, keys: Buffer[] | null) => {
      if (!this.isLive) return;
      // A flush sends null: everything changed.
      if (!Array.isArray(keys)) return this.onChange(null);
      const changed: string[] = [];
      for (const k of keys) changed.push(k.toString().slice(this.storePrefix.length));
      this.onChange(changed);
    });
  }

  live(): boolean {
    return this.isLive;
  }

  /** A connection dropped: until tracking is on again, changes may be missed. */
  lost(): void {
    this.attempt++;
    if (this.isLive) this.log.warn('redis invalidations lost; copies dropped until they return');
    this.isLive = false;
    this.onChange(null);
  }

  /** (Re)points tracking at the subscriber; both connections must be up. */
  connect(): void {
    const attempt = ++this.attempt;
    this.isLive = false;
    this.onChange(null);
    if (this.closed || this.data.status !== 'ready' || this.subscriber.status !== 'ready') return;
    void (async () => {
      try {
        const id = (await this.subscriber.client('ID')) as number;
        await this.subscriber.subscribe(INVALIDATE_CHANNEL);
        await this.data.call('CLIENT', 'TRACKING', 'OFF');
        await this.data.call(
          'CLIENT',
          'TRACKING',
          'ON',
          'REDIRECT',
          String(id),
          'BCAST',
          'PREFIX',
          this.storePrefix + this.prefix,
          'NOLOOP',
        );
        if (attempt !== this.attempt) return;
        this.failures = 0;
        this.isLive = true;
        this.log.info({ prefix: this.prefix }, 'redis invalidations live');
      } catch (err) {
        if (attempt !== this.attempt) return;
        // A Redis that refuses CLIENT TRACKING (renamed by a host) refuses it every time: said once, retried slower.
        this.failures++;
        const level = this.failures === 1 ? 'warn' : 'debug';
        this.log[level](
          { err: (err as Error).message },
          'redis invalidations not set up; copies not served; retrying',
        );
        setTimeout(
          () => {
            if (attempt === this.attempt) this.connect();
          },
          Math.min(1000 * this.failures, 30_000),
        ).unref();
      }
    })();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.attempt++;
    this.isLive = false;
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
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
  async ttlMs(key: string) {
    const entry = this.read(key) === null ? undefined : this.entries.get(key);
    return entry ? entry.expiresAt - Date.now() : -2;
  }
  async setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.read(key) !== null) return false;
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    return true;
  }
  async incr(key: string, by = 1) {
    const next = Number(this.read(key) ?? '0') + by;
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
  watchPrefix() {
    return null;
  }
  async close() {
    this.entries.clear();
  }
}
