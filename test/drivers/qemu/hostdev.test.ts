// Detaching host PCI devices to vfio-pci, giving them back and resetting them
// (virNodeDeviceDetachFlags, virNodeDeviceReAttach, virNodeDeviceReset on a QEMU connection),
// on a fake sysfs tree whose fake kernel binds and unbinds as the real one does.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect } from '../../../src/connect';
import { VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET } from '../../../src/constants';
import {
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_OPERATION_DENIED,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_INVALID,
  VIR_ERR_SYSTEM_ERROR,
  VIR_FROM_DOMAIN,
  VIR_FROM_NODEDEV,
  VIR_FROM_NONE,
  VIR_FROM_QEMU,
} from '../../../src/error';
import { hostdevManager } from '../../../src/drivers/qemu/hostdev';
import { NodeDevice } from '../../../src/node-device';
import { parsePciAddress } from '../../../src/util/pci';
import { standardHost, type FakeHost } from '../../support/fake-sysfs';
import { skipWithoutQemu } from '../../support/qemu';
import { rejection } from '../../support/rejection';

const VF = '0000:06:12.1';
const VF_DEV = 'pci_0000_06_12_1';

describe('drivers/qemu/hostdev: detach, re-attach and reset of host PCI devices', function () {
  let host: FakeHost;
  let stateRoot: string;
  let conn: Connect;

  before(function () {
    skipWithoutQemu(this);
  });

  async function openOn(h: FakeHost, readOnly = false): Promise<Connect> {
    const uri = `qemu:///embed?root=${stateRoot}&sysfsroot=${h.root}`;
    return readOnly ? Connect.openReadOnly(uri) : Connect.open(uri);
  }

  beforeEach(async () => {
    host = standardHost();
    stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-hostdev-'));
    conn = await openOn(host);
  });

  afterEach(async () => {
    await conn.close();
    host.dispose();
    fs.rmSync(stateRoot, { recursive: true, force: true });
  });

  const device = (name: string) => NodeDevice.lookupByName(conn, name);
  const netNames = async () => (await conn.listAllNodeDevices(VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET)).map((d) => d.getName());

  it('binds a VF to vfio-pci through driver_override, unbind and drivers_probe; /dev/vfio/<group> appears', async () => {
    assert.ok((await netNames()).includes('net_enp6s18f0v0_52_54_00_00_06_01'));
    await (await device(VF_DEV)).detachFlags(null);
    assert.deepEqual(host.kernel.writes, [
      { file: `/sys/bus/pci/devices/${VF}/driver_override`, data: 'vfio-pci' },
      { file: `/sys/bus/pci/devices/${VF}/driver/unbind`, data: VF },
      { file: '/sys/bus/pci/drivers_probe', data: VF },
    ]);
    assert.equal(host.driverOf(VF), 'vfio-pci');
    assert.ok(host.exists('/dev/vfio/10'));
    // The VF's interface is gone from the host with its driver, and its XML says who holds it.
    assert.ok(!(await netNames()).includes('net_enp6s18f0v0_52_54_00_00_06_01'));
    assert.match(await (await device(VF_DEV)).getXMLDesc(), /<driver>\n {4}<name>vfio-pci<\/name>/);
  });

  it('leaves a device already on vfio-pci alone (dettach, detachFlags "vfio")', async () => {
    const vf = await device(VF_DEV);
    await vf.dettach();
    host.kernel.writes.length = 0;
    await vf.detachFlags('vfio');
    assert.deepEqual(host.kernel.writes, []);
    assert.equal(host.driverOf(VF), 'vfio-pci');
  });

  it('gives the VF back: driver_override cleared with "\\n", unbind, reprobe; its host driver and interface return', async () => {
    const vf = await device(VF_DEV);
    await vf.detachFlags(null);
    host.kernel.writes.length = 0;
    await vf.reAttach();
    assert.deepEqual(host.kernel.writes, [
      { file: `/sys/bus/pci/devices/${VF}/driver_override`, data: '\n' },
      { file: `/sys/bus/pci/devices/${VF}/driver/unbind`, data: VF },
      { file: '/sys/bus/pci/drivers_probe', data: VF },
    ]);
    assert.equal(host.driverOf(VF), 'igbvf');
    assert.equal(host.read(`/sys/bus/pci/devices/${VF}/driver_override`), '(null)\n');
    assert.ok(!host.exists('/dev/vfio/10'));
    assert.ok((await netNames()).includes('net_enp6s18f0v0_52_54_00_00_06_01'));
  });

  it('keeps /dev/vfio/<group> while another member of the group is still on vfio-pci', async () => {
    const smbus = await device('pci_0000_00_1f_3');
    const sata = await device('pci_0000_00_1f_2');
    await smbus.detachFlags(null);
    await sata.detachFlags(null);
    await smbus.reAttach();
    assert.ok(host.exists('/dev/vfio/8'));
    assert.equal(host.driverOf('0000:00:1f.3'), 'i801_smbus');
    await sata.reAttach();
    assert.ok(!host.exists('/dev/vfio/8'));
  });

  it('refuses driver names the QEMU driver does not use, and flags', async () => {
    const vf = await device(VF_DEV);
    const kvm = await rejection(vf.detachFlags('kvm'));
    assert.deepEqual([kvm.code, kvm.domain, kvm.message], [
      VIR_ERR_CONFIG_UNSUPPORTED,
      VIR_FROM_QEMU,
      'unsupported configuration: KVM device assignment is no longer supported on this system',
    ]);
    for (const name of ['xen', 'bogus']) {
      const err = await rejection(vf.detachFlags(name));
      assert.deepEqual([err.code, err.domain, err.message], [VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `invalid argument: unknown driver name '${name}'`]);
    }
    const flags = await rejection(vf.detachFlags(null, 1));
    assert.equal(flags.message, 'unsupported flags (0x1) in function qemuNodeDeviceDetachFlags');
    assert.deepEqual(host.kernel.writes, []);
    assert.equal(host.driverOf(VF), 'igbvf');
  });

  it('refuses what is not a PCI device, and every write on a read-only connection', async () => {
    const net = await device('net_eno1_00_1b_21_bb_00_01');
    const err = await rejection(net.detachFlags(null));
    assert.deepEqual([err.code, err.domain, err.message], [
      VIR_ERR_INVALID_ARG,
      VIR_FROM_DOMAIN,
      'invalid argument: device net_eno1_00_1b_21_bb_00_01 is not a PCI device',
    ]);
    const ro = await openOn(host, true);
    try {
      const denied = await rejection((await NodeDevice.lookupByName(ro, VF_DEV)).detachFlags(null));
      assert.deepEqual([denied.code, denied.domain], [VIR_ERR_OPERATION_DENIED, VIR_FROM_NODEDEV]);
    } finally {
      await ro.close();
    }
    assert.deepEqual(host.kernel.writes, []);
  });

  it('refuses on a host without an IOMMU, touching nothing', async () => {
    const bare = standardHost({ iommu: false });
    const c = await openOn(bare);
    try {
      const err = await rejection((await NodeDevice.lookupByName(c, VF_DEV)).detachFlags(null));
      assert.deepEqual([err.code, err.domain, err.message], [
        VIR_ERR_CONFIG_UNSUPPORTED,
        VIR_FROM_QEMU,
        'unsupported configuration: VFIO device assignment is currently not supported on this system',
      ]);
      assert.deepEqual(bare.kernel.writes, []);
    } finally {
      await c.close();
      bare.dispose();
    }
  });

  it('reports a vfio-pci module that is not loaded, touching nothing', async () => {
    const noVfio = standardHost({ vfioLoaded: false });
    const c = await openOn(noVfio);
    try {
      const err = await rejection((await NodeDevice.lookupByName(c, VF_DEV)).detachFlags(null));
      assert.deepEqual([err.code, err.domain, err.message], [VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'internal error: Failed to load PCI stub module vfio-pci']);
      assert.deepEqual(noVfio.kernel.writes, []);
      assert.equal(noVfio.driverOf(VF), 'igbvf');
    } finally {
      await c.close();
      noVfio.dispose();
    }
  });

  it('gives a device back to its driver when vfio-pci will not take it (no IOMMU group)', async () => {
    const err = await rejection((await device('pci_0000_00_19_0')).detachFlags(null));
    assert.deepEqual([err.code, err.domain, err.message], [
      VIR_ERR_INTERNAL_ERROR,
      VIR_FROM_NONE,
      'internal error: Failed to bind PCI device 0000:00:19.0 to vfio-pci: it is bound to no driver',
    ]);
    assert.equal(host.driverOf('0000:00:19.0'), 'e1000e');
    assert.equal(host.read('/sys/bus/pci/devices/0000:00:19.0/driver_override'), '(null)\n');
    assert.ok((await netNames()).includes('net_eno1_00_1b_21_bb_00_01'));
  });

  it("reports a sysfs write the kernel refuses with libvirt's system error, the device unchanged", async () => {
    host.kernel.failWrites.set(`/sys/bus/pci/devices/${VF}/driver_override`, 'EBUSY');
    const err = await rejection((await device(VF_DEV)).detachFlags(null));
    assert.deepEqual([err.code, err.domain, err.int1], [VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, 16]);
    assert.equal(err.message, `Failed to add driver 'vfio-pci' to driver_override  interface of PCI device '${VF}': Device or resource busy`);
    assert.equal(host.driverOf(VF), 'igbvf');
    // Nothing had changed, so nothing is unbound or reprobed to undo it.
    assert.equal(host.kernel.writes.length, 1);
  });

  it('refuses to detach, re-attach or reset a device a running domain holds', async () => {
    const mgr = hostdevManager(host.root);
    await mgr.prepareDomainDevices('guest1', [{ address: parsePciAddress(VF)!, managed: true }]);
    try {
      const vf = await device(VF_DEV);
      for (const call of [() => vf.detachFlags(null), () => vf.reAttach()]) {
        const err = await rejection(call());
        assert.deepEqual([err.code, err.domain, err.message], [
          VIR_ERR_OPERATION_INVALID,
          VIR_FROM_NONE,
          `Requested operation is not valid: PCI device ${VF} is in use by driver QEMU, domain guest1`,
        ]);
      }
      const reset = await rejection(vf.reset());
      assert.equal(reset.message, `internal error: Not resetting active device ${VF}`);
      assert.equal(host.driverOf(VF), 'vfio-pci');
    } finally {
      await mgr.releaseDomainDevices('guest1', [{ address: parsePciAddress(VF)!, managed: true }]);
    }
    assert.equal(host.driverOf(VF), 'igbvf');
  });

  it('resets only what libvirt resets: endpoints without FLR and not on vfio-pci', async () => {
    const bridge = await rejection((await device('pci_0000_00_1c_0')).reset());
    assert.deepEqual([bridge.code, bridge.domain, bridge.message], [
      VIR_ERR_INTERNAL_ERROR,
      VIR_FROM_NONE,
      'internal error: Invalid attempt to reset PCI device 0000:00:1c.0. Only PCI endpoint devices can be reset',
    ]);
    // FLR (the PF advertises it, VFs must have it): KVM resets these itself.
    await (await device('pci_0000_06_12_0')).reset();
    await (await device(VF_DEV)).reset();
    assert.deepEqual(host.kernel.writes, []);
    // No FLR, a kernel reset method: the kernel's reset attribute.
    await (await device('pci_0000_00_02_0')).reset();
    assert.deepEqual(host.kernel.writes, [{ file: '/sys/bus/pci/devices/0000:00:02.0/reset', data: '1' }]);
    const none = await rejection((await device('pci_0000_00_1f_3')).reset());
    assert.equal(none.message, 'internal error: Unable to reset PCI device 0000:00:1f.3: no FLR, PM reset or bus reset available');
  });

  it('skips the reset of a device on vfio-pci, which vfio resets itself', async () => {
    const gpu = await device('pci_0000_00_02_0');
    await gpu.detachFlags(null);
    host.kernel.writes.length = 0;
    await gpu.reset();
    assert.deepEqual(host.kernel.writes, []);
  });

  it('on a domain start, detaches managed devices, refuses a second domain and non-viable groups, and leaves nothing half done', async () => {
    const mgr = hostdevManager(host.root);
    const vf2 = { address: parsePciAddress('0000:06:12.2')!, managed: true };
    await mgr.prepareDomainDevices('guest1', [vf2]);
    assert.equal(host.driverOf('0000:06:12.2'), 'vfio-pci');
    const taken = await rejection(mgr.prepareDomainDevices('guest2', [{ address: parsePciAddress(VF)!, managed: true }, vf2]));
    assert.equal(taken.message, 'Requested operation is not valid: PCI device 0000:06:12.2 is in use by driver QEMU, domain guest1');
    assert.equal(host.driverOf(VF), 'igbvf');

    // 00:1f.3 shares group 8 with devices lpc_ich and ahci hold: QEMU would find it not viable.
    const group = await rejection(mgr.prepareDomainDevices('guest3', [{ address: parsePciAddress(VF)!, managed: true }, { address: parsePciAddress('0000:00:1f.3')!, managed: true }]));
    assert.equal(group.code, VIR_ERR_INTERNAL_ERROR);
    assert.match(group.message, /^internal error: vfio 0000:00:1f\.3: group 8 is not viable\n/);
    assert.equal(host.driverOf(VF), 'igbvf');
    assert.equal(host.driverOf('0000:00:1f.3'), 'i801_smbus');

    const unmanaged = await rejection(mgr.prepareDomainDevices('guest4', [{ address: parsePciAddress(VF)!, managed: false }]));
    assert.equal(unmanaged.message, `Requested operation is not valid: Unmanaged PCI device ${VF} must be manually detached from the host`);
    const bridge = await rejection(mgr.prepareDomainDevices('guest5', [{ address: parsePciAddress('0000:00:1c.0')!, managed: true }]));
    assert.deepEqual([bridge.code, bridge.message], [VIR_ERR_OPERATION_FAILED, 'operation failed: Non-endpoint PCI devices cannot be assigned to guests']);

    await mgr.releaseDomainDevices('guest1', [vf2]);
    assert.equal(host.driverOf('0000:06:12.2'), 'igbvf');
    assert.ok(!host.exists('/dev/vfio/11'));
  });

  it('takes an interface only on a VF whose PF is up, as the VF is configured through it', async () => {
    const mgr = hostdevManager(host.root);
    const nic = await rejection(mgr.prepareDomainDevices('guest1', [{ address: parsePciAddress('0000:00:19.0')!, managed: true, net: { mac: '52:54:00:6d:90:02' } }]));
    assert.deepEqual([nic.code, nic.domain, nic.message], [
      VIR_ERR_CONFIG_UNSUPPORTED,
      VIR_FROM_NONE,
      'unsupported configuration: Interface type hostdev is currently supported on SR-IOV Virtual Functions only',
    ]);
    fs.writeFileSync(host.at('/sys/class/net/enp6s18f0/flags'), '0x1002\n');
    const down = await rejection(mgr.prepareDomainDevices('guest1', [{ address: parsePciAddress('0000:06:12.2')!, managed: true, net: { mac: '52:54:00:6d:90:02' } }]));
    assert.equal(
      down.message,
      "internal error: Unable to configure VF 1 of PF 'enp6s18f0' because the PF is not online. Please change host network config to put the PF online.",
    );
    assert.deepEqual(host.kernel.writes, []);
  });

  it('gives back on release only what it detached: a VF the administrator put on vfio-pci stays there', async () => {
    const mgr = hostdevManager(host.root);
    const vf2 = '0000:06:12.2';
    // Bound by hand, as an administrator would, before any domain asks for it.
    await host.kernel.write(`/sys/bus/pci/devices/${vf2}/driver_override`, 'vfio-pci');
    await host.kernel.write(`/sys/bus/pci/devices/${vf2}/driver/unbind`, vf2);
    await host.kernel.write('/sys/bus/pci/drivers_probe', vf2);
    host.kernel.writes.length = 0;
    const both = [
      { address: parsePciAddress(VF)!, managed: true },
      { address: parsePciAddress(vf2)!, managed: true },
    ];
    await mgr.prepareDomainDevices('guest1', both);
    await mgr.releaseDomainDevices('guest1', both);
    assert.equal(host.driverOf(VF), 'igbvf');
    assert.equal(host.driverOf(vf2), 'vfio-pci');
    assert.ok(!host.kernel.writes.some((w) => w.data === vf2), JSON.stringify(host.kernel.writes));
  });
});
