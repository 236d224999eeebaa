// The QEMU connection's node devices (libvirt's node device driver, udev backend) on a fake
// sysfs tree: listing with libvirt's filter flags, lookup, libvirt 9.0's XML for PCI, SR-IOV and
// network devices, parents and capabilities. The tree is reached through qemu:///embed's
// sysfsroot= test hook.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Connect } from '../../../src/connect';
import {
  VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE,
  VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET,
  VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV,
  VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM,
  VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE,
} from '../../../src/constants';
import { VIR_ERR_INVALID_ARG, VIR_ERR_NO_NODE_DEVICE, VIR_FROM_NODEDEV } from '../../../src/error';
import { NodeDevice } from '../../../src/node-device';
import { standardHost, type FakeHost } from '../../support/fake-sysfs';
import { closeFakeHost, connectToFakeHost, type FakeHostConnection } from '../../support/fake-host-connection';
import { libvirtReformatsNodeDevices, requirePythonLibvirt } from '../../support/python-libvirt';
import { skipWithoutQemu } from '../../support/qemu';
import { rejection } from '../../support/rejection';

const VF_XML = `<device>
  <name>pci_0000_06_12_1</name>
  <path>/sys/devices/pci0000:00/0000:00:1c.0/0000:06:12.1</path>
  <parent>pci_0000_00_1c_0</parent>
  <driver>
    <name>igbvf</name>
  </driver>
  <capability type='pci'>
    <class>0x020000</class>
    <domain>0</domain>
    <bus>6</bus>
    <slot>18</slot>
    <function>1</function>
    <product id='0x10ca'/>
    <vendor id='0x8086'/>
    <capability type='phys_function'>
      <address domain='0x0000' bus='0x06' slot='0x12' function='0x0'/>
    </capability>
    <iommuGroup number='10'>
      <address domain='0x0000' bus='0x06' slot='0x12' function='0x1'/>
    </iommuGroup>
    <numa node='0'/>
  </capability>
</device>
`;

const PF_CAP_TAIL = `    <capability type='virt_functions' maxCount='7'>
      <address domain='0x0000' bus='0x06' slot='0x12' function='0x1'/>
      <address domain='0x0000' bus='0x06' slot='0x12' function='0x2'/>
    </capability>
    <iommuGroup number='9'>
      <address domain='0x0000' bus='0x06' slot='0x12' function='0x0'/>
    </iommuGroup>
    <numa node='0'/>
    <pci-express>
      <link validity='cap' port='1' speed='5' width='4'/>
      <link validity='sta' speed='5' width='4'/>
    </pci-express>
  </capability>
</device>
`;

describe('drivers/qemu/node-device: the host node devices of a QEMU connection', function () {
  let host: FakeHost;
  let stateRoot: string;
  let conn: Connect;

  before(function () {
    skipWithoutQemu(this);
  });

  let session: FakeHostConnection;
  beforeEach(async () => {
    session = await connectToFakeHost('virtnode-nodedev-', standardHost());
    ({ host, root: stateRoot, conn } = session);
  });

  afterEach(() => closeFakeHost(session));

  it('lists the computer, every PCI device and every interface, as udev names them', async () => {
    const names = (await conn.listAllNodeDevices()).map((d) => d.getName());
    assert.deepEqual(names, [
      'computer',
      'pci_0000_00_02_0',
      'pci_0000_00_19_0',
      'pci_0000_00_1c_0',
      'pci_0000_00_1f_0',
      'pci_0000_00_1f_2',
      'pci_0000_00_1f_3',
      'pci_0000_06_12_0',
      'pci_0000_06_12_1',
      'pci_0000_06_12_2',
      'net_eno1_00_1b_21_bb_00_01',
      'net_enp6s18f0_00_1b_21_aa_00_00',
      'net_enp6s18f0v0_52_54_00_00_06_01',
      'net_enp6s18f0v1_52_54_00_00_06_02',
    ]);
  });

  it('filters by capability and by active/inactive state as virConnectListAllNodeDevices does', async () => {
    const names = async (flags: number) => (await conn.listAllNodeDevices(flags)).map((d) => d.getName());
    assert.deepEqual(await names(VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM), ['computer']);
    assert.equal((await names(VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV)).length, 9);
    assert.ok((await names(VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV)).every((n) => n.startsWith('pci_')));
    assert.equal((await names(VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET | VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM)).length, 5);
    assert.equal((await names(VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE)).length, 14);
    assert.deepEqual(await names(VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE), []);
    const err = await rejection(conn.listAllNodeDevices(1 << 29));
    assert.equal(err.code, VIR_ERR_INVALID_ARG);
    assert.equal(err.domain, VIR_FROM_NODEDEV);
    assert.equal(err.message, 'unsupported flags (0x20000000) in function nodeConnectListAllNodeDevices');
  });

  it('counts and names devices by capability (virNodeNumOfDevices, virNodeListDevices)', async () => {
    assert.equal(await conn.nodeNumOfDevices(null), 14);
    assert.equal(await conn.nodeNumOfDevices('pci'), 9);
    assert.deepEqual(await conn.nodeListDevices('net', 2), ['net_eno1_00_1b_21_bb_00_01', 'net_enp6s18f0_00_1b_21_aa_00_00']);
    assert.deepEqual(await conn.nodeListDevices('system'), ['computer']);
  });

  it("describes a VF as libvirt 9.0 does: its PF, its own IOMMU group, NUMA node, driver", async () => {
    const vf = await NodeDevice.lookupByName(conn, 'pci_0000_06_12_1');
    assert.equal(vf.getName(), 'pci_0000_06_12_1');
    assert.equal(await vf.getXMLDesc(), VF_XML);
  });

  it('describes the PF with its enabled VFs, maxCount from sriov_totalvfs, and its PCIe links', async () => {
    const xml = await (await NodeDevice.lookupByName(conn, 'pci_0000_06_12_0')).getXMLDesc();
    assert.ok(xml.endsWith(`    <vendor id='0x8086'/>\n${PF_CAP_TAIL}`), xml);
    assert.match(xml, /<driver>\n {4}<name>igb<\/name>\n {2}<\/driver>/);
  });

  it('marks a bridge with its header type and an interface with its link', async () => {
    const bridge = await (await NodeDevice.lookupByName(conn, 'pci_0000_00_1c_0')).getXMLDesc();
    assert.match(bridge, /<capability type='pci-bridge'\/>/);
    const net = await (await NodeDevice.lookupByName(conn, 'net_enp6s18f0v0_52_54_00_00_06_01')).getXMLDesc();
    assert.equal(
      net,
      `<device>
  <name>net_enp6s18f0v0_52_54_00_00_06_01</name>
  <path>/sys/devices/pci0000:00/0000:00:1c.0/0000:06:12.1/net/enp6s18f0v0</path>
  <parent>pci_0000_06_12_1</parent>
  <capability type='net'>
    <interface>enp6s18f0v0</interface>
    <address>52:54:00:00:06:01</address>
    <link speed='1000' state='up'/>
    <capability type='80203'/>
  </capability>
</device>
`,
    );
  });

  it('describes the computer from DMI', async () => {
    const xml = await (await NodeDevice.lookupByName(conn, 'computer')).getXMLDesc();
    assert.match(xml, /<product>Test Host 1<\/product>/);
    assert.match(xml, /<vendor>Fake Systems<\/vendor>\n {6}<uuid>4c4c4544-0042-3510-8030-b2c04f4a3232<\/uuid>/);
    assert.match(xml, /<release_date>01\/02\/2024<\/release_date>/);
  });

  it('gives parents along sysfs (VFs hang off the root port, interfaces off their function) and capabilities', async () => {
    const parent = async (name: string) => (await NodeDevice.lookupByName(conn, name)).getParent();
    assert.equal(await parent('computer'), null);
    assert.equal(await parent('pci_0000_00_1c_0'), 'computer');
    assert.equal(await parent('pci_0000_06_12_0'), 'pci_0000_00_1c_0');
    assert.equal(await parent('pci_0000_06_12_2'), 'pci_0000_00_1c_0');
    assert.equal(await parent('net_enp6s18f0_00_1b_21_aa_00_00'), 'pci_0000_06_12_0');
    const pf = await NodeDevice.lookupByName(conn, 'pci_0000_06_12_0');
    assert.equal(await pf.numOfCaps(), 1);
    assert.deepEqual(await pf.listCaps(), ['pci']);
    assert.deepEqual(await (await NodeDevice.lookupByName(conn, 'computer')).listCaps(), ['system']);
  });

  it('reports an unknown name as libvirt does, and a device that went away on its next call', async () => {
    const err = await rejection(NodeDevice.lookupByName(conn, 'pci_0000_09_00_0'));
    assert.equal(err.code, VIR_ERR_NO_NODE_DEVICE);
    assert.equal(err.domain, VIR_FROM_NODEDEV);
    assert.equal(err.message, "Node device not found: no node device with matching name 'pci_0000_09_00_0'");
    const vf = await NodeDevice.lookupByName(conn, 'pci_0000_06_12_2');
    fs.rmSync(host.at('/sys/bus/pci/devices/0000:06:12.2'));
    assert.equal((await rejection(vf.getXMLDesc())).code, VIR_ERR_NO_NODE_DEVICE);
    assert.equal((await rejection(vf.getXMLDesc(1))).message, 'unsupported flags (0x1) in function nodeDeviceGetXMLDesc');
  });

  it('formats each device exactly as libvirt 9.0 formats the same definition', async function () {
    requirePythonLibvirt(this);
    const devices = await conn.listAllNodeDevices();
    // libvirt's parser drops <driver>; everything else must survive its parse and format.
    const ours = await Promise.all(devices.map(async (d) => (await d.getXMLDesc()).replace(/ {2}<driver>\n.*\n {2}<\/driver>\n/, '')));
    const theirs = libvirtReformatsNodeDevices(stateRoot, ours, devices.map((d) => d.getName()));
    assert.deepEqual(ours, theirs);
  });
});
