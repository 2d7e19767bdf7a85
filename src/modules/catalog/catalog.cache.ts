import { createHash } from 'node:crypto';
import type { KeyValueStore, KeyWatch } from '../../platform/kv.ts';
import type { Logger } from '../../platform/logger.ts';
import { NearCache } from './near-cache.ts';

/**
 * Cache-aside for catalog reads, shared by every instance through Redis.
 *
 * Each cached body is stored as "<version>|<json>" next to a version counter.
 * A reader takes the version *before* reading the database and stores its
 * body under that version; a writer bumps the version *after* committing.
 * A body stored by a reader that raced a write therefore carries an old
 * version and is never served again: after a write returns, no instance can
 * serve the value it replaced, without locks or scripts.
 *
 * Keys use hash tags ({p<id>}, {lists}) so a version and its body share a
 * Redis Cluster slot and one MGET reads both.
 */
export type CacheRead = { hit: true; body: string } | CacheMiss;
/** What a store after a miss needs: the version read before the database, and the near copy's token. */
export type CacheMiss = { hit: false; version: string | null; token: number };

const MISS_UNCACHEABLE: CacheRead = { hit: false, version: null, token: -1 };
const LISTS_VERSION = 'catalog:{lists}:ver';
// One slot for both, as they are read with one MGET.
const HITS = 'catalog:{stats}:hits';
const MISSES = 'catalog:{stats}:misses';
// Bumped by clear(): every instance drops its near copies.
const CLEARED = 'catalog:cleared';

const productVersionKey = (id: number) => `catalog:{p${id}}:ver`;
const productBodyKey = (id: number) => `catalog:{p${id}}:body`;
const listBodyKey = (query: string) =>
  `catalog:{lists}:q:${createHash('sha1').update(query).digest('base64url')}`;

// Hits and misses are counted in the instance and added to the shared totals this often.
const COUNT_FLUSH_MS = 1000;

export class CatalogCache {
  /** Invalidations that could not reach Redis; replayed when it returns. */
  private readonly pendingBumps = new Set<string>();
  /** Lookups not yet added to the shared counters. */
  private readonly unflushed = { hits: 0, misses: 0 };
  private readonly flushTimer: NodeJS.Timeout;

  private readonly kv: KeyValueStore;
  private readonly ttlSeconds: number;
  readonly enabled: boolean;
  private readonly log: Logger;
  private readonly onLookup: (result: 'hit' | 'miss') => void;
  /**
   * Copies in this instance, served while Redis reports every version change;
   * started by the first read, so processes that never read the catalog
   * (workers, the bot) hold no tracking connection. Null: off, or not yet.
   */
  private near: NearCache | null = null;
  private watch: KeyWatch | null = null;
  private nearMaxBytes: number;

  constructor(
    kv: KeyValueStore,
    options: { ttlSeconds: number; enabled: boolean; nearMaxBytes: number },
    log: Logger,
    onLookup: (result: 'hit' | 'miss') => void = () => {},
  ) {
    this.kv = kv;
    this.ttlSeconds = options.ttlSeconds;
    this.enabled = options.enabled;
    this.log = log;
    this.onLookup = onLookup;
    this.nearMaxBytes = options.enabled ? options.nearMaxBytes : 0;
    kv.onReconnect(() => this.afterReconnect());
    this.flushTimer = setInterval(() => void this.flushCounts(), COUNT_FLUSH_MS).unref();
  }

  private startNear(): void {
    const near = new NearCache(this.nearMaxBytes);
    this.nearMaxBytes = 0;
    this.watch = this.kv.watchPrefix('catalog:', (keys) => {
      if (keys === null || keys.includes(CLEARED)) near.clear();
      else near.invalidate(keys);
    });
    if (this.watch) this.near = near;
  }

  /** Stops the counter timer and adds what it has not flushed yet. */
  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushCounts();
  }

  /** False while Redis is unreachable (or being revalidated after a reconnect). */
  available(): boolean {
    return this.kv.available();
  }

  /** The product's body from this instance's near copy, or undefined (no copy, or not being served): no I/O. */
  nearProduct(id: number): string | undefined {
    return this.nearHit(this.liveNear(), productBodyKey(id));
  }

  readProduct(id: number): Promise<CacheRead> {
    return this.read(productVersionKey(id), productBodyKey(id));
  }

  storeProduct(id: number, miss: CacheMiss, body: string): void {
    this.store(productVersionKey(id), productBodyKey(id), miss, body);
  }

  readList(canonicalQuery: string): Promise<CacheRead> {
    return this.read(LISTS_VERSION, listBodyKey(canonicalQuery));
  }

  storeList(canonicalQuery: string, miss: CacheMiss, body: string): void {
    this.store(LISTS_VERSION, listBodyKey(canonicalQuery), miss, body);
  }

  /** Call after the database write committed and before answering. */
  async invalidateProduct(id: number): Promise<void> {
    await this.bump([productVersionKey(id), LISTS_VERSION]);
  }

  /** Empties the catalog cache; versions stay, so in-flight readers cannot resurrect old bodies. */
  async clear(): Promise<number> {
    const deleted =
      (await this.kv.deleteMatching('catalog:{p*}:body')) +
      (await this.kv.deleteMatching('catalog:{lists}:q:*'));
    this.near?.clear();
    // The other instances hear of it and drop their copies too.
    await this.kv.incr(CLEARED);
    return deleted;
  }

  /** This instance's near copies: how many, their size, and whether they are being served. */
  nearStats(): { entries: number; bytes: number; live: boolean } | null {
    if (!this.near || !this.watch) return null;
    return { ...this.near.stats(), live: this.watch.live() };
  }

  async stats(): Promise<{ hits: number; misses: number; hitRatio: number | null }> {
    await this.flushCounts();
    const [hits, misses] = (await this.kv.mget([HITS, MISSES])).map((v) => Number(v ?? 0)) as [
      number,
      number,
    ];
    return {
      hits,
      misses,
      hitRatio: hits + misses === 0 ? null : Math.round((hits / (hits + misses)) * 10_000) / 10_000,
    };
  }

  private async read(versionKey: string, bodyKey: string): Promise<CacheRead> {
    if (!this.enabled || !this.kv.available()) return MISS_UNCACHEABLE;
    if (this.nearMaxBytes > 0) this.startNear();
    const near = this.liveNear();
    const nearBody = this.nearHit(near, bodyKey);
    if (nearBody !== undefined) return { hit: true, body: nearBody };
    const token = near ? near.token() : -1;
    let version: string;
    let stored: string | null | undefined;
    let ttlMs = -1;
    try {
      // Sent in the same tick, so one round trip carries both.
      const [[v, b], t] = await Promise.all([
        this.kv.mget([versionKey, bodyKey]),
        near ? this.kv.ttlMs(bodyKey) : -1,
      ]);
      version = v ?? '0';
      stored = b;
      ttlMs = t;
    } catch (err) {
      this.log.debug({ err }, 'cache read failed; reading the database');
      return MISS_UNCACHEABLE;
    }
    if (
      stored &&
      stored.length > version.length &&
      stored.startsWith(version) &&
      stored[version.length] === '|'
    ) {
      this.unflushed.hits++;
      this.onLookup('hit');
      const body = stored.slice(version.length + 1);
      if (near && ttlMs > 0) near.set(token, versionKey, bodyKey, body, Date.now() + ttlMs);
      return { hit: true, body };
    }
    this.unflushed.misses++;
    this.onLookup('miss');
    return { hit: false, version, token };
  }

  /** The near copy, while it may be served: Redis reachable and reporting every change. */
  private liveNear(): NearCache | null {
    return this.near !== null && this.watch?.live() && this.kv.available() ? this.near : null;
  }

  private nearHit(near: NearCache | null, bodyKey: string): string | undefined {
    const body = near?.get(bodyKey, Date.now());
    if (body === undefined) return undefined;
    this.unflushed.hits++;
    this.onLookup('hit');
    return body;
  }

  private store(versionKey: string, bodyKey: string, miss: CacheMiss, body: string): void {
    if (miss.version === null || !this.enabled) return;
    this.near?.set(miss.token, versionKey, bodyKey, body, Date.now() + this.ttlSeconds * 1000);
    this.kv
      .set(bodyKey, `${miss.version}|${body}`, this.ttlSeconds)
      .catch((err) => this.log.debug({ err }, 'cache store failed'));
  }

  /**
   * One INCRBY per counter per second instead of an INCR per read: the
   * shared totals lag by up to a second, the read path sends Redis one
   * command instead of two. Counts that cannot reach Redis are kept for the next try.
   */
  private async flushCounts(): Promise<void> {
    const { hits, misses } = this.unflushed;
    if (hits === 0 && misses === 0) return;
    this.unflushed.hits = 0;
    this.unflushed.misses = 0;
    const add = async (key: string, n: number, field: 'hits' | 'misses') => {
      if (n === 0) return;
      try {
        await this.kv.incr(key, n);
      } catch {
        this.unflushed[field] += n;
      }
    };
    await Promise.all([add(HITS, hits, 'hits'), add(MISSES, misses, 'misses')]);
  }

  private async bump(versionKeys: string[]): Promise<void> {
    try {
      await Promise.all(versionKeys.map((k) => this.kv.incr(k)));
    } catch (err) {
      for (const k of versionKeys) this.pendingBumps.add(k);
      this.log.warn(
        { err: (err as Error).message, keys: versionKeys },
        'cache invalidation deferred until redis returns',
      );
    } finally {
      // After the INCR, not before: a fill reading the old version meanwhile is then refused.
      // Redis does not report this connection's own changes back to it.
      this.near?.invalidate(versionKeys);
    }
  }

  /**
   * Redis came back: bodies cached before the outage may predate writes that
   * could not bump their versions, so replay our pending bumps and drop
   * cached bodies before serving from the cache again.
   */
  private async afterReconnect(): Promise<void> {
    const keys = [...this.pendingBumps];
    await Promise.all(keys.map((k) => this.kv.incr(k)));
    for (const k of keys) this.pendingBumps.delete(k);
    const dropped = await this.clear();
    this.log.info(
      { replayedInvalidations: keys.length, droppedBodies: dropped },
      'catalog cache revalidated after reconnect',
    );
  }
}

/** The list cache key covers the whole validated query, in a fixed key order. */
export function canonicalListQuery(q: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(q)
      .sort()
      .map((k) => [k, q[k]]),
  );
}
