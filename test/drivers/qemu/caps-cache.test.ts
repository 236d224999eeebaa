import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import {
  FLAGS_RETIRED_IN_LIBVIRT_9_0,
  ProbePeer,
  probeQemuCaps,
  QemuAccel,
} from '../../../src/drivers/qemu/capabilities';
import { QemuMonitor } from '../../../src/drivers/qemu/monitor';
import {
  probeArgs,
  probeQemuBinary,
  QemuCapsCache,
  spawnProbeProcess,
} from '../../../src/drivers/qemu/caps-cache';
import { VirError } from '../../../src/error';

const QEMU = '/usr/bin/qemu-system-x86_64';
const capsDir = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'libvirt-9.0-tests', 'qemucapabilitiesdata');

describe('drivers/qemu/caps-cache: probing a real QEMU binary', function () {
  let tmp: string;
  const spawned: { binary: string; accel: QemuAccel }[] = [];
  const countingOpener = (binary: string, accel: QemuAccel): Promise<ProbePeer> => {
    spawned.push({ binary, accel });
    return spawnProbeProcess(binary, accel);
  };

  before(function () {
    if (!fs.existsSync(QEMU)) {
      console.log(`      (skipped: ${QEMU} missing; install the Debian package qemu-system-x86)`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-capscache-'));
  });

  let setModuleDir = false;
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (setModuleDir) delete process.env.QEMU_MODULE_DIR;
  });

  it('starts QEMU the way libvirt probes it', () => {
    assert.deepEqual(probeArgs('/run/x/qmp.monitor', 'tcg'), [
      '-S', '-no-user-config', '-nodefaults', '-nographic', '-machine', 'none', '-accel', 'tcg',
      '-qmp', 'unix:/run/x/qmp.monitor,server=on,wait=off',
    ]);
  });

  it('probes version 7.2, machine aliases, failover and the flags libvirt has for QEMU 7.2', async () => {
    const cacheDir = path.join(tmp, 'cache');
    const caps = await probeQemuBinary(QEMU, { cacheDir, openPeer: countingOpener });
    assert.ok(caps.version >= 7002000 && caps.version < 7003000, String(caps.version));
    assert.match(caps.package, /7\.2/);
    assert.equal(caps.arch, 'x86_64');
    const virtType = caps.has('kvm') ? 'kvm' : 'qemu';
    assert.equal(spawned.length, caps.has('kvm') ? 2 : 1);
    assert.deepEqual(
      spawned.map((s) => s.accel),
      caps.has('kvm') ? ['kvm', 'tcg'] : ['kvm'],
    );
    assert.match(caps.canonicalMachine(virtType, 'pc'), /^pc-i440fx-7\.2$/);
    assert.match(caps.canonicalMachine(virtType, 'q35'), /^pc-q35-7\.2$/);
    assert.equal(caps.defaultMachine(virtType)?.alias, 'pc');
    assert.equal(caps.defaultMachine('qemu')?.alias, 'pc');
    assert.equal(caps.hasDeviceProp('virtio-net-pci', 'failover'), true);
    assert.equal(caps.has('virtio-net.failover'), true);
    assert.equal(caps.has('device.json+hotplug'), true);
    assert.equal(caps.has('tcg'), true);
    // Debian's QEMU 7.2 is the binary libvirt recorded caps_7.2.0 from, give or take KVM.
    const digest = fs.readFileSync(path.join(capsDir, 'caps_7.2.0.x86_64.xml'), 'utf8');
    const expected = [...digest.matchAll(/<flag name='([^']+)'/g)].map((m) => m[1]).filter((f) => f !== 'kvm');
    const ours = [...caps.flags].filter((f) => f !== 'kvm' && !FLAGS_RETIRED_IN_LIBVIRT_9_0.includes(f));
    assert.deepEqual(ours.sort(), expected.sort());
    const entries = fs.readdirSync(cacheDir);
    assert.equal(entries.length, 1, 'one cache entry, no temp file left behind');
    assert.match(entries[0], /^[0-9a-f]{64}\.json$/);
  });

  it('answers the second lookup from the cache without starting QEMU', async () => {
    const cacheDir = path.join(tmp, 'cache');
    const before = spawned.length;
    const started = process.hrtime.bigint();
    const caps = await probeQemuBinary(QEMU, { cacheDir, openPeer: countingOpener });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(spawned.length, before);
    assert.equal(caps.hasDeviceProp('virtio-net-pci', 'failover'), true);
    assert.ok(elapsedMs < 200, `cache hit took ${elapsedMs} ms`);
  });

  it('probes again when the binary changes (mtime) and when the entry is damaged', async () => {
    const cacheDir = path.join(tmp, 'cache2');
    const copy = path.join(tmp, 'qemu-system-x86_64');
    // A copied QEMU looks for its modules (TCG is one) next to itself unless told where they are.
    const moduleDir = '/usr/lib/x86_64-linux-gnu/qemu';
    if (fs.existsSync(moduleDir) && process.env.QEMU_MODULE_DIR === undefined) {
      process.env.QEMU_MODULE_DIR = moduleDir;
      setModuleDir = true;
    }
    fs.copyFileSync(QEMU, copy);
    fs.chmodSync(copy, 0o755);
    const past = new Date('2024-01-02T03:04:05Z');
    fs.utimesSync(copy, past, past);

    const first = spawned.length;
    const caps = await probeQemuBinary(copy, { cacheDir, openPeer: countingOpener });
    assert.equal(caps.data.binary, copy);
    const perProbe = spawned.length - first;
    assert.ok(perProbe >= 1);
    await probeQemuBinary(copy, { cacheDir, openPeer: countingOpener });
    assert.equal(spawned.length, first + perProbe, 'unchanged binary: cache hit');

    const later = new Date('2025-01-02T03:04:05Z');
    fs.utimesSync(copy, later, later);
    await probeQemuBinary(copy, { cacheDir, openPeer: countingOpener });
    assert.equal(spawned.length, first + 2 * perProbe, 'new mtime: probed again');
    assert.ok(spawned.slice(first).every((s) => s.binary === copy));

    const [entry] = fs.readdirSync(cacheDir);
    fs.writeFileSync(path.join(cacheDir, entry), '{"format": 1, "trunc');
    const again = await probeQemuBinary(copy, { cacheDir, openPeer: countingOpener });
    assert.equal(spawned.length, first + 3 * perProbe, 'damaged entry: probed again');
    assert.equal(again.has('tcg'), true);
    assert.equal(JSON.parse(fs.readFileSync(path.join(cacheDir, entry), 'utf8')).binary, copy);
  });

  it("reports a missing binary as libvirt does", async () => {
    await assert.rejects(probeQemuBinary(path.join(tmp, 'nope'), { cacheDir: path.join(tmp, 'c3') }), (err: unknown) => {
      assert.ok(err instanceof VirError);
      assert.equal(err.code, 38);
      assert.equal(err.domain, 10);
      assert.equal(err.message, `Cannot check QEMU binary ${path.join(tmp, 'nope')}: No such file or directory`);
      return true;
    });
  });

  it('reports a binary that is not QEMU as a failed QMP probe, as soon as it exits', async () => {
    const started = Date.now();
    await assert.rejects(probeQemuBinary('/bin/false', { cacheDir: path.join(tmp, 'c4') }), (err: unknown) => {
      assert.ok(err instanceof VirError);
      assert.equal(err.code, 1);
      assert.equal(err.message, 'internal error: Failed to probe QEMU binary with QMP: QEMU exited with status 1');
      return true;
    });
    assert.ok(Date.now() - started < 5000, 'gave up on exit, not after the 30 s monitor timeout');
  });

  it("takes the driver's native monitor as the probe transport too", async () => {
    const children: ReturnType<typeof spawn>[] = [];
    const open = async (accel: QemuAccel): Promise<ProbePeer> => {
      const socket = path.join(tmp, `native-${accel}.sock`);
      const child = spawn(QEMU, probeArgs(socket, accel), { stdio: 'ignore' });
      children.push(child);
      // QemuMonitor negotiates on open; the prober's own qmp_capabilities is then refused and skipped.
      const monitor = await QemuMonitor.open(socket, { timeoutMs: 10_000 });
      return {
        command: (name, args) => monitor.command(name, args),
        close: async () => {
          monitor.close();
          child.kill('SIGKILL');
        },
      };
    };
    try {
      const viaMonitor = await probeQemuCaps(open, QEMU);
      const viaCache = await probeQemuBinary(QEMU, { cacheDir: path.join(tmp, 'cache') });
      assert.deepEqual([...viaMonitor.flags].sort(), [...viaCache.flags].sort());
      assert.deepEqual(viaMonitor.machines('qemu'), viaCache.machines('qemu'));
      assert.equal(viaMonitor.version, viaCache.version);
    } finally {
      for (const child of children) child.kill('SIGKILL');
    }
  });

  it('keeps capabilities in memory, sharing one probe between concurrent lookups', async () => {
    const cache = new QemuCapsCache({ cacheDir: path.join(tmp, 'cache5'), openPeer: countingOpener });
    const before = spawned.length;
    const [a, b] = await Promise.all([cache.lookup(QEMU), cache.lookup(QEMU)]);
    assert.equal(a, b);
    const perProbe = spawned.length - before;
    assert.ok(perProbe >= 1 && perProbe <= 2);
    assert.equal(await cache.lookup(QEMU), a);
    assert.equal(spawned.length, before + perProbe);
    await assert.rejects(cache.lookup(path.join(tmp, 'nope')), { code: 38 });
  });
});
