// Shared timing helpers for bench/*.bench.ts: what a benchmark is, how samples are taken and
// summarised. Benchmarks report numbers; they assert nothing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * What a `bench/*.bench.ts` file exports as `benchmarks`; bench/run.ts runs them in order and
 * prints one line each.
 */
export interface Benchmark {
  name: string;
  /** Unit of the figure, e.g. 'ms (median)'. */
  unit: string;
  /** Measures and returns the benchmark's figure (a median, say), in `unit`. */
  run(): Promise<number>;
  /**
   * A fixed piece of work measured in the same run, so that a reader can tell a slow machine from
   * a slow benchmark: measured here, or the name of another benchmark of the same file whose
   * figure serves as the anchor.
   */
  anchor?: string | { name: string; unit?: string; run(): Promise<number> };
  /** The figure the benchmark should stay under, in its unit. */
  goal?: number;
}

/** One sample of something, in its unit. */
export type Sampler = () => number | Promise<number>;

export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarise(samples: readonly number[]): Summary {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples: [...samples] };
}

/** Takes warmup + n samples of each sampler, round-robin, and summarises the kept ones. */
export async function measureInterleaved(samplers: readonly Sampler[], n = 15, warmup = 2): Promise<Summary[]> {
  const kept: number[][] = samplers.map(() => []);
  for (let round = 0; round < warmup + n; round++) {
    for (const [i, sampler] of samplers.entries()) {
      const value = await sampler();
      if (round >= warmup) kept[i].push(value);
    }
  }
  return kept.map(summarise);
}

/** Milliseconds since `start` (a process.hrtime.bigint() reading). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Runs `body` as the main script of a fresh node process started in `dir` (no loaders or options
 * inherited from this one) and returns the milliseconds it took, measured inside the child with
 * process.hrtime around `body` only: process start-up is not part of the figure. A script file
 * rather than `node -e`, because -e preloads modules (node:crypto among them) a program would not.
 */
export function timeInFreshProcess(body: string, dir: string): number {
  const script = path.join(dir, `bench-sample-${process.pid}.js`);
  fs.writeFileSync(
    script,
    `const t0 = process.hrtime.bigint(); ${body}; const t1 = process.hrtime.bigint();
process.stdout.write(String(Number(t1 - t0) / 1e6));
`,
  );
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  try {
    const out = execFileSync(process.execPath, [script], { cwd: dir, env, encoding: 'utf8' });
    const ms = Number(out);
    if (!Number.isFinite(ms)) throw new Error(`child printed ${JSON.stringify(out)}`);
    return ms;
  } finally {
    fs.rmSync(script, { force: true });
  }
}
