// The benchmark runner (`npm run bench [-- filter]`): runs every bench/*.bench.ts file's
// `benchmarks`, in file order, and prints one line per benchmark: name, figure, unit, and the
// anchor's figure measured in the same run. A filter keeps the files or benchmarks whose name
// contains it. Benchmarks report numbers and assert nothing; one that throws is reported as
// failed and makes the exit status non-zero.
import fs from 'node:fs';
import path from 'node:path';

import type { Benchmark } from './timing';

interface BenchFile {
  file: string;
  benchmarks: Benchmark[];
}

function formatFigure(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  return value.toFixed(abs >= 100 ? 1 : abs >= 1 ? 2 : 3);
}

/**
 * The bench files to run and their benchmarks. A filter that matches file names picks those files
 * (others are not even loaded); otherwise it picks benchmarks by name from every file.
 */
function discover(filter: string | undefined): { found: BenchFile[]; broken: string[] } {
  const all = fs
    .readdirSync(__dirname)
    .filter((name) => name.endsWith('.bench.ts'))
    .sort();
  const byFile = filter ? all.filter((file) => file.includes(filter)) : all;
  const files = byFile.length ? byFile : all;
  const found: BenchFile[] = [];
  const broken: string[] = [];
  for (const file of files) {
    const mod = require(path.join(__dirname, file)) as { benchmarks?: Benchmark[] };
    if (!Array.isArray(mod.benchmarks)) {
      broken.push(file);
      continue;
    }
    const keep = byFile.length ? mod.benchmarks : mod.benchmarks.filter((b) => b.name.includes(filter ?? ''));
    if (keep.length) found.push({ file, benchmarks: keep });
  }
  return { found, broken };
}

async function runFile({ file, benchmarks }: BenchFile, all: Benchmark[], width: number): Promise<number> {
  let failures = 0;
  // Each benchmark runs once; a benchmark named as another's anchor reuses its figure.
  const figures = new Map<Benchmark, Promise<number>>();
  const figure = (b: Benchmark) => {
    let p = figures.get(b);
    if (!p) figures.set(b, (p = b.run()));
    return p;
  };
  for (const b of benchmarks) {
    try {
      const value = await figure(b);
      let line = `${b.name.padEnd(width)}  ${formatFigure(value).padStart(10)} ${b.unit}`;
      if (b.anchor !== undefined) {
        let anchor: { name: string; unit: string; value: number };
        if (typeof b.anchor === 'string') {
          const named = all.find((other) => other.name === b.anchor);
          if (!named) throw new Error(`bench/${file}: anchor '${b.anchor}' is not a benchmark of this file`);
          anchor = { name: named.name, unit: named.unit, value: await figure(named) };
        } else {
          anchor = { name: b.anchor.name, unit: b.anchor.unit ?? b.unit, value: await b.anchor.run() };
        }
        line += `   anchor ${anchor.name}: ${formatFigure(anchor.value)} ${anchor.unit}`;
        if (anchor.unit === b.unit) line += ` (ratio ${(value / anchor.value).toFixed(2)})`;
      }
      if (b.goal !== undefined) line += `   goal < ${b.goal}: ${value < b.goal ? 'met' : 'NOT met'}`;
      console.log(line);
    } catch (err) {
      failures++;
      const message = err instanceof Error ? err.message : String(err);
      console.log(`${b.name.padEnd(width)}  FAILED: ${message.split('\n')[0]}`);
    }
  }
  return failures;
}

async function main(): Promise<void> {
  // Bench files read their own options from argv when run alone; the filter is not one of them.
  const filter = process.argv[2];
  process.argv.splice(2);
  const { found, broken } = discover(filter);
  for (const file of broken) console.log(`bench/${file}: FAILED: exports no \`benchmarks\` array`);
  if (found.length === 0 && broken.length === 0) {
    console.log(filter ? `no benchmark matches '${filter}'` : 'no bench/*.bench.ts files');
  }
  const width = Math.max(0, ...found.flatMap((f) => f.benchmarks.map((b) => b.name.length)));
  let failures = broken.length;
  for (const file of found) {
    console.log(`# bench/${file.file}`);
    const all = (require(path.join(__dirname, file.file)) as { benchmarks: Benchmark[] }).benchmarks;
    failures += await runFile(file, all, width);
  }
  if (failures || found.length === 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
