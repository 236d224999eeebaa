// The network half of <interface type='hostdev'> (libvirt's virHostdevSaveNetConfig,
// virHostdevSetNetConfig, virHostdevRestoreNetConfig): before a guest gets a VF its PF's settings
// for it are saved, then the interface's MAC and VLAN are set through the PF; when the guest lets
// go they are put back. On a fake sysfs tree with fake PFs behind the rtnetlink seam.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostdevManager, hostdevManager, type PciHostdevRequest, type VfNetRequest } from '../../../src/drivers/qemu/hostdev';
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE } from '../../../src/error';
import { parsePciAddress } from '../../../src/util/pci';
import { standardHost, type FakeHost } from '../../support/fake-sysfs';
import { rejection } from '../../support/rejection';

const VF = '0000:06:12.1';
const PF = 'enp6s18f0';
/** The MAC VF 0's host interface (enp6s18f0v0) has in the fake tree. */
const VF_HOST_MAC = '52:54:00:00:06:01';
const GUEST_MAC = '52:54:00:6d:90:02';

describe('drivers/qemu/hostdev: VF MAC and VLAN through the PF for hostdev interfaces', () => {
  let host: FakeHost;
  let stateDir: string;
  let mgr: HostdevManager;
  const savedFile = () => path.join(stateDir, `${PF}_vf0`);
  const request = (net: VfNetRequest): PciHostdevRequest[] => [{ address: parsePciAddress(VF)!, managed: true, net }];

  beforeEach(() => {
    host = standardHost();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-hostdevmgr-'));
    mgr = hostdevManager(host.root);
  });

  afterEach(() => {
    host.dispose();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  /** Nothing of a failed preparation is left: VF on its driver, PF settings as before, no file, the VF free. */
  async function assertUntouched(before: { mac: string; vlan: number }): Promise<void> {
    assert.equal(host.driverOf(VF), 'igbvf');
    assert.ok(!fs.existsSync(savedFile()));
    assert.deepEqual(fs.readdirSync(stateDir), []);
    assert.deepEqual(host.netlink.vf(PF, 0), { ...before, qos: 0 });
    const again = request({ mac: GUEST_MAC });
    await mgr.prepareDomainDevices('other', again, '', stateDir);
    await mgr.releaseDomainDevices('other', again, '', stateDir);
  }

  it('saves the VF settings, sets the MAC and clears the VLAN, then puts them back on release', async () => {
    assert.equal(await host.netlink.setVf(PF, 0, { vlan: 7 }), 0);
    host.netlink.calls.length = 0;
    const reqs = request({ mac: GUEST_MAC });
    await mgr.prepareDomainDevices('guest1', reqs, '', stateDir);
    assert.equal(host.driverOf(VF), 'vfio-pci');
    assert.deepEqual(host.netlink.vf(PF, 0), { mac: GUEST_MAC, vlan: 0, qos: 0 });
    // One setting per message, MAC first.
    assert.deepEqual(host.netlink.calls, [
      { ifname: PF, vf: 0, setting: { mac: GUEST_MAC } },
      { ifname: PF, vf: 0, setting: { vlan: 0, qos: 0 } },
    ]);
    // libvirt's file: the PF's admin MAC and tag, and the MAC of the VF's host interface.
    assert.equal(fs.readFileSync(savedFile(), 'utf8'), `{\n  "adminMac": "00:00:00:00:00:00",\n  "vlanTag": 7,\n  "mac": "${VF_HOST_MAC}"\n}\n`);
    assert.equal(fs.statSync(savedFile()).mode & 0o777, 0o600);

    host.netlink.calls.length = 0;
    await mgr.releaseDomainDevices('guest1', reqs, '', stateDir);
    // The VF's former MAC becomes its admin MAC, which its driver takes when it binds again.
    assert.deepEqual(host.netlink.vf(PF, 0), { mac: VF_HOST_MAC, vlan: 7, qos: 0 });
    assert.deepEqual(host.netlink.calls, [
      { ifname: PF, vf: 0, setting: { mac: VF_HOST_MAC } },
      { ifname: PF, vf: 0, setting: { vlan: 7, qos: 0 } },
    ]);
    assert.ok(!fs.existsSync(savedFile()));
    assert.equal(host.driverOf(VF), 'igbvf');
  });

  it('sets the <vlan> tag; a PF whose switch is not the host\'s refuses it, and nothing is left half done', async () => {
    const tagged = request({ mac: GUEST_MAC, vlan: { tags: [42], trunk: false } });
    await mgr.prepareDomainDevices('guest1', tagged, '', stateDir);
    assert.deepEqual(host.netlink.vf(PF, 0), { mac: GUEST_MAC, vlan: 42, qos: 0 });
    await mgr.releaseDomainDevices('guest1', tagged, '', stateDir);
    assert.equal(host.netlink.vf(PF, 0).vlan, 0);

    host.netlink.vlanRefused = true;
    const err = await rejection(mgr.prepareDomainDevices('guest1', tagged, '', stateDir));
    assert.deepEqual([err.code, err.domain, err.int1, err.message], [
      VIR_ERR_SYSTEM_ERROR,
      VIR_FROM_NONE,
      1,
      `Cannot set interface vlanid to 42 for ifname ${PF} vf 0: Operation not permitted`,
    ]);
    assert.equal(host.netlink.vf(PF, 0).mac, VF_HOST_MAC);
    await assertUntouched({ mac: VF_HOST_MAC, vlan: 0 });

    // Without a <vlan>, clearing the tag is not the user's request: EPERM does not stop the start.
    const untagged = request({ mac: GUEST_MAC });
    await mgr.prepareDomainDevices('guest1', untagged, '', stateDir);
    assert.equal(host.netlink.vf(PF, 0).mac, GUEST_MAC);
    await mgr.releaseDomainDevices('guest1', untagged, '', stateDir);
  });

  it('refuses VLAN trunks on a VF after undoing what it did', async () => {
    const err = await rejection(mgr.prepareDomainDevices('guest1', request({ mac: GUEST_MAC, vlan: { tags: [1, 2], trunk: true } }), '', stateDir));
    assert.deepEqual([err.code, err.domain, err.message], [
      VIR_ERR_CONFIG_UNSUPPORTED,
      VIR_FROM_NONE,
      'unsupported configuration: vlan trunking is not supported by SR-IOV network devices',
    ]);
    assert.deepEqual(host.netlink.calls, []);
    await assertUntouched({ mac: '00:00:00:00:00:00', vlan: 0 });
  });

  it('a MAC the driver refuses fails the preparation and gives everything back', async () => {
    host.netlink.failNext.set('mac', -os.constants.errno.EBUSY);
    const err = await rejection(mgr.prepareDomainDevices('guest1', request({ mac: GUEST_MAC }), '', stateDir));
    assert.deepEqual([err.code, err.int1, err.message], [
      VIR_ERR_SYSTEM_ERROR,
      16,
      `Cannot set interface MAC to ${GUEST_MAC} for ifname ${PF} vf 0: Device or resource busy`,
    ]);
    await assertUntouched({ mac: VF_HOST_MAC, vlan: 0 });
  });

  it('a driver that refuses the all-zero MAC gets 02:00:00:00:00:00 instead', async () => {
    host.netlink.rejectZeroMac = true;
    const zero = request({ mac: '00:00:00:00:00:00' });
    await mgr.prepareDomainDevices('guest1', zero, '', stateDir);
    assert.deepEqual(
      host.netlink.calls.map((c) => c.setting),
      [{ mac: '00:00:00:00:00:00' }, { mac: '02:00:00:00:00:00' }, { vlan: 0, qos: 0 }],
    );
    assert.equal(host.netlink.vf(PF, 0).mac, '02:00:00:00:00:00');
    await mgr.releaseDomainDevices('guest1', zero, '', stateDir);
  });

  it('a VF with no host interface saves only the admin MAC, and gets it back even from a zero-refusing driver', async () => {
    // Put on vfio-pci by hand, as an administrator would for an unmanaged device.
    await host.kernel.write(`/sys/bus/pci/devices/${VF}/driver_override`, 'vfio-pci');
    await host.kernel.write(`/sys/bus/pci/devices/${VF}/driver/unbind`, VF);
    await host.kernel.write('/sys/bus/pci/drivers_probe', VF);
    const unmanaged: PciHostdevRequest[] = [{ address: parsePciAddress(VF)!, managed: false, net: { mac: GUEST_MAC } }];
    await mgr.prepareDomainDevices('guest1', unmanaged, '', stateDir);
    assert.equal(fs.readFileSync(savedFile(), 'utf8'), '{\n  "adminMac": "00:00:00:00:00:00",\n  "vlanTag": 0\n}\n');
    host.netlink.rejectZeroMac = true;
    host.netlink.calls.length = 0;
    await mgr.releaseDomainDevices('guest1', unmanaged, '', stateDir);
    assert.deepEqual(
      host.netlink.calls.map((c) => c.setting),
      [{ mac: '00:00:00:00:00:00' }, { mac: '02:00:00:00:00:00' }, { vlan: 0, qos: 0 }],
    );
    assert.equal(host.netlink.vf(PF, 0).mac, '02:00:00:00:00:00');
    assert.equal(host.driverOf(VF), 'vfio-pci');
    assert.ok(!fs.existsSync(savedFile()));
  });

  it('when the settings cannot be saved nothing is detached and nothing set', async () => {
    const blocker = path.join(stateDir, 'file');
    fs.writeFileSync(blocker, '');
    const err = await rejection(mgr.prepareDomainDevices('guest1', request({ mac: GUEST_MAC }), '', path.join(blocker, 'dir')));
    assert.deepEqual([err.code, err.message], [VIR_ERR_SYSTEM_ERROR, `Unable to preserve mac/vlan tag for device = ${PF}v0, vf = 0: Not a directory`]);
    assert.deepEqual(host.kernel.writes, []);
    assert.deepEqual(host.netlink.calls, []);
    fs.rmSync(blocker);
    await assertUntouched({ mac: '00:00:00:00:00:00', vlan: 0 });
  });

  it('another process that adopts the running domain restores the VF from the saved file', async () => {
    const reqs = request({ mac: GUEST_MAC, vlan: { tags: [5], trunk: false } });
    await mgr.prepareDomainDevices('guest1', reqs, 'scope', stateDir);
    // A fresh manager knows only what the status file tells it.
    const other = new HostdevManager(host.root);
    other.adoptDomainDevices('guest1', reqs, 'scope', [VF]);
    await other.releaseDomainDevices('guest1', reqs, 'scope', stateDir);
    assert.deepEqual(host.netlink.vf(PF, 0), { mac: VF_HOST_MAC, vlan: 0, qos: 0 });
    assert.ok(!fs.existsSync(savedFile()));
    assert.equal(host.driverOf(VF), 'igbvf');
    mgr.forgetScope('scope');
  });
});
