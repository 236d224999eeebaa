// conf/domain: parse + format of a 3 KB domain with 15+ devices, and heap flatness over
// 100,000 parse+format iterations.
//
// What is measured: batches of BATCH parse+format calls, timed with process.hrtime; the per-call
// time of each batch is a sample and the median over ROUNDS batches is reported (after a warm-up
// batch). The memory check forces full GCs before and after 100,000 iterations and reports the heap
// growth in KiB.
//
// Run: npx tsx bench/conf.bench.ts   (or through bench/run.ts, which imports `benchmarks`)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { formatDomainXML, parseDomainXML } from '../src/conf/domain';
import { VIR_DOMAIN_XML_INACTIVE } from '../src/constants';
import { type Benchmark, median } from './timing';

const XML = readFileSync(path.join(__dirname, '..', 'test', 'data', 'domain', 'bench-15-devices.xml'), 'utf8');
const BATCH = 2000;
const ROUNDS = 15;
const ITERATIONS = 100_000;


function roundTrip(): string {
  return formatDomainXML(parseDomainXML(XML, { userAliases: true }), VIR_DOMAIN_XML_INACTIVE);
}

/**
 * Per-call milliseconds of each timed batch: wall clock, and the process's CPU time (user+system,
 * all threads, so GC helper threads count too), which is less disturbed by other load on the host.
 */
export function parseFormatSamples(): { wall: number[]; cpu: number[] } {
  for (let i = 0; i < BATCH; i++) roundTrip();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    for (let i = 0; i < BATCH; i++) roundTrip();
    const used = process.cpuUsage(cpuStart);
    wall.push(Number(process.hrtime.bigint() - start) / 1e6 / BATCH);
    cpu.push((used.user + used.system) / 1e3 / BATCH);
  }
  return { wall, cpu };
}

/** The anchor: a JSON round trip of the same document's lines, timed the same way. */
function anchorSamples(): number[] {
  const lines = XML.split('\n');
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) JSON.parse(JSON.stringify(lines));
    samples.push(Number(process.hrtime.bigint() - start) / 1e6 / BATCH);
  }
  return samples;
}

/** A full GC, also when node was started without --expose-gc. */
function collect(): void {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
  gc();
}

/** Heap used (KiB) before and after ITERATIONS parse+format calls. */
export function heapFlatness(): { before: number; after: number; growth: number } {
  for (let i = 0; i < 1000; i++) roundTrip();
  collect();
  const before = process.memoryUsage().heapUsed / 1024;
  for (let i = 0; i < ITERATIONS; i++) roundTrip();
  collect();
  const after = process.memoryUsage().heapUsed / 1024;
  return { before, after, growth: after - before };
}

export const benchmarks: Benchmark[] = [
  {
    name: `parseDomainXML + formatDomainXML, ${XML.length} bytes, 15+ devices`,
    unit: 'ms/call (median, wall clock)',
    run: async () => median(parseFormatSamples().wall),
    anchor: { name: 'JSON round trip of its lines', run: async () => median(anchorSamples()) },
    goal: 0.15,
  },
  {
    name: `parseDomainXML + formatDomainXML, ${XML.length} bytes, 15+ devices, CPU time`,
    unit: 'ms/call (median, process CPU time)',
    run: async () => median(parseFormatSamples().cpu),
  },
  {
    name: `heap growth over ${ITERATIONS} parse+format calls, after full GCs (flat = near 0)`,
    unit: 'KiB',
    run: async () => heapFlatness().growth,
  },
];

if (require.main === module) {
  const { wall, cpu } = parseFormatSamples();
  console.log(
    `parse+format ${XML.length} bytes: wall median ${median(wall).toFixed(4)} ms/call (min ${Math.min(...wall).toFixed(4)}, max ${Math.max(...wall).toFixed(4)}), CPU median ${median(cpu).toFixed(4)} ms/call`,
  );
  const heap = heapFlatness();
  console.log(
    `heap before ${heap.before.toFixed(0)} KiB, after ${ITERATIONS} iterations ${heap.after.toFixed(0)} KiB, growth ${heap.growth.toFixed(0)} KiB`,
  );
}
