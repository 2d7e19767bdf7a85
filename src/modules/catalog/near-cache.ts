/**
 * The instance's own copy of cached catalog bodies, in front of Redis: a hit
 * here costs no round trip. Each body is filed under the version key that
 * guards it in Redis; when Redis reports that key changed, every body under
 * it is dropped. Bounded by bytes, oldest first out; each copy also expires
 * when its Redis entry does.
 */
interface Entry {
  body: string;
  versionKey: string;
  expiresAt: number;
  bytes: number;
}

// A Map entry and its strings' headers, roughly, on top of the body's characters.
const ENTRY_OVERHEAD_BYTES = 160;

export class NearCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byVersion = new Map<string, Set<string>>();
  private bytes = 0;
  /**
   * Bumped by every invalidation: a fill that began (read Redis) before one
   * may hold what it invalidated, as the report can overtake the read's reply.
   */
  private generation = 0;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get(bodyKey: string, now: number): string | undefined {
    const entry = this.entries.get(bodyKey);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > now) return entry.body;
    this.remove(bodyKey, entry);
    return undefined;
  }

  /** Taken before reading Redis; `set` with it keeps the body only if nothing was invalidated since. */
  token(): number {
    return this.generation;
  }

  set(token: number, versionKey: string, bodyKey: string, body: string, expiresAt: number): void {
    if (token !== this.generation) return;
    const bytes = body.length * 2 + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.maxBytes) return;
    const old = this.entries.get(bodyKey);
    if (old) this.remove(bodyKey, old);
    this.entries.set(bodyKey, { body, versionKey, expiresAt, bytes });
    let keys = this.byVersion.get(versionKey);
    if (!keys) {
      keys = new Set();
      this.byVersion.set(versionKey, keys);
    }
    keys.add(bodyKey);
    this.bytes += bytes;
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(key, entry);
    }
  }

  /** Drops what the changed keys guard; body keys changing alone (stores, expiries) change no version. */
  invalidate(changedKeys: readonly string[]): void {
    this.generation++;
    for (const key of changedKeys) {
      const bodies = this.byVersion.get(key);
      if (!bodies) continue;
      for (const bodyKey of bodies) {
        const entry = this.entries.get(bodyKey);
        if (entry) this.remove(bodyKey, entry);
      }
    }
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.byVersion.clear();
    this.bytes = 0;
  }

  stats(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  private remove(bodyKey: string, entry: Entry): void {
    this.entries.delete(bodyKey);
    this.bytes -= entry.bytes;
    const keys = this.byVersion.get(entry.versionKey);
    keys?.delete(bodyKey);
    if (keys?.size === 0) this.byVersion.delete(entry.versionKey);
  }
}
