// Domain start and stop on the real QEMU, against launching the same QEMU by hand.
//
// create: `dom.create()` of a small q35 domain (virtio NIC, serial pty; KVM when /dev/kvm
// opens, else TCG) under qemu:///embed in a temp dir, from the call until it resolves with the
// domain running. That covers the lock, the command line, the log, the spawn with -S, the QMP
// handshake, the pty lookup, `cont` and the status file.
// Anchor: the same argv (read back from the first start's /proc/PID/cmdline, same environment)
// spawned by hand into a prepared directory, a QMP connection with retries, qmp_capabilities,
// `cont`, and `query-status` until running. Goal: within 1.3x of the anchor.
// destroy: `dom.destroy()` of the running domain until it resolves (SIGTERM, QEMU's exit, log
// line, cleanup). Goal: under 50 ms.
// Samples alternate (create, destroy, manual launch + kill) for ROUNDS rounds after a warm-up.
//
// Run: npm run bench -- lifecycle
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Connect } from '../src/connect';
import { Domain } from '../src/domain';
import { QemuMonitor } from '../src/drivers/qemu/monitor';
import { median, type Benchmark } from './timing';

const ROUNDS = 15;
const WARMUP = 2;

function virtType(): string {
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
    return 'kvm';
  } catch {
    return 'qemu';
  }
}

const XML = `<domain type='${virtType()}'>
  <name>benchvm</name>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <interface type='user'><mac address='52:54:00:00:be:01'/><model type='virtio'/></interface>
    <serial type='pty'/>
  </devices>
</domain>`;

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

interface Figures {
  create: number[];
  destroy: number[];
  manual: number[];
}

/** The same QEMU, started by hand: spawn, QMP with retries, capabilities, cont, running. */
async function manualLaunch(argv: string[], env: NodeJS.ProcessEnv, domainDir: string, monitorPath: string): Promise<number> {
  fs.rmSync(domainDir, { recursive: true, force: true });
  fs.mkdirSync(domainDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(domainDir, 'master-key.aes'), randomBytes(32), { mode: 0o600 });
  const start = process.hrtime.bigint();
  const child = spawn(argv[0], argv.slice(1), { env, stdio: 'ignore', detached: true });
  const exited = new Promise((r) => child.once('exit', r));
  const monitor = await QemuMonitor.open(monitorPath, { timeoutMs: 30_000 });
  await monitor.command('cont');
  for (;;) {
    const status = (await monitor.command('query-status')) as { status: string };
    if (status.status === 'running') break;
  }
  const took = ms(start);
  monitor.close();
  child.kill('SIGKILL');
  await exited;
  return took;
}

let figures: Promise<Figures> | null = null;

function measure(): Promise<Figures> {
  figures ??= (async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vn-bench-life-'));
    const conn = await Connect.open(`qemu:///embed?root=${root}`);
    try {
      const dom = await Domain.defineXML(conn, XML);
      // The argv and environment of a real start, for the hand launch.
      await dom.create();
      const pid = fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .find((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`guest=benchvm`) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(root);
          } catch {
            return false;
          }
        });
      if (!pid) throw new Error('cannot find the started QEMU');
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
      const env = Object.fromEntries(
        fs
          .readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      await dom.destroy();
      const domainDir = path.join(root, 'manual');
      // Same argv, its private files moved to a directory of the hand launch.
      const liveDir = argv.find((a) => a.includes('/master-key.aes'))!.match(/"file":"([^"]+)\/master-key.aes"/)![1];
      const manualArgv = argv.map((a) => a.split(liveDir).join(domainDir));
      const monitorPath = path.join(domainDir, 'monitor.sock');

      const out: Figures = { create: [], destroy: [], manual: [] };
      for (let round = 0; round < WARMUP + ROUNDS; round++) {
        let t = process.hrtime.bigint();
        await dom.create();
        const create = ms(t);
        t = process.hrtime.bigint();
        await dom.destroy();
        const destroy = ms(t);
        const manual = await manualLaunch(manualArgv, env, domainDir, monitorPath);
        if (round < WARMUP) continue;
        out.create.push(create);
        out.destroy.push(destroy);
        out.manual.push(manual);
      }
      await dom.undefine();
      return out;
    } finally {
      await conn.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  })();
  return figures;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'qemu launch by hand until running (same argv)',
    unit: 'ms (median)',
    run: async () => median((await measure()).manual),
  },
  {
    name: 'dom.create() until running',
    unit: 'ms (median)',
    anchor: 'qemu launch by hand until running (same argv)',
    run: async () => median((await measure()).create),
  },
  {
    name: 'dom.destroy()',
    unit: 'ms (median)',
    goal: 50,
    run: async () => median((await measure()).destroy),
  },
];
