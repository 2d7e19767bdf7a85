import { createHash } from 'node:crypto';
import type { KeyValueStore } from '../../platform/kv.ts';
import type { Logger } from '../../platform/logger.ts';

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
export type CacheRead = { hit: true; body: string } | { hit: false; version: string | null };

const MISS_UNCACHEABLE: CacheRead = { hit: false, version: null };
const LISTS_VERSION = 'catalog:{lists}:ver';
// One slot for both, as they are read with one MGET.
const HITS = 'catalog:{stats}:hits';
const MISSES = 'catalog:{stats}:misses';

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

  constructor(
    kv: KeyValueStore,
    ttlSeconds: number,
    enabled: boolean,
    log: Logger,
    onLookup: (result: 'hit' | 'miss') => void = () => {},
  ) {
    this.kv = kv;
    this.ttlSeconds = ttlSeconds;
    this.enabled = enabled;
    this.log = log;
    this.onLookup = onLookup;
    kv.onReconnect(() => this.afterReconnect());
    this.flushTimer = setInterval(() => void this.flushCounts(), COUNT_FLUSH_MS).unref();
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

  readProduct(id: number): Promise<CacheRead> {
    return this.read(productVersionKey(id), productBodyKey(id));
  }

  storeProduct(id: number, version: string | null, body: string): void {
    this.store(productBodyKey(id), version, body);
  }

  readList(canonicalQuery: string): Promise<CacheRead> {
    return this.read(LISTS_VERSION, listBodyKey(canonicalQuery));
  }

  storeList(canonicalQuery: string, version: string | null, body: string): void {
    this.store(listBodyKey(canonicalQuery), version, body);
  }

  /** Call after the database write committed and before answering. */
  async invalidateProduct(id: number): Promise<void> {
    await this.bump([productVersionKey(id), LISTS_VERSION]);
  }

  /** Empties the catalog cache; versions stay, so in-flight readers cannot resurrect old bodies. */
  async clear(): Promise<number> {
    return (
      (await this.kv.deleteMatching('catalog:{p*}:body')) +
      (await this.kv.deleteMatching('catalog:{lists}:q:*'))
    );
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
    let version: string;
    let stored: string | null | undefined;
    try {
      const [v, b] = await this.kv.mget([versionKey, bodyKey]);
      version = v ?? '0';
      stored = b;
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
      return { hit: true, body: stored.slice(version.length + 1) };
    }
    this.unflushed.misses++;
    this.onLookup('miss');
    return { hit: false, version };
  }

  private store(bodyKey: string, version: string | null, body: string): void {
    if (version === null || !this.enabled) return;
    this.kv
      .set(bodyKey, `${version}|${body}`, this.ttlSeconds)
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
