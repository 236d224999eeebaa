// `require('virtnode')` load time in a fresh process. Goal: under 30 ms (median).
//
// What is measured: SAMPLES fresh node processes, each running a one-line script that times,
// with process.hrtime inside the child, the one `require('virtnode')` statement: resolution
// through node_modules (a temp dir whose node_modules/virtnode links to this checkout, as an
// installed package is found) and evaluation of the compiled lib/. Process start-up is not part of the figure. The anchor is
// the same measurement of `require('node:crypto')`, a fixed amount of module loading inside Node
// itself, sampled alternately with virtnode's in the same run.
//
// Run: npm run bench -- load   (or npx tsx bench/load.bench.ts)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ensureCompiledLib, measureInterleaved, timeInFreshProcess, type Benchmark, type Summary } from './timing';

const SAMPLES = 15;
const repoRoot = path.resolve(__dirname, '..');

/** A directory from which `require('virtnode')` finds this checkout as an installed package. */
function consumerDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-bench-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(repoRoot, path.join(dir, 'node_modules', 'virtnode'), 'dir');
  return dir;
}

async function measure(): Promise<{ virtnode: Summary; anchor: Summary }> {
  ensureCompiledLib();
  const dir = consumerDir();
  try {
    const [virtnode, anchor] = await measureInterleaved(
      [() => timeInFreshProcess("require('virtnode')", dir), () => timeInFreshProcess("require('node:crypto')", dir)],
      SAMPLES,
    );
    return { virtnode, anchor };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let result: ReturnType<typeof measure> | undefined;

export const benchmarks: Benchmark[] = [
  {
    name: `require('virtnode') in a fresh process x${SAMPLES}`,
    unit: 'ms (median)',
    run: async () => (await (result ??= measure())).virtnode.median,
    anchor: { name: "require('node:crypto')", run: async () => (await (result ??= measure())).anchor.median },
    goal: 30,
  },
];

if (require.main === module) {
  measure().then(({ virtnode, anchor }) => {
    const fmt = (s: Summary) => `median ${s.median.toFixed(2)} ms (min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)})`;
    console.log(`require('virtnode'):     ${fmt(virtnode)}   goal < 30 ms: ${virtnode.median < 30 ? 'met' : 'NOT met'}`);
    console.log(`require('node:crypto'):  ${fmt(anchor)}`);
  });
}
