// Host USB devices named by vendor/product (what desktop VM managers write for "pass this stick
// through"), resolved against a fake sysfs when the domain starts or the device is hot-plugged,
// as libvirt's virHostdevPrepareUSBDevices does. This machine has no USB, so a device that is
// found gets a /dev/bus/usb node QEMU cannot open: the start runs up to QEMU, whose own message
// names the node the device resolved to, and must leave nothing behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { domainDeviceMatches, parseDeviceXML, parseDomainXML } from '../../../src/conf/domain';
import { Connect } from '../../../src/connect';
import { VIR_DOMAIN_RUNNING, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_XML_INACTIVE } from '../../../src/constants';
import { Domain } from '../../../src/domain';
import { VIR_ERR_INTERNAL_ERROR, VIR_ERR_OPERATION_FAILED, VIR_ERR_OPERATION_INVALID, VIR_FROM_NONE, VIR_FROM_QEMU } from '../../../src/error';
import { hostdevManager } from '../../../src/drivers/qemu/hostdev';
import { STANDARD_USB, standardHost, type FakeHost } from '../../support/fake-sysfs';
import { closeFakeHost, connectToFakeHost, type FakeHostConnection } from '../../support/fake-host-connection';
import { guestXml, skipWithoutQemu } from '../../support/qemu';
import { rejection } from '../../support/rejection';

/** A <hostdev> for a USB device; `source` is what goes inside <source>. */
function usbHostdev(source: string, sourceAttrs = ''): string {
  return `<hostdev mode='subsystem' type='usb' managed='no'><source${sourceAttrs}>${source}</source></hostdev>`;
}

const RECEIVER = `<vendor id='0x046d'/><product id='0xc52b'/>`;
const STICK = `<vendor id='0x0781'/><product id='0x5581'/>`;
const ABSENT = `<vendor id='0x1234'/><product id='0x5678'/>`;

function usbDomain(name: string, hostdevs: string[]): string {
  return guestXml(name, 'pc', `    ${hostdevs.join('\n    ')}`);
}

describe('drivers/qemu/hostdev: USB hostdevs by vendor/product, resolved against the host', function () {
  this.timeout(60_000);
  let host: FakeHost;
  let stateRoot: string;
  let conn: Connect;

  before(function () {
    skipWithoutQemu(this);
  });

  let session: FakeHostConnection;
  beforeEach(async () => {
    session = await connectToFakeHost('virtnode-hostdev-usb-', standardHost({ usb: STANDARD_USB }));
    ({ host, root: stateRoot, conn } = session);
  });

  afterEach(() => closeFakeHost(session));

  const manager = () => hostdevManager(host.root);

  /** A start that reached QEMU: the error is QEMU's, about the node the device resolved to. */
  async function assertQemuRefusedNode(dom: Domain, node: string): Promise<void> {
    const err = await rejection(dom.create());
    assert.equal(err.code, VIR_ERR_INTERNAL_ERROR);
    assert.match(err.message, new RegExp(`failed to open ${node}: No such file or directory`));
    assert.equal((await dom.getState()).state, VIR_DOMAIN_SHUTOFF);
    for (const d of await conn.listAllDomains()) assert.equal(await d.isActive(), false);
  }

  it('domxml-to-native does not look at the host: IDs without an address are refused, as libvirt 9.0 refuses them', async () => {
    // Checked against libvirt 9.0's own driver: its pretend start does not prepare host devices.
    const err = await rejection(conn.domainXMLToNative('qemu-argv', usbDomain('native', [usbHostdev(RECEIVER)])));
    assert.deepEqual([err.code, err.domain, err.message], [VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, 'internal error: USB host device is missing bus/device information']);
    const argv = await conn.domainXMLToNative('qemu-argv', usbDomain('native', [usbHostdev(`${RECEIVER}<address bus='1' device='5'/>`)]));
    assert.match(argv, /-device '\{"driver":"usb-host","hostdevice":"\/dev\/bus\/usb\/001\/005","id":"hostdev0","bus":"usb.0","port":"1"\}'/);
  });

  it('finds the one device with the IDs, and QEMU is given its node; a failed start leaves it free and the definition as it was', async () => {
    const dom = await Domain.defineXML(conn, usbDomain('receiver', [usbHostdev(RECEIVER)]));
    const before = await dom.getXMLDesc(VIR_DOMAIN_XML_INACTIVE);
    await assertQemuRefusedNode(dom, '/dev/bus/usb/001/005');
    assert.equal(manager().usbUserOf('001:005'), undefined);
    assert.equal(await dom.getXMLDesc(VIR_DOMAIN_XML_INACTIVE), before);
    assert.doesNotMatch(before, /<address bus=/);
    // Nothing of the run is left in the state directory.
    const run = path.join(stateRoot, 'run', 'qemu');
    assert.deepEqual(fs.existsSync(run) ? fs.readdirSync(run).filter((f) => f.startsWith('receiver')) : [], []);
  });

  it('refuses a device the host does not have, before QEMU runs', async () => {
    const dom = await Domain.defineXML(conn, usbDomain('absent', [usbHostdev(ABSENT)]));
    const err = await rejection(dom.create());
    assert.deepEqual([err.code, err.domain, err.message], [VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'internal error: Did not find USB device 1234:5678']);
    const moved = await Domain.defineXML(conn, usbDomain('moved', [usbHostdev(`${RECEIVER}<address bus='2' device='5'/>`)]));
    const at = await rejection(moved.create());
    assert.equal(at.message, 'internal error: Did not find USB device 046d:c52b bus:2 device:5');
    // Requisite is required on a cold boot.
    const requisite = await Domain.defineXML(conn, usbDomain('requisite', [usbHostdev(ABSENT, ` startupPolicy='requisite'`)]));
    assert.equal((await rejection(requisite.create())).message, 'internal error: Did not find USB device 1234:5678');
    for (const d of [dom, moved, requisite]) assert.equal((await d.getState()).state, VIR_DOMAIN_SHUTOFF);
  });

  it('refuses IDs two devices share unless an address picks one', async () => {
    const dom = await Domain.defineXML(conn, usbDomain('sticks', [usbHostdev(STICK)]));
    const err = await rejection(dom.create());
    assert.deepEqual([err.code, err.domain, err.message], [
      VIR_ERR_OPERATION_FAILED,
      VIR_FROM_NONE,
      'operation failed: Multiple USB devices for 781:5581, use <address> to specify one',
    ]);
    const picked = await Domain.defineXML(conn, usbDomain('stick2', [usbHostdev(`${STICK}<address bus='2' device='12'/>`)]));
    await assertQemuRefusedNode(picked, '/dev/bus/usb/002/012');
  });

  it('starts without an optional device the host lacks: marked missing in the live XML only, QEMU gets an empty usb-host', async () => {
    const dom = await Domain.defineXML(conn, usbDomain('optional', [usbHostdev(ABSENT, ` startupPolicy='optional'`)]));
    await dom.create();
    assert.equal((await dom.getState()).state, VIR_DOMAIN_RUNNING);
    const live = await dom.getXMLDesc();
    assert.match(live, /<source startupPolicy='optional' missing='yes'>\n\s*<vendor id='0x1234'\/>\n\s*<product id='0x5678'\/>\n\s*<\/source>/);
    assert.doesNotMatch(await dom.getXMLDesc(VIR_DOMAIN_XML_INACTIVE), /missing=/);
    const log = fs.readFileSync(path.join(stateRoot, 'log', 'qemu', 'optional.log'), 'utf8');
    assert.match(log, /-device '\{"driver":"usb-host","id":"hostdev0","bus":"usb.0","port":"1"\}'/);
    await dom.destroy();
    assert.doesNotMatch(await dom.getXMLDesc(), /missing=/);
  });

  it('refuses a device another domain holds, and one named twice in a domain', async () => {
    // A running domain holds the receiver (no USB on this machine lets QEMU itself keep one).
    const holder = await Domain.defineXML(conn, usbDomain('holder', [usbHostdev(RECEIVER)]));
    const hostdevs = parseDomainXML(await holder.getXMLDesc()).devices.hostdevs;
    await manager().prepareUsbDevices('holder', hostdevs, 'elsewhere');
    assert.match(hostdevs[0].sourceChildren.map((c) => c.name).join(','), /address/);
    try {
      const dom = await Domain.defineXML(conn, usbDomain('second', [usbHostdev(`${RECEIVER}<address bus='1' device='5'/>`)]));
      const err = await rejection(dom.create());
      assert.deepEqual([err.code, err.domain, err.message], [
        VIR_ERR_OPERATION_INVALID,
        VIR_FROM_NONE,
        'Requested operation is not valid: USB device 001:005 is in use by driver QEMU, domain holder',
      ]);
    } finally {
      await manager().releaseUsbDevices('holder', hostdevs, 'elsewhere');
    }
    assert.equal(manager().usbUserOf('001:005'), undefined);
    const twice = await Domain.defineXML(conn, usbDomain('twice', [usbHostdev(RECEIVER), usbHostdev(`<address bus='1' device='5'/>`)]));
    assert.equal((await rejection(twice.create())).message, 'internal error: Device 001:005 is already in use');
  });

  it('hot-plug resolves the IDs too: QEMU is asked for the node, and a refused attach leaves the device free', async () => {
    const dom = await Domain.defineXML(conn, usbDomain('hotplug', []));
    await dom.create();
    const before = await dom.getXMLDesc();
    const err = await rejection(dom.attachDevice(usbHostdev(RECEIVER)));
    assert.match(err.message, /failed to open \/dev\/bus\/usb\/001\/005: No such file or directory/);
    assert.equal(manager().usbUserOf('001:005'), undefined);
    assert.equal(await dom.getXMLDesc(), before);
    const absent = await rejection(dom.attachDevice(usbHostdev(ABSENT)));
    assert.deepEqual([absent.code, absent.message], [VIR_ERR_INTERNAL_ERROR, 'internal error: Did not find USB device 1234:5678']);
    // A hot-plug is no cold boot: a requisite device the host lacks is plugged in as missing.
    await dom.attachDevice(usbHostdev(ABSENT, ` startupPolicy='requisite'`));
    assert.match(await dom.getXMLDesc(), /<source startupPolicy='requisite' missing='yes'>/);
  });

  it('a device found by its IDs is still the one its IDs name when it is detached, or the one at its address', () => {
    const def = parseDomainXML(usbDomain('found', [usbHostdev(`${RECEIVER}<address bus='1' device='5'/>`)]));
    const live = def.devices.hostdevs[0];
    const matches = (source: string) => domainDeviceMatches(live, parseDeviceXML(usbHostdev(source), def));
    assert.equal(matches(RECEIVER), true);
    assert.equal(matches(`<address bus='1' device='5'/>`), true);
    assert.equal(matches(`<address bus='2' device='12'/>`), false);
    assert.equal(matches(STICK), false);
  });
});
