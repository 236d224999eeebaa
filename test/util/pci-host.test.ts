// Host PCI enumeration through the kernel-files seam, on a fake sysfs tree and on this machine's
// real /sys (read only).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { formatPciAddress } from '../../src/util/pci';
import { iommuGroupMembers, listPciDevices, readPciConfigFacts, readPciDevice } from '../../src/util/pci-host';
import { HostKernelFiles, kernelFiles } from '../../src/util/sysfs';
import { standardHost, type FakeHost } from '../support/fake-sysfs';

describe('util/pci-host: reading PCI devices from sysfs (virpci.c)', () => {
  let host: FakeHost;
  beforeEach(() => {
    host = standardHost();
  });
  afterEach(() => host.dispose());

  it('lists every device under /sys/bus/pci/devices in address order', async () => {
    assert.deepEqual(await listPciDevices(kernelFiles(host.root)), [
      '0000:00:02.0',
      '0000:00:19.0',
      '0000:00:1c.0',
      '0000:00:1f.0',
      '0000:00:1f.2',
      '0000:00:1f.3',
      '0000:06:12.0',
      '0000:06:12.1',
      '0000:06:12.2',
    ]);
  });

  it('reads a PF: IDs, class, driver, IOMMU group, its VFs in virtfnN order, VF counts, NUMA node, interfaces', async () => {
    const pf = await readPciDevice(kernelFiles(host.root), '0000:06:12.0');
    assert.ok(pf);
    assert.equal(pf.sysfsPath, '/sys/devices/pci0000:00/0000:00:1c.0/0000:06:12.0');
    assert.equal(pf.vendor, 0x8086);
    assert.equal(pf.product, 0x10c9);
    assert.equal(pf.class, 0x020000);
    assert.equal(pf.driver, 'igb');
    assert.equal(pf.iommuGroup, 9);
    assert.equal(pf.physFunction, null);
    assert.deepEqual(pf.virtFunctions.map(formatPciAddress), ['0000:06:12.1', '0000:06:12.2']);
    assert.equal(pf.maxVirtFunctions, 7);
    assert.equal(pf.numVirtFunctions, 2);
    assert.equal(pf.numaNode, 0);
    assert.deepEqual(pf.netNames, ['enp6s18f0']);
  });

  it('reads a VF: its PF through physfn, no VFs of its own, its interface while igbvf holds it', async () => {
    const vf = await readPciDevice(kernelFiles(host.root), '0000:06:12.2');
    assert.ok(vf);
    assert.equal(formatPciAddress(vf.physFunction!), '0000:06:12.0');
    assert.deepEqual(vf.virtFunctions, []);
    assert.equal(vf.maxVirtFunctions, 0);
    assert.deepEqual(vf.netNames, ['enp6s18f0v1']);
  });

  it('reads a device with no driver and no NUMA affinity as such, and a missing one as null', async () => {
    const gpu = await readPciDevice(kernelFiles(host.root), '0000:00:02.0');
    assert.equal(gpu?.driver, null);
    assert.equal(gpu?.numaNode, -1);
    assert.equal(await readPciDevice(kernelFiles(host.root), '0000:09:00.0'), null);
    assert.equal(await readPciDevice(kernelFiles(host.root), 'not-a-bdf'), null);
  });

  it('lists the members of a multi-function IOMMU group', async () => {
    const members = await iommuGroupMembers(kernelFiles(host.root), 8);
    assert.deepEqual(members.map(formatPciAddress), ['0000:00:1f.0', '0000:00:1f.2', '0000:00:1f.3']);
  });

  it('reads the header type and PCI Express links from config space', async () => {
    const files = kernelFiles(host.root);
    assert.deepEqual(await readPciConfigFacts(files, '0000:00:1c.0'), { headerType: 'pci-bridge' });
    assert.deepEqual(await readPciConfigFacts(files, '0000:06:12.0'), {
      headerType: 'endpoint',
      pcie: { linkCap: { port: 1, speed: '5', width: 4 }, linkSta: { port: undefined, speed: '5', width: 4 } },
    });
  });

  it("reads this machine's real /sys without writing to it", async function () {
    if (!fs.existsSync('/sys/bus/pci/devices')) this.skip();
    const files = new HostKernelFiles('');
    const names = await listPciDevices(files);
    assert.equal(names.length, fs.readdirSync('/sys/bus/pci/devices').length);
    for (const name of names) {
      const dev = await readPciDevice(files, name);
      assert.ok(dev, name);
      assert.equal(dev.sysfsPath, fs.realpathSync(`/sys/bus/pci/devices/${name}`));
      assert.equal(dev.vendor, Number.parseInt(fs.readFileSync(`/sys/bus/pci/devices/${name}/vendor`, 'utf8'), 16));
    }
  });
});
