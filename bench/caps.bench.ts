// QEMU capabilities: what a caller pays to get a QemuCaps, and what rendering a command costs.
//   - probe of libvirt's recorded caps_8.0.0 conversation (parse + the whole QMP dialogue)
//   - a disk-cache hit (stat + read + JSON parse of the entry)
//   - an in-memory hit of QemuCapsCache (one stat)
//   - Command.toString of a libvirt x86_64-latest command line (multi-line form)
// Each is timed as the median of ROUNDS batches of N calls (per-call mean within a batch).
//
// Run: npx tsx bench/caps.bench.ts
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QemuCapsCache, probeQemuBinary } from '../src/drivers/qemu/caps-cache';
import { capsFromRepliesFile } from '../src/drivers/qemu/replies';
import { Command } from '../src/util/command';
import { splitEnvAndArgv, splitShellWords } from '../test/support/shell-words';

const ROUNDS = 7;
const shared = path.resolve(__dirname, '..', '..', 'shared', 'libvirt-9.0-tests');
const REPLIES = path.join(shared, 'qemucapabilitiesdata', 'caps_8.0.0.x86_64.replies');
const ARGS = path.join(shared, 'qemuxml2argvdata', 'user-aliases.x86_64-latest.args');
const QEMU = '/usr/bin/qemu-system-x86_64';

export interface Benchmark {
  name: string;
  unit: string;
  run(): Promise<number>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function perCallMicros(n: number, fn: () => unknown): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    rounds.push(Number(process.hrtime.bigint() - start) / 1e3 / n);
  }
  return median(rounds);
}

function commandFromArgs(): Command {
  const { env, argv } = splitEnvAndArgv(splitShellWords(fs.readFileSync(ARGS, 'utf8')));
  const cmd = new Command(argv[0]);
  for (const [name, value] of env) cmd.addEnv(name, value);
  return cmd.addArgs(...argv.slice(1));
}

export const benchmarks: Benchmark[] = [
  {
    name: 'probe caps_8.0.0.x86_64.replies through the fake QMP peer',
    unit: 'µs/probe (median)',
    run: () => perCallMicros(5, () => capsFromRepliesFile(REPLIES)),
  },
  {
    name: `probeQemuBinary(${QEMU}) disk-cache hit`,
    unit: 'µs/lookup (median)',
    run: async () => {
      const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-bench-caps-'));
      try {
        await probeQemuBinary(QEMU, { cacheDir });
        return await perCallMicros(50, () => probeQemuBinary(QEMU, { cacheDir }));
      } finally {
        fs.rmSync(cacheDir, { recursive: true, force: true });
      }
    },
  },
  {
    name: `QemuCapsCache.lookup(${QEMU}) in-memory hit`,
    unit: 'µs/lookup (median)',
    run: async () => {
      const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-bench-caps-'));
      try {
        const cache = new QemuCapsCache({ cacheDir });
        await cache.lookup(QEMU);
        return await perCallMicros(2000, () => cache.lookup(QEMU));
      } finally {
        fs.rmSync(cacheDir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'Command.toString({ linebreaks: true }) of user-aliases.x86_64-latest (61 lines)',
    unit: 'µs/call (median)',
    run: async () => {
      const cmd = commandFromArgs();
      return perCallMicros(20000, () => cmd.toString({ linebreaks: true }));
    },
  },
];

async function main(): Promise<void> {
  for (const b of benchmarks) {
    if (b.name.includes(QEMU) && !fs.existsSync(QEMU)) {
      console.log(`${b.name}: skipped (install the Debian package qemu-system-x86)`);
      continue;
    }
    console.log(`${b.name}: ${(await b.run()).toFixed(2)} ${b.unit}`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
