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

const repoRoot = path.resolve(__dirname, '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * The package loads lib/, tsc's output: build it when it is missing or older than src/. Returns
 * the lib/ directory.
 */
export function ensureCompiledLib(): string {
  const lib = path.join(repoRoot, 'lib');
  const entry = path.join(lib, 'index.js');
  if (fs.existsSync(entry) && fs.statSync(entry).mtimeMs >= newestMtime(path.join(repoRoot, 'src'))) return lib;
  console.log('# compiling src/ to lib/ (tsc)');
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(repoRoot, 'tsconfig.json')], { stdio: 'inherit' });
  } catch {
    // tsc still writes lib/ when it reports type errors; only a missing entry point is fatal.
    if (!fs.existsSync(entry)) throw new Error('tsc did not produce lib/index.js');
  }
  return lib;
}
