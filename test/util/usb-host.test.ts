// Host USB enumeration through the kernel-files seam (libvirt's virusb.c), on a fake sysfs tree:
// which entries are devices, how bus and device numbers are read, and libvirt's errors when a
// device is not there or the tree cannot be read.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE } from '../../src/error';
import { kernelFiles } from '../../src/util/sysfs';
import { findUsb, findUsbByBus, findUsbByVendor, listUsbDevices, usbDeviceName, usbDevicePath } from '../../src/util/usb-host';
import { STANDARD_USB, standardHost, type FakeHost } from '../support/fake-sysfs';
import { rejection } from '../support/rejection';

describe('util/usb-host: host USB devices from sysfs (virusb.c)', () => {
  let host: FakeHost;
  beforeEach(() => {
    host = standardHost({ usb: STANDARD_USB });
  });
  afterEach(() => host.dispose());

  const files = () => kernelFiles(host.root);
  const byName = (a: { sysfsName: string }, b: { sysfsName: string }) => a.sysfsName.localeCompare(b.sysfsName);

  it('lists devices, hubs and root hubs, not their interfaces, with the bus from the directory name', async () => {
    const devices = (await listUsbDevices(files())).sort(byName);
    assert.deepEqual(devices, [
      { sysfsName: '1-1', bus: 1, device: 2, vendor: 0x05e3, product: 0x0608 },
      { sysfsName: '1-1.4', bus: 1, device: 7, vendor: 0x0781, product: 0x5581 },
      { sysfsName: '1-2', bus: 1, device: 5, vendor: 0x046d, product: 0xc52b },
      { sysfsName: '2-3', bus: 2, device: 12, vendor: 0x0781, product: 0x5581 },
      { sysfsName: 'usb1', bus: 1, device: 1, vendor: 0x1d6b, product: 0x0002 },
      { sysfsName: 'usb2', bus: 2, device: 1, vendor: 0x1d6b, product: 0x0003 },
    ]);
    assert.ok(fs.readdirSync(host.at('/sys/bus/usb/devices')).includes('1-2:1.2'));
  });

  it('names a device BBB:DDD and opens it at /dev/bus/usb/BBB/DDD', () => {
    assert.equal(usbDeviceName(1, 5), '001:005');
    assert.equal(usbDevicePath(2, 12), '/dev/bus/usb/002/012');
  });

  it('finds every device with a vendor and product, and none as an error only when it is mandatory', async () => {
    assert.deepEqual((await findUsbByVendor(files(), 0x0781, 0x5581, true)).map((d) => usbDeviceName(d.bus, d.device)).sort(), ['001:007', '002:012']);
    assert.deepEqual(await findUsbByVendor(files(), 0x1234, 0x5678, false), []);
    const err = await rejection(findUsbByVendor(files(), 0x1234, 0x0abc, true));
    assert.deepEqual([err.code, err.domain, err.message], [VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'internal error: Did not find USB device 1234:0abc']);
  });

  it('finds a device by IDs at an address, or by address alone, with libvirt\'s messages when it is not there', async () => {
    assert.equal((await findUsb(files(), 0x046d, 0xc52b, 1, 5, true))?.sysfsName, '1-2');
    assert.equal(await findUsb(files(), 0x046d, 0xc52b, 1, 6, false), null);
    const wrongPlace = await rejection(findUsb(files(), 0x046d, 0xc52b, 2, 5, true));
    assert.equal(wrongPlace.message, 'internal error: Did not find USB device 046d:c52b bus:2 device:5');
    assert.equal((await findUsbByBus(files(), 2, 12, true))?.product, 0x5581);
    const nothing = await rejection(findUsbByBus(files(), 3, 1, true));
    assert.deepEqual([nothing.code, nothing.domain, nothing.message], [VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'internal error: Did not find USB device bus:3 device:1']);
  });

  it('a device that goes away is no longer found', async () => {
    host.kernel.unplugUsb('1-2');
    assert.deepEqual(await findUsbByVendor(files(), 0x046d, 0xc52b, false), []);
    assert.ok(!fs.readdirSync(host.at('/sys/bus/usb/devices')).some((e) => e.startsWith('1-2')));
  });

  it('reports an attribute it cannot parse or read, and a host without USB, as libvirt does', async () => {
    fs.writeFileSync(host.at('/sys/bus/usb/devices/1-2/devnum'), 'x\n');
    const garbled = await rejection(listUsbDevices(files()));
    assert.deepEqual([garbled.code, garbled.message], [VIR_ERR_INTERNAL_ERROR, 'internal error: Could not parse usb file /sys/bus/usb/devices/1-2/devnum']);
    fs.rmSync(host.at('/sys/bus/usb/devices/1-2/devnum'));
    const unreadable = await rejection(listUsbDevices(files()));
    assert.deepEqual([unreadable.code, unreadable.message], [
      VIR_ERR_SYSTEM_ERROR,
      "Failed to open file '/sys/bus/usb/devices/1-2/devnum': No such file or directory",
    ]);
    fs.rmSync(host.at('/sys/bus/usb'), { recursive: true });
    const noUsb = await rejection(findUsbByVendor(files(), 0x046d, 0xc52b, false));
    assert.deepEqual([noUsb.code, noUsb.message], [VIR_ERR_SYSTEM_ERROR, "cannot open directory '/sys/bus/usb/devices': No such file or directory"]);
  });
});
