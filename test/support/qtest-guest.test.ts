// The qtest stand-in for a guest (test/support/qtest-guest.ts) against the real qemu-system-x86_64:
// it completes a device_del with an ACPI eject, and negotiates failover on a virtio-net standby so
// that QEMU plugs the hidden primary, both with vCPUs paused (-S) and running SeaBIOS after cont.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { QemuMonitor, type QemuMonitorEvent } from '../../src/drivers/qemu/monitor';
import { QtestGuest } from './qtest-guest';

const QEMU = '/usr/bin/qemu-system-x86_64';
const MAC = '52:54:00:6b:3c:58';

interface Machine {
  proc: ChildProcess;
  guest: QtestGuest;
  monitor: QemuMonitor;
  exited: Promise<void>;
}

function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Resolves with the first event called `name` (matching `filter`), or fails after `timeoutMs`. */
function nextEvent(
  monitor: QemuMonitor,
  name: string,
  filter: (event: QemuMonitorEvent) => boolean = () => true,
  timeoutMs = 5000,
): Promise<QemuMonitorEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      monitor.removeEventListener(listener);
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (event: QemuMonitorEvent) => {
      if (event.event !== name || !filter(event)) return;
      clearTimeout(timer);
      monitor.removeEventListener(listener);
      resolve(event);
    };
    monitor.addEventListener(listener);
  });
}

async function peripherals(monitor: QemuMonitor): Promise<Map<string, string>> {
  const children = (await monitor.command('qom-list', { path: '/machine/peripheral' })) as Array<{ name: string; type: string }>;
  return new Map(children.filter((child) => child.type.startsWith('child<')).map((child) => [child.name, child.type]));
}

describe('QtestGuest: a fake guest on QEMU’s qtest socket', function () {
  this.timeout(20000);
  let dir: string;
  const machines = new Set<Machine>();
  const strays = new Set<ChildProcess>();

  before(function () {
    if (!fs.existsSync(QEMU)) {
      console.log(`      skipped: ${QEMU} not found; install the Debian package qemu-system-x86`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-qtest-'));
  });

  afterEach(async function () {
    for (const machine of machines) await stop(machine);
    machines.clear();
    for (const proc of strays) {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGKILL');
        await exited;
      }
    }
    strays.clear();
  });

  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a paused q35 with root ports root0..root2, `extra` options and the guest connected. */
  async function start(extra: string[] = []): Promise<Machine> {
    const guest = await QtestGuest.listen(dir);
    const qmpSocket = path.join(dir, `qmp-${machines.size}-${Date.now()}.sock`);
    const args = ['-M', 'q35', '-accel', 'tcg', '-nodefaults', '-S', '-display', 'none', '-m', '128'];
    for (let n = 0; n < 3; n++) args.push('-device', `pcie-root-port,id=root${n},chassis=${n + 1}`);
    args.push(...extra, '-qmp', `unix:${qmpSocket},server=on,wait=off`, ...guest.qemuArgs());
    const proc = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    strays.add(proc);
    try {
      // QEMU connects to the qtest socket while it starts, before its monitor exists.
      await guest.waitConnected(10000);
      const monitor = await QemuMonitor.open(qmpSocket, { timeoutMs: 10000 });
      const machine = { proc, guest, monitor, exited };
      machines.add(machine);
      strays.delete(proc);
      return machine;
    } catch (err) {
      await guest.close();
      throw new Error(`QEMU did not come up: ${(err as Error).message}\n${stderr}`);
    }
  }

  async function stop(machine: Machine): Promise<void> {
    machine.monitor.close();
    await machine.guest.close();
    if (machine.proc.exitCode === null && machine.proc.signalCode === null) machine.proc.kill('SIGKILL');
    await machine.exited;
  }

  async function cont(machine: Machine): Promise<void> {
    await machine.monitor.command('cont');
    const status = (await machine.monitor.command('query-status')) as { status: string };
    assert.equal(status.status, 'running');
  }

  it('is connected to by QEMU at startup and answers raw qtest commands', async function () {
    const { guest, monitor } = await start();
    // Config address of 00:00.0 register 0, then the data port: the q35 host bridge's ids.
    await guest.out(0xcf8, 4, 0x80000000);
    assert.equal(await guest.in(0xcfc, 4), 0x29c08086);
    assert.equal(await guest.command('outl 0xcf8 0x80000000'), '');
    await assert.rejects(guest.command('frobnicate 1'), /qtest 'frobnicate 1': FAIL Unknown command 'frobnicate'/);
    // A FAIL spoils only its own command.
    assert.equal(await guest.command('inw 0xcfc'), '0x8086');
    await assert.rejects(guest.out(0xcf8, 4, -1), RangeError);
    assert.equal(((await monitor.command('query-status')) as { status: string }).status, 'prelaunch');
    // QEMU outlives the guest's connection.
    await guest.close();
    await assert.rejects(guest.command('inb 0x80'), /qtest guest closed/);
    assert.equal(((await monitor.command('query-status')) as { status: string }).status, 'prelaunch');
  });

  it('completes device_del of an e1000e on a root port with an ACPI eject under -S', async function () {
    const { guest, monitor } = await start();
    await monitor.command('device_add', { driver: 'e1000e', id: 'nic1', bus: 'root1', mac: MAC, romfile: '' });
    await monitor.command('device_del', { id: 'nic1' });
    assert.ok((await peripherals(monitor)).has('nic1'), 'without a guest, device_del only asks');
    await assert.rejects(monitor.command('device_del', { id: 'nic1' }), /Device nic1 is already in the process of unplug/);

    const deleted = nextEvent(monitor, 'DEVICE_DELETED', (event) => event.data?.device === 'nic1');
    await guest.ejectDevice(monitor, 'nic1');
    const event = await deleted;
    assert.deepEqual(event.data, { device: 'nic1', path: '/machine/peripheral/nic1' });
    const left = await peripherals(monitor);
    assert.ok(!left.has('nic1'), `nic1 is gone: ${[...left.keys()]}`);
    assert.ok(left.has('root1'), 'its root port stays');
  });

  it('ejects by port and slot after cont, with SeaBIOS running, on a bus whose selector is not 0', async function () {
    const machine = await start();
    const { guest, monitor } = machine;
    await cont(machine);
    await monitor.command('device_add', { driver: 'virtio-net-pci', id: 'nic2', bus: 'root0', mac: MAC, romfile: '' });
    // QEMU numbers ACPI hotplug buses newest bridge first: root0 is not selector 0 here.
    const bsel = await monitor.command('qom-get', { path: '/machine/peripheral/root0/root0', property: 'acpi-pcihp-bsel' });
    assert.notEqual(bsel, 0);
    await monitor.command('device_del', { id: 'nic2' });
    assert.ok((await peripherals(monitor)).has('nic2'));

    const deleted = nextEvent(monitor, 'DEVICE_DELETED', (event) => event.data?.device === 'nic2');
    await guest.ejectPciSlot(monitor, 'root0', 0);
    assert.equal((await deleted).data?.path, '/machine/peripheral/nic2');
    assert.ok(!(await peripherals(monitor)).has('nic2'));
  });

  const failoverDevices = [
    '-netdev', 'user,id=hostnet0',
    '-netdev', 'user,id=hostnet1',
    '-netdev', 'user,id=hostnet2',
    '-device', `virtio-net-pci,id=standby0,netdev=hostnet0,failover=on,bus=root0,mac=${MAC},romfile=`,
    '-device', `e1000e,id=primary0,netdev=hostnet1,failover_pair_id=standby0,bus=root1,mac=${MAC},romfile=`,
    '-device', 'virtio-net-pci,id=plain0,netdev=hostnet2,bus=root2,mac=52:54:00:6b:3c:59,romfile=',
  ];

  async function checkFailover(machine: Machine): Promise<void> {
    const { guest, monitor } = machine;
    assert.ok(!(await peripherals(monitor)).has('primary0'), 'the primary is hidden until negotiation');
    const negotiated = nextEvent(monitor, 'FAILOVER_NEGOTIATED');
    await guest.negotiateFailover(monitor, 'standby0');
    assert.deepEqual((await negotiated).data, { 'device-id': 'standby0' });
    const devices = await peripherals(monitor);
    assert.equal(devices.get('primary0'), 'child<e1000e>', `the primary is plugged: ${[...devices.keys()]}`);
    assert.equal(await monitor.command('qom-get', { path: '/machine/peripheral/primary0', property: 'mac' }), MAC);
  }

  it('negotiates failover under -S: FAILOVER_NEGOTIATED for the standby, the primary appears', async function () {
    await checkFailover(await start(failoverDevices));
  });

  it('negotiates failover after cont, with the firmware having set up PCI', async function () {
    const machine = await start(failoverDevices);
    await cont(machine);
    await checkFailover(machine);
    // The plugged primary unplugs like any hotplugged device.
    await machine.monitor.command('device_del', { id: 'primary0' });
    const deleted = nextEvent(machine.monitor, 'DEVICE_DELETED', (event) => event.data?.device === 'primary0');
    await machine.guest.ejectDevice(machine.monitor, 'primary0');
    await deleted;
  });

  it('refuses to negotiate on a virtio-net without failover=on, and QEMU plugs nothing', async function () {
    const { guest, monitor } = await start(failoverDevices);
    const events: string[] = [];
    monitor.addEventListener((event) => events.push(event.event));
    await assert.rejects(guest.negotiateFailover(monitor, 'plain0'), /'plain0' does not offer VIRTIO_NET_F_STANDBY/);
    await monitor.command('query-status'); // any event QEMU had sent would have arrived by now
    assert.deepEqual(events, []);
    assert.ok(!(await peripherals(monitor)).has('primary0'));
  });

  it('powers the machine off through ACPI once the firmware has set the PM base', async function () {
    const machine = await start();
    await cont(machine);
    const shutdown = nextEvent(machine.monitor, 'SHUTDOWN');
    await machine.guest.acpiPowerOff(machine.monitor);
    assert.deepEqual((await shutdown).data, { guest: true, reason: 'guest-shutdown' });
    await machine.exited; // without -no-shutdown, QEMU exits
  });

  it('fails pending commands when QEMU dies, and closes without leaking descriptors', async function () {
    const baseline = openFdCount();
    const guest = await QtestGuest.listen(dir);
    assert.ok(fs.existsSync(guest.socketPath));
    const proc = spawn(QEMU, ['-M', 'none', '-accel', 'tcg', '-nodefaults', '-S', '-display', 'none', ...guest.qemuArgs()], {
      stdio: 'ignore',
    });
    strays.add(proc);
    await guest.waitConnected(10000);
    assert.ok(!fs.existsSync(guest.socketPath), 'the listening socket goes once QEMU is connected');
    assert.equal(await guest.command('outb 0x80 0x1'), '');
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
    await assert.rejects(guest.command('inb 0x80'), /qtest connection closed by QEMU/);
    await guest.close();
    await guest.close();
    assert.equal(openFdCount(), baseline);
  });

  it('does not keep the process alive when a test forgets to close it', function () {
    const script = `require('./test/support/qtest-guest').QtestGuest.listen(${JSON.stringify(dir)}).then(() => console.log('listening'))`;
    const result = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
      cwd: path.resolve(__dirname, '..', '..'),
      encoding: 'utf8',
      timeout: 15000,
    });
    assert.equal(result.signal, null, 'the process exited by itself');
    assert.equal(result.stdout.trim(), 'listening');
  });

  it('gives up waiting for a QEMU that never connects, and removes its socket on close', async function () {
    const guest = await QtestGuest.listen(dir);
    await assert.rejects(guest.waitConnected(50), /QEMU did not connect to .* within 50 ms/);
    const pending = guest.command('inb 0x80');
    await guest.close();
    await assert.rejects(pending, /qtest guest closed/);
    assert.ok(!fs.existsSync(guest.socketPath));
  });
});
