// The command lines virtnode builds are accepted by the real QEMU: for golden domains that need no
// host resources, plus a teaming member with failover on, start qemu-system-x86_64 with the
// generated argv (-S kept, the monitor on a real QMP socket instead of libvirt's passed fd) and
// look at the running process over QMP.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { QemuCaps } from '../../../src/drivers/qemu/capabilities';
import { probeQemuBinary } from '../../../src/drivers/qemu/caps-cache';
import { buildCommandLine } from '../../../src/drivers/qemu/command';
import { QemuMonitor } from '../../../src/drivers/qemu/monitor';
import { qemuParseDomainXML } from '../../../src/drivers/qemu/postparse';

const QEMU = '/usr/bin/qemu-system-x86_64';
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const argvDir = path.resolve(repoRoot, '..', 'shared', 'libvirt-9.0-tests', 'qemuxml2argvdata');

const TEAMING_XML = `<domain type='qemu'>
  <name>teaming</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
  </os>
  <devices>
    <interface type='user'>
      <mac address='00:11:22:33:44:55'/>
      <model type='virtio'/>
      <teaming type='persistent'/>
      <alias name='ua-backup0'/>
    </interface>
    <serial type='pty'/>
    <memballoon model='virtio'/>
  </devices>
</domain>`;

interface PciDevice {
  slot: number;
  function: number;
  qdev_id: string;
  id: { vendor: number; device: number };
}

class RunningQemu {
  constructor(
    readonly child: ChildProcess,
    readonly qmp: QemuMonitor,
    readonly stderr: () => string,
  ) {}

  async pciDevices(): Promise<PciDevice[]> {
    const buses = (await this.qmp.command('query-pci')) as Array<{ devices: PciDevice[] }>;
    return buses.flatMap((b) => b.devices);
  }

  async stop(): Promise<void> {
    this.qmp.close();
    if (this.child.exitCode === null && this.child.pid !== undefined) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      process.kill(this.child.pid, 'SIGTERM');
      await exited;
    }
  }
}

async function startDomain(xml: string, caps: QemuCaps, dir: string): Promise<RunningQemu> {
  const def = qemuParseDomainXML(xml, caps);
  const libDir = path.join(dir, def.name);
  fs.mkdirSync(libDir, { recursive: true });
  fs.writeFileSync(path.join(libDir, 'master-key.aes'), randomBytes(32), { mode: 0o600 });
  const monitor = path.join(libDir, 'monitor.sock');
  const cmd = buildCommandLine(def, caps, { libDir, monitorPath: monitor, id: 1 });
  const child = spawn(cmd.binary, cmd.args, { env: Object.fromEntries(cmd.env), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new AbortController();
  child.once('exit', () => exited.abort());
  try {
    const qmp = await QemuMonitor.open(monitor, { timeoutMs: 15000, signal: exited.signal });
    return new RunningQemu(child, qmp, () => stderr);
  } catch (err) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw new Error(`QEMU did not come up: ${(err as Error).message}\n${stderr}\n${cmd.toString({ linebreaks: true })}`);
  }
}

describe('real QEMU accepts the generated command line', function () {
  this.timeout(60000);
  let caps: QemuCaps;
  let dir: string;

  before(async function () {
    if (!fs.existsSync(QEMU)) {
      this.skip(); // needs the Debian package qemu-system-x86
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-qemu-'));
    caps = await probeQemuBinary(QEMU, { cacheDir: path.join(dir, 'caps') });
  });

  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const golden: Array<[string, (q: RunningQemu) => Promise<void>]> = [
    ['machine-smm-on', async (q) => {
      const devs = await q.pciDevices();
      assert.ok(devs.length > 0, 'q35 has its built-in PCI devices');
    }],
    ['q35-default-devices-only', async (q) => {
      const ids = (await q.pciDevices()).map((d) => d.qdev_id);
      for (const id of ['pci.1', 'pci.2', 'pci.3']) assert.ok(ids.includes(id), `root port ${id} present`);
      const props = (await q.qmp.command('qom-list', { path: '/machine/peripheral/usb' })) as Array<{ name: string }>;
      assert.ok(props.some((p) => p.name === 'type'), 'the qemu-xhci controller exists');
    }],
    ['controller-usb-order', async (q) => {
      const devs = await q.pciDevices();
      const usb = devs.filter((d) => d.slot === 6).map((d) => d.function).sort();
      assert.deepEqual(usb, [0, 7], 'UHCI companion and EHCI master share slot 6');
      assert.ok(devs.some((d) => d.qdev_id === 'usb1' && d.slot === 10));
    }],
    ['video-qxl-sec-device-vram64', async (q) => {
      const ids = (await q.pciDevices()).map((d) => d.qdev_id);
      assert.ok(ids.includes('video0') && ids.includes('video1'), `both QXL devices: ${ids}`);
    }],
  ];

  for (const [name, check] of golden) {
    it(`${name}: starts paused with its devices`, async function () {
      const file = path.join(argvDir, `${name}.xml`);
      if (!fs.existsSync(file)) this.skip();
      const q = await startDomain(fs.readFileSync(file, 'utf8'), caps, dir);
      try {
        const status = (await q.qmp.command('query-status')) as { status: string; running: boolean };
        assert.deepEqual({ status: status.status, running: status.running }, { status: 'prelaunch', running: false });
        await check(q);
      } finally {
        await q.stop();
      }
    });
  }

  it('a persistent teaming member runs as virtio-net-pci with failover on', async function () {
    const q = await startDomain(TEAMING_XML, caps, dir);
    try {
      const status = (await q.qmp.command('query-status')) as { status: string };
      assert.equal(status.status, 'prelaunch');
      const nic = (await q.pciDevices()).find((d) => d.qdev_id === 'ua-backup0');
      assert.ok(nic, 'the NIC is on the PCI bus under its user alias');
      assert.equal(nic.id.vendor, 0x1af4, 'a virtio device');
      const path0 = '/machine/peripheral/ua-backup0';
      const type = await q.qmp.command('qom-get', { path: path0, property: 'type' });
      assert.equal(type, 'virtio-net-pci');
      assert.equal(await q.qmp.command('qom-get', { path: path0, property: 'failover' }), true);
      assert.equal(await q.qmp.command('qom-get', { path: path0, property: 'mac' }), '00:11:22:33:44:55');
    } finally {
      await q.stop();
    }
  });
});
