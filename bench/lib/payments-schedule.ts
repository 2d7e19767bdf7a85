import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOT } from './processes.ts';

/**
 * A stage table for bench:payments, read from a JSON file in bench/schedules/:
 * what the processor emulators do and when (their delay and failure, as the
 * contest's test sets them), and the load ramp that runs meanwhile.
 *
 * ```json
 * { "name": "…", "description": "…",
 *   "ramp": { "seconds": 60, "maxVus": 550, "amounts": [19.9] }, "minShareOfBest": 0.9,
 *   "stages": [{ "at": 0, "label": "both fast",
 *                "default": { "delay": 0, "failing": false }, "fallback": { "delay": 0, "failing": false } }] }
 * ```
 * A stage lasts until the next one's `at` (seconds since the load started); the
 * last one to the end. Each virtual user's n-th payment is `amounts[n % length]`.
 * `minShareOfBest` (optional) is the schedule's target: its score as a share of the best possible.
 */
export interface ProcessorState {
  delay: number;
  failing: boolean;
}

export interface Stage {
  at: number;
  label: string;
  default: ProcessorState;
  fallback: ProcessorState;
}

export interface Schedule {
  name: string;
  description: string;
  ramp: { seconds: number; maxVus: number; amounts: number[] };
  stages: Stage[];
  /** A target: the score's least share of the best possible (bench:payments runs such a schedule BENCH_RUNS times and judges the median). */
  minShareOfBest?: number;
}

export const FEES = { default: 0.05, fallback: 0.15 } as const;
/** The contest's bonus at p99 ≤ 1 ms: (11 − 1) × 0.02. */
export const FULL_BONUS = 0.2;

export const SCHEDULES_DIR = join(ROOT, 'bench', 'schedules');

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what}`);
}

function processorState(file: string, where: string, v: unknown): ProcessorState {
  const p = v as Partial<ProcessorState> | undefined;
  if (typeof p?.delay !== 'number' || !(p.delay >= 0)) fail(file, `${where}.delay must be a number ≥ 0`);
  if (typeof p.failing !== 'boolean') fail(file, `${where}.failing must be true or false`);
  return { delay: p.delay, failing: p.failing };
}

/** Checks a parsed schedule; `file` names it in errors. */
export function parseSchedule(file: string, json: unknown): Schedule {
  const s = json as Partial<Schedule> & { ramp?: Partial<Schedule['ramp']> };
  if (typeof s?.name !== 'string' || s.name === '') fail(file, 'name must be a non-empty string');
  const ramp: Partial<Schedule['ramp']> = s.ramp ?? {};
  const seconds = ramp.seconds ?? 60;
  const maxVus = ramp.maxVus ?? 550;
  const amounts = ramp.amounts ?? [19.9];
  if (!Number.isInteger(seconds) || seconds < 1) fail(file, 'ramp.seconds must be an integer ≥ 1');
  if (!Number.isInteger(maxVus) || maxVus < 1) fail(file, 'ramp.maxVus must be an integer ≥ 1');
  if (
    !Array.isArray(amounts) ||
    amounts.length === 0 ||
    amounts.some((a) => typeof a !== 'number' || !(a > 0) || Math.abs(Math.round(a * 100) - a * 100) > 1e-6)
  )
    fail(file, 'ramp.amounts must be positive amounts with at most two decimals');
  if (!Array.isArray(s.stages) || s.stages.length === 0) fail(file, 'stages must be a non-empty list');
  const stages = s.stages.map((st, i): Stage => {
    if (typeof st?.at !== 'number' || !(st.at >= 0)) fail(file, `stages[${i}].at must be seconds ≥ 0`);
    if (i === 0 && st.at !== 0) fail(file, 'stages[0].at must be 0');
    if (i > 0 && st.at <= (s.stages?.[i - 1]?.at ?? 0))
      fail(file, `stages[${i}].at must follow stages[${i - 1}]`);
    return {
      at: st.at,
      label: typeof st.label === 'string' ? st.label : `stage ${i}`,
      default: processorState(file, `stages[${i}].default`, st.default),
      fallback: processorState(file, `stages[${i}].fallback`, st.fallback),
    };
  });
  const target = s.minShareOfBest;
  if (target !== undefined && !(typeof target === 'number' && target > 0 && target <= 1))
    fail(file, 'minShareOfBest must be a share in (0, 1]');
  return {
    name: s.name,
    description: typeof s.description === 'string' ? s.description : '',
    ramp: { seconds, maxVus, amounts },
    stages,
    ...(target === undefined ? {} : { minShareOfBest: target }),
  };
}

export function loadSchedule(file: string): Schedule {
  return parseSchedule(basename(file), JSON.parse(readFileSync(file, 'utf8')));
}

/** Every schedule in bench/schedules/, the official table first. */
export function allScheduleFiles(): string[] {
  const files = readdirSync(SCHEDULES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return [...files.filter((f) => f === 'official.json'), ...files.filter((f) => f !== 'official.json')].map(
    (f) => join(SCHEDULES_DIR, f),
  );
}

/** The stage in force `seconds` after the load started. */
export function stageAt(schedule: Schedule, seconds: number): Stage {
  let current = schedule.stages[0] as Stage;
  for (const s of schedule.stages) if (s.at <= seconds) current = s;
  return current;
}

/**
 * The best score possible for the payments sent: each on the default where
 * the default was up (not failing, however slow) when it was sent, on the
 * fallback otherwise, and the full latency bonus.
 */
export function bestScore(schedule: Schedule, sent: Array<{ at: number; amount: number }>): number {
  let net = 0;
  for (const p of sent) {
    const fee = stageAt(schedule, p.at).default.failing ? FEES.fallback : FEES.default;
    net += p.amount * (1 - fee);
  }
  return net * (1 + FULL_BONUS);
}

/** The contest's score: (amount − fees) × (1 + bonus) × (1 − fine), bonus max((11 − p99) × 0.02, 0), fine 35 %. */
export function score(
  summary: Record<'default' | 'fallback', { totalAmount: number }>,
  p99: number,
  inconsistencies: number,
): { net: number; bonus: number; fine: number; score: number } {
  const net =
    summary.default.totalAmount * (1 - FEES.default) + summary.fallback.totalAmount * (1 - FEES.fallback);
  const bonus = Math.max((11 - p99) * 0.02, 0);
  const fine = inconsistencies > 0 ? 0.35 : 0;
  return { net, bonus, fine, score: net * (1 + bonus) * (1 - fine) };
}
