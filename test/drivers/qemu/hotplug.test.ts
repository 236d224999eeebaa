// Hotplug on the real QEMU: attachDevice / detachDevice of interfaces, disks and chardevs, live
// and config, with the guest's part (the ACPI eject that completes an unplug, the virtio-net
// driver that accepts failover) played by the qtest stand-in. The stand-in reads QOM through a
// second QMP monitor the domain gets from <qemu:commandline>, as the driver's own monitor is
// busy with the detach job.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect } from '../../../src/connect';
import { VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_ID_REBOOT } from '../../../src/constants';
import { Domain } from '../../../src/domain';
import { QemuMonitor } from '../../../src/drivers/qemu/monitor';
import { QtestGuest } from '../../support/qtest-guest';
import { QEMU, skipWithoutQemu } from '../../support/qemu';
import { rejection } from '../../support/rejection';

const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;


/** A q35 TCG guest with free root ports, a qtest guest stand-in and a second monitor for it. */
function guestDomain(name: string, guest: QtestGuest, monitorPath: string, devices = ''): string {
  const args = [...guest.qemuArgs(), '-chardev', `socket,id=testmon,path=${monitorPath},server=on,wait=off`, '-mon', 'chardev=testmon,mode=control'];
  return `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>${name}</name>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <emulator>${QEMU}</emulator>
    <controller type='pci' model='pcie-root-port'/>
    <controller type='pci' model='pcie-root-port'/>
    <controller type='pci' model='pcie-root-port'/>${devices}
    <serial type='pty'/>
  </devices>
  <qemu:commandline>
${args.map((a) => `    <qemu:arg value='${a}'/>`).join('\n')}
  </qemu:commandline>
</domain>`;
}

/**
 * Whether QEMU has asked the guest to let go of `id`: the slot's bit in the ACPI hotplug
 * "down" register of its bus, which is what a guest's ACPI code reads on the hotplug GPE.
 */
async function unplugRequested(guest: QtestGuest, monitor: QemuMonitor, id: string): Promise<boolean> {
  const dev = `/machine/peripheral/${id}`;
  const bus = String(await monitor.command('qom-get', { path: dev, property: 'parent_bus' }));
  const bsel = Number(await monitor.command('qom-get', { path: bus, property: 'acpi-pcihp-bsel' }));
  const slot = Number(await monitor.command('qom-get', { path: dev, property: 'addr' })) >> 3;
  await guest.out(0x0cc0 + 0x10, 4, bsel); // select the bus
  return ((await guest.in(0x0cc0 + 0x04, 4)) & (1 << slot)) !== 0; // PCI_DOWN
}

function peripherals(monitor: QemuMonitor): Promise<string[]> {
  return monitor.command('qom-list', { path: '/machine/peripheral' }).then((l) => (l as Array<{ name: string }>).map((p) => p.name));
}

describe('drivers/qemu: hotplug and guest power with a stand-in guest on the real QEMU', function () {
  this.timeout(120_000);
  let root: string;
  let conn: Connect;

  before(async function () {
    skipWithoutQemu(this);
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'vn-hp-'));
    conn = await Connect.open(`qemu:///embed?root=${root}`);
  });

  after(async () => {
    if (conn) {
      for (const dom of await conn.listAllDomains(1)) await dom.destroy().catch(() => {});
      await conn.close();
    }
    if (root && !process.env.VIRTNODE_KEEP_TEST_ROOT) fs.rmSync(root, { recursive: true, force: true });
  });

  /** A running domain with its guest stand-in and test monitor, torn down by `done()`. */
  async function startGuest(name: string, devices = '', paused = false) {
    const guest = await QtestGuest.listen(root);
    const monitorPath = path.join(root, `${name}-test.sock`);
    const dom = await Domain.defineXML(conn, guestDomain(name, guest, monitorPath, devices));
    await dom.createWithFlags(paused ? 1 : 0);
    await guest.waitConnected();
    const monitor = await QemuMonitor.open(monitorPath, { timeoutMs: 10_000 });
    const added: string[] = [];
    const removed: string[] = [];
    const ids = [
      conn.domainEventRegisterAny(dom, VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, (_c, _d, alias) => added.push(alias as string)),
      conn.domainEventRegisterAny(dom, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, (_c, _d, alias) => removed.push(alias as string)),
    ];
    const done = async () => {
      for (const id of ids) conn.domainEventDeregisterAny(id);
      monitor.close();
      await dom.destroy().catch(() => {});
      await guest.close();
      await dom.undefine();
    };
    return { dom, guest, monitor, added, removed, done };
  }

  async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('attaches an interface live, and detaches it when the guest ejects it', async () => {
    const g = await startGuest('hp-net');
    try {
      const nic = `<interface type='user'><mac address='52:54:00:aa:bb:01'/><model type='virtio'/></interface>`;
      await g.dom.attachDeviceFlags(nic, AFFECT_LIVE);
      assert.ok((await peripherals(g.monitor)).includes('net0'));
      const mac = await g.monitor.command('qom-get', { path: '/machine/peripheral/net0', property: 'mac' });
      assert.equal(mac, '52:54:00:aa:bb:01');
      const live = await g.dom.getXMLDesc(0);
      assert.match(live, /<mac address='52:54:00:aa:bb:01'\/>[\s\S]*<alias name='net0'\/>/);
      assert.doesNotMatch(await g.dom.getXMLDesc(2), /52:54:00:aa:bb:01/, 'live only: the config is unchanged');
      await until('device-added', () => g.added.includes('net0'));

      const started = Date.now();
      const detaching = g.dom.detachDeviceFlags(nic, AFFECT_LIVE);
      // The guest sees the ACPI unplug request and ejects the slot.
      await until('unplug request', () => unplugRequested(g.guest, g.monitor, 'net0'));
      await g.guest.ejectDevice(g.monitor, 'net0');
      await detaching;
      assert.ok(Date.now() - started < 4000, 'detach completes on DEVICE_DELETED, not on the 5 s timeout');
      assert.ok(!(await peripherals(g.monitor)).includes('net0'));
      assert.doesNotMatch(await g.dom.getXMLDesc(0), /52:54:00:aa:bb:01/);
      await until('device-removed', () => g.removed.includes('net0'));
      // the backend went with it
      await until('netdev removal', async () => {
        const info = String(await g.monitor.command('human-monitor-command', { 'command-line': 'info network' }));
        return !info.includes('hostnet0');
      });
    } finally {
      await g.done();
    }
  });

  it('attaches a qcow2 disk live and config, and detaches it', async () => {
    const g = await startGuest('hp-disk');
    try {
      const img = path.join(root, 'hp-disk.qcow2');
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img, '8M']);
      const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${img}'/><target dev='vdb' bus='virtio'/></disk>`;
      await g.dom.attachDeviceFlags(disk, AFFECT_LIVE | AFFECT_CONFIG);
      assert.ok((await peripherals(g.monitor)).includes('virtio-disk1'));
      const nodes = (await g.monitor.command('query-named-block-nodes')) as Array<{ 'node-name': string; file: string }>;
      assert.ok(nodes.some((n) => n.file === img), JSON.stringify(nodes.map((n) => n['node-name'])));
      const onDisk = fs.readFileSync(path.join(root, 'etc', 'qemu', 'hp-disk.xml'), 'utf8');
      assert.match(onDisk, /<target dev='vdb' bus='virtio'\/>/);

      const dup = await rejection(g.dom.attachDeviceFlags(disk, AFFECT_LIVE));
      assert.equal(dup.code, 55);
      assert.equal(dup.message, 'Requested operation is not valid: target vdb already exists');

      const detaching = g.dom.detachDeviceFlags(disk, AFFECT_LIVE | AFFECT_CONFIG);
      await until('unplug request', () => unplugRequested(g.guest, g.monitor, 'virtio-disk1'));
      await g.guest.ejectDevice(g.monitor, 'virtio-disk1');
      await detaching;
      assert.doesNotMatch(fs.readFileSync(path.join(root, 'etc', 'qemu', 'hp-disk.xml'), 'utf8'), /vdb/);
      await until('block nodes removed', async () => {
        const left = (await g.monitor.command('query-named-block-nodes')) as Array<{ file: string }>;
        return !left.some((n) => n.file === img);
      });
      const missing = await rejection(g.dom.detachDeviceFlags(disk, AFFECT_LIVE));
      assert.equal(missing.code, 99); // VIR_ERR_DEVICE_MISSING
      assert.equal(missing.message, 'device not found: no target device vdb');
    } finally {
      await g.done();
    }
  });

  it('attaches a chardev (a virtio console on a pty) live', async () => {
    const g = await startGuest('hp-chr', "\n    <controller type='virtio-serial' index='0'/>");
    try {
      await g.dom.attachDeviceFlags(`<console type='pty'><target type='virtio'/></console>`, AFFECT_LIVE);
      const chardevs = (await g.monitor.command('query-chardev')) as Array<{ label: string; filename: string }>;
      assert.ok(chardevs.some((c) => c.label === 'charconsole1' && c.filename.startsWith('pty:')), JSON.stringify(chardevs));
      assert.ok((await peripherals(g.monitor)).includes('console1'));
    } finally {
      await g.done();
    }
  });

  it('a PCI hostdev the host cannot give fails as libvirt fails and leaves the domain as it was', async () => {
    const g = await startGuest('hp-hostdev');
    try {
      const before = await g.dom.getXMLDesc(0);
      const peripheralsBefore = await peripherals(g.monitor);
      const err = await rejection(
        g.dom.attachDeviceFlags(
          `<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x7f' slot='0x1f' function='0x7'/></source></hostdev>`,
          AFFECT_LIVE,
        ),
      );
      // The host side comes before QEMU (test/drivers/qemu/hostdev-domain.test.ts has QEMU's refusal):
      // without IOMMU groups there is no VFIO; with them, the device does not exist.
      const vfio =
        fs.existsSync('/dev/vfio/vfio') && fs.existsSync('/sys/kernel/iommu_groups') && fs.readdirSync('/sys/kernel/iommu_groups').length > 0;
      if (vfio) {
        assert.match(err.message, /^Device 0000:7f:1f\.7 not found: could not access \/sys\/bus\/pci\/devices\/0000:7f:1f\.7\/config/);
      } else {
        assert.equal(err.message, "unsupported configuration: host doesn't support passthrough of host PCI devices");
      }
      assert.equal(await g.dom.getXMLDesc(0), before);
      assert.deepEqual(await peripherals(g.monitor), peripheralsBefore);
    } finally {
      await g.done();
    }
  });

  it('a detach the guest does not answer returns after 5 s; the device goes when the guest ejects it', async function () {
    this.timeout(30_000);
    const nic = `<interface type='user'><mac address='52:54:00:aa:bb:02'/><model type='virtio'/></interface>`;
    const g = await startGuest('hp-slow', `\n    ${nic}`);
    try {
      const started = Date.now();
      await g.dom.detachDeviceFlags(nic, AFFECT_LIVE);
      assert.ok(Date.now() - started >= 4900, 'waited for the guest');
      assert.match(await g.dom.getXMLDesc(0), /52:54:00:aa:bb:02/, 'still there: the guest has not let go');
      await g.guest.ejectDevice(g.monitor, 'net0');
      await until('device-removed', () => g.removed.includes('net0'));
      assert.doesNotMatch(await g.dom.getXMLDesc(0), /52:54:00:aa:bb:02/);
    } finally {
      await g.done();
    }
  });

  it('a teaming virtio NIC starts with failover on; the guest negotiating it reaches qemuMonitorEventRegister', async () => {
    const nic = `
    <interface type='user'>
      <mac address='52:54:00:aa:bb:03'/>
      <model type='virtio'/>
      <teaming type='persistent'/>
      <alias name='ua-backup0'/>
    </interface>`;
    // vCPUs paused: the stand-in, not the firmware, gives the NIC its bus number and BAR.
    const g = await startGuest('hp-team', nic, true);
    const seen: Array<{ event: string; details: string | null }> = [];
    const id = conn.domainQemuMonitorEventRegister(g.dom, 'FAILOVER_NEGOTIATED', (_c, _d, event, _s, _m, details) => {
      seen.push({ event: event as string, details: details as string | null });
    });
    try {
      assert.equal(await g.monitor.command('qom-get', { path: '/machine/peripheral/ua-backup0', property: 'failover' }), true);
      await g.guest.negotiateFailover(g.monitor, 'ua-backup0');
      await until('FAILOVER_NEGOTIATED', () => seen.length > 0);
      assert.equal(seen[0].event, 'FAILOVER_NEGOTIATED');
      assert.deepEqual(JSON.parse(seen[0].details!), { 'device-id': 'ua-backup0' });
    } finally {
      conn.domainQemuMonitorEventDeregister(id);
      await g.done();
    }
  });

  it('shutdown: the guest powers off through ACPI, QEMU is stopped, reason shutdown', async () => {
    const g = await startGuest('pw-off');
    const seen: Array<[number, number]> = [];
    const id = conn.domainEventRegisterAny(g.dom, 0, (_c, _d, ev, det) => seen.push([ev as number, det as number]));
    try {
      await g.dom.shutdown();
      assert.equal((await g.dom.getState()).state, 1, 'the guest decides: still running until it powers off');
      await g.guest.acpiPowerOff(g.monitor);
      await until('stopped', () => seen.some(([e]) => e === 5), 10_000);
      assert.deepEqual(seen, [
        [6, 1], // shutdown, finished after a guest request
        [5, 0], // stopped, shutdown
      ]);
      assert.deepEqual(await g.dom.getState(), { state: 5, reason: 1 });
      assert.match(fs.readFileSync(path.join(root, 'log', 'qemu', 'pw-off.log'), 'utf8'), /shutting down, reason=shutdown\n$/);
    } finally {
      conn.domainEventDeregisterAny(id);
      await g.done();
    }
  });

  it('reboot: the guest powers off and virtnode resets it instead of stopping it', async () => {
    const g = await startGuest('pw-reboot');
    let reboots = 0;
    const id = conn.domainEventRegisterAny(g.dom, VIR_DOMAIN_EVENT_ID_REBOOT, () => reboots++);
    try {
      await g.dom.reboot(0);
      await g.guest.acpiPowerOff(g.monitor);
      await until('reboot event', () => reboots > 0, 10_000);
      await until('running again', async () => (await g.dom.getState()).state === 1);
      assert.equal(JSON.parse(await g.dom.qemuMonitorCommand('{"execute":"query-status"}')).return.status, 'running');
    } finally {
      conn.domainEventDeregisterAny(id);
      await g.done();
    }
  });

  it('refuses live changes to a domain that is not running, and config changes to a transient one', async () => {
    const dom = await Domain.defineXML(conn, guestDomain('hp-off', await QtestGuest.listen(root), path.join(root, 'x.sock')));
    const err = await rejection(dom.attachDeviceFlags(`<interface type='user'><model type='virtio'/></interface>`, AFFECT_LIVE));
    assert.equal(err.code, 55);
    assert.equal(err.message, 'Requested operation is not valid: domain is not running');
    // CURRENT on an inactive domain means config
    await dom.attachDeviceFlags(`<interface type='user'><mac address='52:54:00:aa:bb:04'/><model type='virtio'/></interface>`, 0);
    assert.match(await dom.getXMLDesc(0), /52:54:00:aa:bb:04/);
    await dom.undefine();
  });
});
