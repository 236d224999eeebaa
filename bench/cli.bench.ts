// Startup time of the command line: `virtnode -c test:///default list` against a bare `node -e 0`
// and `virsh -c test:///default list`, measured in the same run, interleaved so that machine load
// affects all three alike. Prints medians; the goal is virtnode within 1.3x of bare Node.
//
//   npx tsx bench/cli.bench.ts [rounds]
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..');
const bin = path.join(repoRoot, 'bin', 'virtnode.js');
const rounds = Number(process.argv[2] ?? 25);

interface Subject {
  label: string;
  file: string;
  args: string[];
  times: number[];
}

const subjects: Subject[] = [
  { label: 'node -e 0', file: process.execPath, args: ['-e', '0'], times: [] },
  { label: 'virtnode -c test:///default list', file: process.execPath, args: [bin, '-c', 'test:///default', 'list'], times: [] },
];
if (spawnSync('virsh', ['--version']).status === 0) {
  subjects.push({ label: 'virsh -c test:///default list', file: 'virsh', args: ['-c', 'test:///default', 'list'], times: [] });
}

function timeOnce(s: Subject): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(s.file, s.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${s.label} failed: ${r.stderr}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

for (const s of subjects) timeOnce(s); // warm the page cache
for (let i = 0; i < rounds; i++) for (const s of subjects) s.times.push(timeOnce(s));

const base = median(subjects[0].times);
console.log(`CLI startup, median of ${rounds} runs`);
for (const s of subjects) {
  const m = median(s.times);
  console.log(`  ${s.label.padEnd(34)} ${m.toFixed(1).padStart(7)} ms  ${(m / base).toFixed(2)}x node`);
}
const ratio = median(subjects[1].times) / base;
console.log(`virtnode list / node -e 0 = ${ratio.toFixed(2)} (goal <= 1.30)`);
