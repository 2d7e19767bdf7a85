import { inSpan } from './tracing.ts';

/**
 * Group commit inside one process: requests that arrive while a batch is at
 * the database wait and go together in the next one. Nothing waits for a
 * timer — a lone request goes at once — and batches grow only with
 * contention, so many requests share one round trip and one durable commit.
 *
 * Up to `concurrency` batches may be at the database at once (each on its
 * own connection): a request need not wait for an unrelated one's commit,
 * and concurrent commits still share the WAL flush in PostgreSQL.
 *
 * `run` gets the items in arrival order and returns one result per item, in
 * the same order. If it throws, every item of that batch gets the error.
 */
export class Batcher<I, O> {
  private readonly run: (items: I[]) => Promise<O[]>;
  private readonly maxBatch: number;
  private readonly onBatch: (size: number) => void;
  private readonly concurrency: number;
  private queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private inFlight = 0;

  constructor(
    run: (items: I[]) => Promise<O[]>,
    opts: { maxBatch: number; concurrency?: number; onBatch?: (size: number) => void },
  ) {
    this.run = run;
    this.maxBatch = opts.maxBatch;
    this.concurrency = opts.concurrency ?? 1;
    this.onBatch = opts.onBatch ?? (() => {});
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.inFlight < this.concurrency) void this.flush();
    });
  }

  /** Items waiting for the next batch. */
  get waiting(): number {
    return this.queue.length;
  }

  private async flush(): Promise<void> {
    this.inFlight++;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.onBatch(batch.length);
      try {
        const results = await inSpan('group commit', { 'armazem.batch.size': batch.length }, () =>
          this.run(batch.map((b) => b.item)),
        );
        if (results.length !== batch.length)
          throw new Error(`batch returned ${results.length} results for ${batch.length} items`);
        for (const [i, b] of batch.entries()) b.resolve(results[i] as O);
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.inFlight--;
  }
}
