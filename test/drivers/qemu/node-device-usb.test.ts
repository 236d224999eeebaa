// USB devices and interfaces among a QEMU connection's node devices (libvirt's udev backend
// names them usb_<sysname>), on a fake sysfs with an xHCI controller, two root hubs, a hub and
// three devices: names, the usb_device and usb capability filters, parents along sysfs, the XML
// (checked against libvirt 9.0's own parser and formatter), and a device pulled out.
import assert from 'node:assert/strict';
import { Connect } from '../../../src/connect';
import { VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV, VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_INTERFACE } from '../../../src/constants';
import { VIR_ERR_NO_NODE_DEVICE } from '../../../src/error';
import { NodeDevice } from '../../../src/node-device';
import { STANDARD_USB, standardHost, type FakeHost } from '../../support/fake-sysfs';
import { closeFakeHost, connectToFakeHost, type FakeHostConnection } from '../../support/fake-host-connection';
import { libvirtReformatsNodeDevices, requirePythonLibvirt } from '../../support/python-libvirt';
import { skipWithoutQemu } from '../../support/qemu';
import { rejection } from '../../support/rejection';

const RECEIVER_XML = `<device>
  <name>usb_1_2</name>
  <path>/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2</path>
  <devnode type='dev'>/dev/bus/usb/001/005</devnode>
  <parent>usb_usb1</parent>
  <capability type='usb_device'>
    <bus>1</bus>
    <device>5</device>
    <product id='0xc52b'>USB Receiver</product>
    <vendor id='0x046d'>Logitech</vendor>
  </capability>
</device>
`;

describe('drivers/qemu/node-device: host USB devices and interfaces', function () {
  let host: FakeHost;
  let stateRoot: string;
  let conn: Connect;

  before(function () {
    skipWithoutQemu(this);
  });

  let session: FakeHostConnection;
  beforeEach(async () => {
    session = await connectToFakeHost('virtnode-nodedev-usb-', standardHost({ usb: STANDARD_USB }));
    ({ host, root: stateRoot, conn } = session);
  });

  afterEach(() => closeFakeHost(session));

  const names = async (flags: number) => (await conn.listAllNodeDevices(flags)).map((d) => d.getName());

  it('names each device and interface usb_<sysname>, and filters them by usb_device and usb', async () => {
    assert.deepEqual(await names(VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV), ['usb_1_1', 'usb_1_1_4', 'usb_1_2', 'usb_2_3', 'usb_usb1', 'usb_usb2']);
    assert.deepEqual(await names(VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_INTERFACE), [
      'usb_1_0_1_0',
      'usb_1_1_4_1_0',
      'usb_1_1_1_0',
      'usb_1_2_1_0',
      'usb_1_2_1_1',
      'usb_1_2_1_2',
      'usb_2_0_1_0',
      'usb_2_3_1_0',
    ]);
    assert.equal(await conn.nodeNumOfDevices('usb_device'), 6);
    assert.equal(await conn.nodeNumOfDevices('usb'), 8);
  });

  it('describes a device by bus, device number, IDs and its own strings, with its /dev/bus/usb node', async () => {
    assert.equal(await (await NodeDevice.lookupByName(conn, 'usb_1_2')).getXMLDesc(), RECEIVER_XML);
    // A device without descriptor strings: bare IDs, in libvirt's spelling.
    assert.match(await (await NodeDevice.lookupByName(conn, 'usb_1_1')).getXMLDesc(), /<product id='0x0608' \/>\n {4}<vendor id='0x05e3' \/>/);
    const intf = await NodeDevice.lookupByName(conn, 'usb_1_1_4_1_0');
    assert.match(await intf.getXMLDesc(), /<capability type='usb'>\n {4}<number>0<\/number>\n {4}<class>8<\/class>\n {4}<subclass>6<\/subclass>\n {4}<protocol>80<\/protocol>\n {2}<\/capability>/);
    assert.deepEqual(await intf.listCaps(), ['usb']);
  });

  it('gives parents along sysfs: interfaces their device, devices their hub, root hubs the controller', async () => {
    const parent = async (name: string) => (await NodeDevice.lookupByName(conn, name)).getParent();
    assert.equal(await parent('usb_1_2_1_1'), 'usb_1_2');
    assert.equal(await parent('usb_1_1_4'), 'usb_1_1');
    assert.equal(await parent('usb_1_1'), 'usb_usb1');
    assert.equal(await parent('usb_usb2'), 'pci_0000_00_14_0');
  });

  it('a device pulled out is gone, with its interfaces, on the next call', async () => {
    const stick = await NodeDevice.lookupByName(conn, 'usb_2_3');
    host.kernel.unplugUsb('2-3');
    assert.equal((await rejection(stick.getXMLDesc())).code, VIR_ERR_NO_NODE_DEVICE);
    assert.ok(!(await names(0)).some((n) => n.startsWith('usb_2_3')));
  });

  it('formats USB devices and interfaces exactly as libvirt 9.0 formats the same definitions', async function () {
    requirePythonLibvirt(this);
    const devices = (await conn.listAllNodeDevices()).filter((d) => d.getName().startsWith('usb_'));
    const ours = await Promise.all(devices.map((d) => d.getXMLDesc()));
    const theirs = libvirtReformatsNodeDevices(stateRoot, ours, devices.map((d) => d.getName()));
    assert.deepEqual(ours, theirs);
  });
});
