// Startup time of the command line: `virtnode -c test:///default list` against a bare `node -e 0`
// (the anchor; goal within 1.3x) and `virsh -c test:///default list`, interleaved in the same run
// so that machine load affects all three alike.
//
//   npm run bench -- cli        or        npx tsx bench/cli.bench.ts
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { measureInterleaved, type Benchmark, type Summary } from './timing';

const bin = path.join(__dirname, '..', 'bin', 'virtnode.js');
const ROUNDS = 25;

function sampler(file: string, args: string[]): () => number {
  return () => {
    const start = process.hrtime.bigint();
    const r = spawnSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${r.stderr}`);
    return ms;
  };
}

const haveVirsh = spawnSync('virsh', ['--version']).status === 0;

let result: Promise<Summary[]> | undefined;
function measure(): Promise<Summary[]> {
  const samplers = [
    sampler(process.execPath, ['-e', '0']),
    sampler(process.execPath, [bin, '-c', 'test:///default', 'list']),
  ];
  if (haveVirsh) samplers.push(sampler('virsh', ['-c', 'test:///default', 'list']));
  return (result ??= measureInterleaved(samplers, ROUNDS, 2));
}

export const benchmarks: Benchmark[] = [
  {
    name: 'virtnode -c test:///default list (startup)',
    unit: 'ms (median)',
    run: async () => (await measure())[1].median,
    anchor: { name: 'node -e 0', unit: 'ms (median)', run: async () => (await measure())[0].median },
  },
  ...(haveVirsh
    ? [{ name: 'virsh -c test:///default list (startup)', unit: 'ms (median)', run: async () => (await measure())[2].median }]
    : []),
];

if (require.main === module) {
  measure().then((s) => {
    const base = s[0].median;
    const labels = ['node -e 0', 'virtnode -c test:///default list', 'virsh -c test:///default list'];
    s.forEach((x, i) => console.log(`${labels[i].padEnd(34)} ${x.median.toFixed(1).padStart(7)} ms  ${(x.median / base).toFixed(2)}x node`));
    console.log(`virtnode list / node -e 0 = ${(s[1].median / base).toFixed(2)} (goal <= 1.30)`);
  });
}
