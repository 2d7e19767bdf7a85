import autocannon from 'autocannon';
import { type Point, Timeline } from './report.ts';

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Requests answered and latency percentiles, second by second. */
  timeline: Point[];
}

export interface LoadOptions {
  url: string;
  /** Builds the path of each request (random ids, random categories). */
  path: () => string;
  connections: number;
  seconds: number;
  /** Requests per second over all connections; unset means as fast as possible. */
  rate?: number;
}

/** autocannon with every response's latency kept per second. */
export async function runAutocannon(
  options: autocannon.Options,
): Promise<{ result: autocannon.Result; timeline: Point[] }> {
  const timeline = new Timeline();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err, r) => (err ? reject(err) : resolve(r)));
    instance.on('response', (_client, _status, _bytes, responseTime) => timeline.record(responseTime));
  });
  // The second in which the run stopped is partial: left out so curves do not dive at the end.
  const seconds = typeof options.duration === 'number' ? options.duration : Number.POSITIVE_INFINITY;
  return { result, timeline: timeline.perSecond().filter((p) => p.t < seconds) };
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const { result, timeline } = await runAutocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    ...(o.rate ? { overallRate: o.rate } : {}),
    requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, path: o.path() }) }],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    timeline,
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
