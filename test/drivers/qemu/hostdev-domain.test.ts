// managed='yes' host PCI devices across a domain's life on the real QEMU, with the host's sysfs
// faked: the VF goes to vfio-pci before QEMU starts, is the domain's while it runs (another
// domain and the node device API are refused), and goes back to its driver when the domain
// stops, when QEMU fails to start, and after a reconnect. QEMU 7.2 hides a failover primary until
// the guest negotiates failover, so a virtio/hostdev pair runs without a real VF.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connect } from '../../../src/connect';
import { VIR_DOMAIN_RUNNING, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_XML_INACTIVE } from '../../../src/constants';
import { Domain } from '../../../src/domain';
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_OPERATION_INVALID, VIR_FROM_NONE, VIR_FROM_QEMU } from '../../../src/error';
import { NodeDevice } from '../../../src/node-device';
import { standardHost, type FakeHost } from '../../support/fake-sysfs';
import { closeFakeHost, connectToFakeHost, type FakeHostConnection } from '../../support/fake-host-connection';
import { guestXml, skipWithoutQemu } from '../../support/qemu';
import { rejection } from '../../support/rejection';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const VF = '0000:06:12.1';
const VF_SOURCE = `<source><address type='pci' domain='0x0000' bus='0x06' slot='0x12' function='0x1'/></source>`;
/** The VF's PF interface, and the MAC the VF's own host interface has before any guest. */
const PF = 'enp6s18f0';
const VF_HOST_MAC = '52:54:00:00:06:01';
const GUEST_MAC = '52:54:00:6d:90:02';

/** The failover pair: a virtio NIC and the VF as its transient hostdev interface. */
function teamingDomain(name: string): string {
  return guestXml(
    name,
    'q35',
    `    <interface type='user'>
      <mac address='52:54:00:6d:90:02'/>
      <model type='virtio'/>
      <teaming type='persistent'/>
      <alias name='ua-backup0'/>
    </interface>
    <interface type='hostdev' managed='yes'>
      <mac address='52:54:00:6d:90:02'/>
      ${VF_SOURCE}
      <teaming type='transient' persistent='ua-backup0'/>
    </interface>`,
  );
}

/** A plain PCI hostdev, which QEMU opens at once. */
function hostdevDomain(name: string, managed: 'yes' | 'no' = 'yes'): string {
  return guestXml(
    name,
    'q35',
    `    <hostdev mode='subsystem' type='pci' managed='${managed}'>
      ${VF_SOURCE}
    </hostdev>`,
  );
}

describe('drivers/qemu/hostdev: managed PCI hostdevs when domains start and stop', function () {
  this.timeout(60_000);
  let host: FakeHost;
  let stateRoot: string;
  let conn: Connect;
  let uri: string;

  before(function () {
    skipWithoutQemu(this);
  });

  let session: FakeHostConnection;
  beforeEach(async () => {
    session = await connectToFakeHost('virtnode-hostdev-dom-', standardHost());
    ({ host, root: stateRoot, uri, conn } = session);
  });

  afterEach(() => closeFakeHost(session));

  const vfDevice = () => NodeDevice.lookupByName(conn, 'pci_0000_06_12_1');
  /** Where the PF's settings for VF 0 wait while a domain has it (libvirt's hostdev manager state). */
  const savedVfConfig = () => path.join(stateRoot, 'run', 'hostdevmgr', `${PF}_vf0`);

  it('detaches the VF before QEMU starts, holds it while the domain runs, gives it back on destroy', async () => {
    const dom = await Domain.defineXML(conn, teamingDomain('team1'));
    await dom.create();
    assert.equal((await dom.getState()).state, VIR_DOMAIN_RUNNING);
    assert.equal(host.driverOf(VF), 'vfio-pci');
    assert.ok(host.exists('/dev/vfio/10'));
    // The VF carries the virtio NIC's MAC, so that the guest's failover pairs the two.
    assert.deepEqual(host.netlink.vf(PF, 0), { mac: GUEST_MAC, vlan: 0, qos: 0 });
    assert.ok(fs.existsSync(savedVfConfig()));
    // The live definition shows the backend the default resolved to; the persistent one does not.
    assert.match(await dom.getXMLDesc(), /<mac address='52:54:00:6d:90:02'\/>\n {6}<driver name='vfio'\/>\n {6}<source>/);
    assert.doesNotMatch(await dom.getXMLDesc(VIR_DOMAIN_XML_INACTIVE), /<driver name='vfio'\/>/);

    const vf = await vfDevice();
    for (const call of [() => vf.detachFlags(null), () => vf.reAttach()]) {
      const err = await rejection(call());
      assert.deepEqual([err.code, err.domain, err.message], [
        VIR_ERR_OPERATION_INVALID,
        VIR_FROM_NONE,
        `Requested operation is not valid: PCI device ${VF} is in use by driver QEMU, domain team1`,
      ]);
    }

    const other = await Domain.defineXML(conn, hostdevDomain('other'));
    const taken = await rejection(other.create());
    assert.equal(taken.message, `Requested operation is not valid: PCI device ${VF} is in use by driver QEMU, domain team1`);
    assert.equal((await other.getState()).state, VIR_DOMAIN_SHUTOFF);
    assert.equal(host.driverOf(VF), 'vfio-pci');

    await dom.destroy();
    assert.equal(host.driverOf(VF), 'igbvf');
    assert.equal(host.read(`/sys/bus/pci/devices/${VF}/driver_override`), '(null)\n');
    assert.ok(!host.exists('/dev/vfio/10'));
    assert.deepEqual(host.netlink.vf(PF, 0), { mac: VF_HOST_MAC, vlan: 0, qos: 0 });
    assert.ok(!fs.existsSync(savedVfConfig()));
  });

  it('an interface QEMU cannot open: the failed start gives the PF its VF settings back', async () => {
    const plain = teamingDomain('plainvf')
      .replace(/<interface type='user'>[\s\S]*?<\/interface>/, '')
      .replace(`<teaming type='transient' persistent='ua-backup0'/>`, `<vlan><tag id='42'/></vlan>`);
    const dom = await Domain.defineXML(conn, plain);
    const err = await rejection(dom.create());
    assert.match(err.message, /vfio \/sys\/bus\/pci\/devices\/0000:06:12\.1: no such host device/);
    assert.equal((await dom.getState()).state, VIR_DOMAIN_SHUTOFF);
    assert.deepEqual(
      host.netlink.calls.map((c) => c.setting),
      [{ mac: GUEST_MAC }, { vlan: 42, qos: 0 }, { mac: VF_HOST_MAC }, { vlan: 0, qos: 0 }],
    );
    assert.deepEqual(host.netlink.vf(PF, 0), { mac: VF_HOST_MAC, vlan: 0, qos: 0 });
    assert.ok(!fs.existsSync(savedVfConfig()));
    assert.equal(host.driverOf(VF), 'igbvf');
  });

  it('gives the VF back when QEMU cannot start with it, and leaves it free', async () => {
    const dom = await Domain.defineXML(conn, hostdevDomain('broken'));
    const err = await rejection(dom.create());
    // QEMU looks for the device in the real /sys, where the fake VF is not.
    assert.match(err.message, /vfio \/sys\/bus\/pci\/devices\/0000:06:12\.1: no such host device/);
    assert.equal((await dom.getState()).state, VIR_DOMAIN_SHUTOFF);
    assert.equal(host.driverOf(VF), 'igbvf');
    assert.ok(!host.exists('/dev/vfio/10'));
    await (await vfDevice()).detachFlags(null);
    assert.equal(host.driverOf(VF), 'vfio-pci');
  });

  it('hot-plugs the VF the same way: detached before device_add, given back when QEMU refuses it', async () => {
    const dom = await Domain.defineXML(conn, teamingDomain('hot').replace(/<interface type='hostdev'[\s\S]*?<\/interface>/, ''));
    await dom.create();
    const plain = await rejection(dom.attachDeviceFlags(`<hostdev mode='subsystem' type='pci' managed='yes'>${VF_SOURCE}</hostdev>`, 1));
    assert.match(plain.message, /^internal error: unable to execute QEMU command 'device_add': vfio \/sys\/bus\/pci\/devices\/0000:06:12\.1: no such host device/);
    assert.equal(host.driverOf(VF), 'igbvf');
    assert.ok(!host.exists('/dev/vfio/10'));

    // As the failover primary, QEMU keeps it hidden until the guest negotiates: the plug succeeds.
    await dom.attachDeviceFlags(
      `<interface type='hostdev' managed='yes'><mac address='52:54:00:6d:90:02'/>${VF_SOURCE}<teaming type='transient' persistent='ua-backup0'/></interface>`,
      1,
    );
    assert.equal(host.driverOf(VF), 'vfio-pci');
    assert.equal(host.netlink.vf(PF, 0).mac, GUEST_MAC);
    const err = await rejection((await vfDevice()).reAttach());
    assert.equal(err.message, `Requested operation is not valid: PCI device ${VF} is in use by driver QEMU, domain hot`);
    await dom.destroy();
    assert.equal(host.driverOf(VF), 'igbvf');
    assert.equal(host.netlink.vf(PF, 0).mac, VF_HOST_MAC);
  });

  it('refuses an unmanaged VF still on its host driver, before QEMU runs', async () => {
    const dom = await Domain.defineXML(conn, hostdevDomain('unmanaged', 'no'));
    const err = await rejection(dom.create());
    assert.equal(err.message, `Requested operation is not valid: Unmanaged PCI device ${VF} must be manually detached from the host`);
    assert.deepEqual(host.kernel.writes, []);
  });

  it('refuses PCI passthrough on a host without an IOMMU', async () => {
    const bareSession = await connectToFakeHost('virtnode-hostdev-bare-', standardHost({ iommu: false }));
    const { host: bare, conn: c } = bareSession;
    try {
      const err = await rejection((await Domain.defineXML(c, teamingDomain('bare'))).create());
      assert.deepEqual([err.code, err.domain, err.message], [
        VIR_ERR_CONFIG_UNSUPPORTED,
        VIR_FROM_QEMU,
        "unsupported configuration: host doesn't support passthrough of host PCI devices",
      ]);
      assert.deepEqual(bare.kernel.writes, []);
    } finally {
      await closeFakeHost(bareSession);
    }
  });

  it('a second process that finds the domain running knows the VF is taken, and gives it back on destroy', async () => {
    await (await Domain.defineXML(conn, teamingDomain('team2'))).create();
    await conn.close();
    assert.equal(host.netlink.vf(PF, 0).mac, GUEST_MAC);
    // The status file says which devices virtnode detached, as libvirt's origstates do.
    const status = JSON.parse(fs.readFileSync(path.join(stateRoot, 'run', 'qemu', 'team2.status'), 'utf8'));
    assert.deepEqual(status.hostdevsDetached, [VF]);
    // A new process has an empty hostdev manager: only reconnecting to team2 can tell it.
    const script = path.join(stateRoot, 'second.ts');
    fs.writeFileSync(
      script,
      `import { Connect } from ${JSON.stringify(path.join(repoRoot, 'src/connect'))};
import { Domain } from ${JSON.stringify(path.join(repoRoot, 'src/domain'))};
import { NodeDevice } from ${JSON.stringify(path.join(repoRoot, 'src/node-device'))};
import { standardHost } from ${JSON.stringify(path.join(repoRoot, 'test/support/fake-sysfs'))};
(async () => {
  standardHost({}, ${JSON.stringify(host.root)});
  const conn = await Connect.open(${JSON.stringify(uri)});
  let refusal = '';
  try { await (await NodeDevice.lookupByName(conn, 'pci_0000_06_12_1')).detachFlags(null); } catch (e) { refusal = String((e as Error).message); }
  await (await Domain.lookupByName(conn, 'team2')).destroy();
  await conn.close();
  console.log(JSON.stringify({ refusal }));
})();
`,
    );
    const out = execFileSync(path.join(repoRoot, 'node_modules/.bin/tsx'), [script], { encoding: 'utf8', timeout: 50_000 });
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), {
      refusal: `Requested operation is not valid: PCI device ${VF} is in use by driver QEMU, domain team2`,
    });
    assert.equal(host.driverOf(VF), 'igbvf');
    assert.ok(!host.exists('/dev/vfio/10'));
    // It found the PF's former settings in the file this process saved, and put them back.
    assert.deepEqual(host.netlink.vf(PF, 0), { mac: VF_HOST_MAC, vlan: 0, qos: 0 });
    assert.ok(!fs.existsSync(savedVfConfig()));
    // Back here, reloading the state forgets the hold the other process released.
    conn = session.conn = await Connect.open(uri);
    await (await vfDevice()).detachFlags(null);
    assert.equal(host.driverOf(VF), 'vfio-pci');
  });
});
