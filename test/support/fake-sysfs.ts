// A fake host for the PCI/VFIO/SR-IOV code: a sysfs tree built in a temporary directory, laid
// out as the kernel lays it out (device directories under /sys/devices, relative symlinks from
// /sys/bus/pci/devices, iommu_group, driver, physfn and virtfnN links, /sys/class/net), and a
// fake kernel behind virtnode's KernelFiles seam whose writes do what the kernel does: bind,
// unbind, driver_override, drivers_probe, /dev/vfio/<group> appearing and going, a NIC's
// interfaces going away while it is on vfio-pci. Modeled on libvirt's tests/virpcimock.c, which
// does the same with LD_PRELOAD; here the seam is ours, so no interposing is needed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { substituteVfLinks } from '../../src/util/netdev-vf';
import { HostKernelFiles, substituteKernelFiles } from '../../src/util/sysfs';
import { FakeNetlink, type FakePf } from './fake-netlink';

export interface FakePciDevice {
  bdf: string;
  vendor: number;
  device: number;
  class: number;
  /** The driver bound when the tree is built. */
  driver?: string;
  iommuGroup?: number;
  /** BDF of the bridge the device sits behind; else the root bus. */
  parent?: string;
  numaNode?: number;
  /** For a VF: its PF's BDF (a sibling directory, as the kernel places VFs). */
  physfn?: string;
  /** For a PF: sriov_totalvfs. sriov_numvfs counts the VFs declared with physfn. */
  totalVfs?: number;
  /** Interfaces the device has while a network driver holds it: name -> MAC. */
  net?: Record<string, string>;
  /** 0 endpoint, 1 PCI bridge, 2 CardBus bridge */
  headerType?: number;
  /** A PCI Express capability: with FLR, link capability and status. */
  pcie?: { flr: boolean; linkCap?: { port: number; speed: number; width: number }; linkSta?: { speed: number; width: number } };
  /** A `reset` attribute (the kernel has a reset method for the device). */
  resetFile?: boolean;
}

/** A USB device as /sys/bus/usb/devices shows it: 'usbN' for a root hub, 'N-port[.port]' behind it. */
export interface FakeUsbDevice {
  name: string;
  vendor: number;
  product: number;
  devnum: number;
  /** The descriptor strings sysfs shows as `manufacturer` and `product`. */
  strings?: { manufacturer: string; product: string };
  /** Interfaces ('1-2:1.0'), which sysfs lists beside the devices: how many, and their class, subclass, protocol. */
  interfaces?: number;
  interfaceClass?: [number, number, number];
}

/**
 * Two root hubs, a hub behind the first, a Logitech receiver, and two identical SanDisk sticks
 * on different buses, one of them behind the hub.
 */
export const STANDARD_USB: FakeUsbDevice[] = [
  { name: 'usb1', vendor: 0x1d6b, product: 0x0002, devnum: 1, strings: { manufacturer: 'Linux 6.1.0 xhci-hcd', product: 'xHCI Host Controller' }, interfaceClass: [9, 0, 0] },
  { name: 'usb2', vendor: 0x1d6b, product: 0x0003, devnum: 1, strings: { manufacturer: 'Linux 6.1.0 xhci-hcd', product: 'xHCI Host Controller' }, interfaceClass: [9, 0, 0] },
  { name: '1-1', vendor: 0x05e3, product: 0x0608, devnum: 2, interfaceClass: [9, 0, 0] },
  { name: '1-2', vendor: 0x046d, product: 0xc52b, devnum: 5, strings: { manufacturer: 'Logitech', product: 'USB Receiver' }, interfaces: 3, interfaceClass: [3, 1, 1] },
  { name: '1-1.4', vendor: 0x0781, product: 0x5581, devnum: 7, strings: { manufacturer: 'SanDisk', product: 'Ultra' }, interfaceClass: [8, 6, 0x50] },
  { name: '2-3', vendor: 0x0781, product: 0x5581, devnum: 12, strings: { manufacturer: 'SanDisk', product: 'Ultra' }, interfaceClass: [8, 6, 0x50] },
];

export interface FakeDriver {
  name: string;
  /** vendor:device pairs the driver claims when probed without an override. */
  ids?: Array<[number, number]>;
}

export interface FakeHostSpec {
  devices: FakePciDevice[];
  drivers: FakeDriver[];
  /** false: the host has no IOMMU (no /sys/kernel/iommu_groups, no /dev/vfio). */
  iommu?: boolean;
  dmi?: Record<string, string>;
  /** Devices on the USB controller at 0000:00:14.0 (which need not be among `devices`). */
  usb?: FakeUsbDevice[];
}

/** What a write to the fake kernel did, for tests that check libvirt's sequence. */
export interface KernelWrite {
  file: string;
  data: string;
}

function errnoError(code: string, errno: number, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: write '${file}'`), { code, errno: -errno, syscall: 'write', path: file });
}

const ERRNO: Record<string, number> = { EBUSY: 16, ENODEV: 19, EINVAL: 22, ENOENT: 2, EIO: 5 };

function hex(n: number, width: number): string {
  return `0x${n.toString(16).padStart(width, '0')}`;
}

/** A 256-byte config space: IDs, class, header type, and a PCI Express capability at 0x40. */
function configSpace(d: FakePciDevice): Buffer {
  const b = Buffer.alloc(256);
  b.writeUInt16LE(d.vendor, 0);
  b.writeUInt16LE(d.device, 2);
  b[0x09] = d.class & 0xff;
  b[0x0a] = (d.class >> 8) & 0xff;
  b[0x0b] = (d.class >> 16) & 0xff;
  b[0x0e] = d.headerType ?? 0;
  if (d.pcie) {
    b.writeUInt16LE(0x10, 0x06); // status: capability list
    b[0x34] = 0x40;
    b[0x40] = 0x10; // PCI Express
    b[0x41] = 0x00; // end of list
    b.writeUInt16LE(0x0002, 0x42); // version 2, endpoint
    b.writeUInt32LE(d.pcie.flr ? 1 << 28 : 0, 0x44);
    if (d.pcie.linkCap) {
      const c = d.pcie.linkCap;
      b.writeUInt32LE(((c.port << 24) | (c.width << 4) | c.speed) >>> 0, 0x4c);
    }
    if (d.pcie.linkSta) b.writeUInt16LE((d.pcie.linkSta.width << 4) | d.pcie.linkSta.speed, 0x52);
  }
  return b;
}

export class FakeHost {
  readonly root: string;
  readonly kernel: FakeKernel;
  /** The PFs' rtnetlink: admin MAC and VLAN of each VF. */
  readonly netlink: FakeNetlink;
  private readonly unregister: Array<() => void>;

  /** A new tree in a temporary directory; or, given `existingRoot`, the fake kernel over a tree built before. */
  constructor(spec: FakeHostSpec, existingRoot?: string) {
    this.root = existingRoot ?? fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-sysfs-'));
    this.kernel = new FakeKernel(this.root, spec);
    if (existingRoot === undefined) this.kernel.build();
    this.netlink = new FakeNetlink(this.root, fakePfs(spec));
    this.unregister = [substituteKernelFiles(this.root, this.kernel), substituteVfLinks(this.root, this.netlink)];
  }

  /** The kernel path of a file, on disk. */
  at(file: string): string {
    return path.join(this.root, file);
  }

  exists(file: string): boolean {
    try {
      fs.statSync(this.at(file));
      return true;
    } catch {
      return false;
    }
  }

  read(file: string): string {
    return fs.readFileSync(this.at(file), 'utf8');
  }

  /** The driver a device of the spec is bound to now, or null. */
  driverOf(bdf: string): string | null {
    return this.kernel.driverOf(bdf);
  }

  dispose(): void {
    for (const undo of this.unregister) undo();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * The PFs of a spec as rtnetlink knows them: each SR-IOV device's first interface, its VFs with
 * no admin MAC and no VLAN, as a freshly loaded driver has them.
 */
function fakePfs(spec: FakeHostSpec): FakePf[] {
  return spec.devices
    .filter((d) => d.totalVfs !== undefined && d.net)
    .map((d, i) => ({
      ifname: Object.keys(d.net!)[0],
      index: 10 + i,
      vfs: spec.devices.filter((v) => v.physfn === d.bdf).map(() => ({ mac: '00:00:00:00:00:00', vlan: 0, qos: 0 })),
    }));
}

/** The kernel behind the seam: reads are the tree's files, writes act. */
export class FakeKernel extends HostKernelFiles {
  readonly writes: KernelWrite[] = [];
  /** Writes to these kernel paths fail with the errno code given. */
  readonly failWrites = new Map<string, string>();
  private readonly devices = new Map<string, FakePciDevice>();
  private readonly drivers = new Map<string, FakeDriver>();

  constructor(
    root: string,
    private readonly spec: FakeHostSpec,
  ) {
    super(root);
    for (const d of spec.devices) this.devices.set(d.bdf, d);
    for (const d of spec.drivers) this.drivers.set(d.name, d);
  }

  private disk(file: string): string {
    return path.join(this.root, file);
  }

  private mkdir(dir: string): void {
    fs.mkdirSync(this.disk(dir), { recursive: true });
  }

  private put(file: string, content: string | Buffer): void {
    this.mkdir(path.posix.dirname(file));
    fs.writeFileSync(this.disk(file), content);
  }

  /** A relative symlink, as the kernel makes them. */
  private link(from: string, to: string): void {
    this.mkdir(path.posix.dirname(from));
    fs.rmSync(this.disk(from), { force: true });
    fs.symlinkSync(path.posix.relative(path.posix.dirname(from), to), this.disk(from));
  }

  private unlink(file: string): void {
    fs.rmSync(this.disk(file), { force: true, recursive: true });
  }

  /** The real directory of a device: /sys/devices/pci0000:00[/<bridge>...]/<BDF> */
  devicePath(bdf: string): string {
    const d = this.devices.get(bdf);
    if (!d) throw new Error(`no fake device ${bdf}`);
    if (d.parent) return `${this.devicePath(d.parent)}/${bdf}`;
    return `/sys/devices/pci${bdf.slice(0, 7)}/${bdf}`;
  }

  build(): void {
    this.mkdir('/sys/bus/pci/devices');
    this.put('/sys/bus/pci/drivers_probe', '');
    for (const drv of this.spec.drivers) {
      for (const f of ['bind', 'unbind', 'new_id', 'remove_id']) this.put(`/sys/bus/pci/drivers/${drv.name}/${f}`, '');
    }
    if (this.spec.iommu !== false) {
      this.mkdir('/sys/kernel/iommu_groups');
      this.put('/dev/vfio/vfio', '');
    }
    for (const [key, value] of Object.entries(this.spec.dmi ?? {})) this.put(`/sys/devices/virtual/dmi/id/${key}`, `${value}\n`);
    this.mkdir('/sys/class/net');
    for (const d of this.spec.devices) this.buildDevice(d);
    this.mkdir('/sys/bus/usb/devices');
    for (const u of this.spec.usb ?? []) this.plugUsb(u);
    for (const d of this.spec.devices) {
      if (d.physfn) {
        const pf = this.devices.get(d.physfn)!;
        const vfs = this.spec.devices.filter((v) => v.physfn === pf.bdf);
        this.link(`${this.devicePath(d.bdf)}/physfn`, this.devicePath(pf.bdf));
        this.link(`${this.devicePath(pf.bdf)}/virtfn${vfs.indexOf(d)}`, this.devicePath(d.bdf));
      }
      if (d.totalVfs !== undefined) {
        const n = this.spec.devices.filter((v) => v.physfn === d.bdf).length;
        this.put(`${this.devicePath(d.bdf)}/sriov_totalvfs`, `${d.totalVfs}\n`);
        this.put(`${this.devicePath(d.bdf)}/sriov_numvfs`, `${n}\n`);
      }
      if (d.driver) this.bind(d.bdf, d.driver);
    }
  }

  /** Where a USB device sits: root hubs under the xHCI function, devices under the hub they are plugged into. */
  usbPath(name: string): string {
    if (/^usb\d+$/.test(name)) return `/sys/devices/pci0000:00/0000:00:14.0/${name}`;
    const hub = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : `usb${name.split('-')[0]}`;
    return `${this.usbPath(hub)}/${name}`;
  }

  /** A USB device appears: its directory with IDs, numbers and strings, its interfaces, the bus links. */
  plugUsb(u: FakeUsbDevice): void {
    const dir = this.usbPath(u.name);
    const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
    this.put(`${dir}/idVendor`, `${hex(u.vendor, 4)}\n`);
    this.put(`${dir}/idProduct`, `${hex(u.product, 4)}\n`);
    this.put(`${dir}/devnum`, `${u.devnum}\n`);
    this.put(`${dir}/busnum`, `${Number.parseInt(u.name.replace(/^usb/, ''), 10)}\n`);
    if (u.strings) {
      this.put(`${dir}/manufacturer`, `${u.strings.manufacturer}\n`);
      this.put(`${dir}/product`, `${u.strings.product}\n`);
    }
    this.link(`/sys/bus/usb/devices/${u.name}`, dir);
    const [cls, sub, proto] = u.interfaceClass ?? [0xff, 0, 0];
    for (let i = 0; i < (u.interfaces ?? 1); i++) {
      const intf = `${u.name.startsWith('usb') ? `${u.name.slice(3)}-0` : u.name}:1.${i}`;
      this.put(`${dir}/${intf}/bInterfaceNumber`, `${hex(i, 2)}\n`);
      this.put(`${dir}/${intf}/bInterfaceClass`, `${hex(cls, 2)}\n`);
      this.put(`${dir}/${intf}/bInterfaceSubClass`, `${hex(sub, 2)}\n`);
      this.put(`${dir}/${intf}/bInterfaceProtocol`, `${hex(proto, 2)}\n`);
      this.link(`/sys/bus/usb/devices/${intf}`, `${dir}/${intf}`);
    }
  }

  /** A USB device is pulled out: its directory (with whatever hangs off it) and its links go. */
  unplugUsb(name: string): void {
    for (const entry of fs.readdirSync(this.disk('/sys/bus/usb/devices'))) {
      if (entry === name || entry.startsWith(`${name}:`) || entry.startsWith(`${name}.`)) this.unlink(`/sys/bus/usb/devices/${entry}`);
    }
    this.unlink(this.usbPath(name));
  }

  private buildDevice(d: FakePciDevice): void {
    const dir = this.devicePath(d.bdf);
    this.put(`${dir}/vendor`, `${hex(d.vendor, 4)}\n`);
    this.put(`${dir}/device`, `${hex(d.device, 4)}\n`);
    this.put(`${dir}/class`, `${hex(d.class, 6)}\n`);
    this.put(`${dir}/config`, configSpace(d));
    this.put(`${dir}/numa_node`, `${d.numaNode ?? -1}\n`);
    this.put(`${dir}/driver_override`, '(null)\n');
    if (d.resetFile) this.put(`${dir}/reset`, '');
    this.link(`/sys/bus/pci/devices/${d.bdf}`, dir);
    if (d.iommuGroup !== undefined && this.spec.iommu !== false) {
      const group = `/sys/kernel/iommu_groups/${d.iommuGroup}`;
      this.mkdir(`${group}/devices`);
      this.link(`${dir}/iommu_group`, group);
      this.link(`${group}/devices/${d.bdf}`, dir);
    }
  }

  driverOf(bdf: string): string | null {
    try {
      return path.basename(fs.readlinkSync(this.disk(`${this.devicePath(bdf)}/driver`)));
    } catch {
      return null;
    }
  }

  private override(bdf: string): string | null {
    const text = fs.readFileSync(this.disk(`${this.devicePath(bdf)}/driver_override`), 'utf8').trim();
    return text === '(null)' ? null : text;
  }

  /** pci_bus_match + probe: what the device binds to, if anything. */
  private bind(bdf: string, driver: string): void {
    const d = this.devices.get(bdf)!;
    const dir = this.devicePath(bdf);
    // vfio-pci's probe fails for a device the IOMMU does not cover.
    if (driver === 'vfio-pci' && (d.iommuGroup === undefined || this.spec.iommu === false)) return;
    this.link(`${dir}/driver`, `/sys/bus/pci/drivers/${driver}`);
    this.link(`/sys/bus/pci/drivers/${driver}/${bdf}`, dir);
    if (driver === 'vfio-pci') {
      this.put(`/dev/vfio/${d.iommuGroup}`, '');
    } else {
      for (const [ifname, mac] of Object.entries(d.net ?? {})) {
        const netDir = `${dir}/net/${ifname}`;
        this.put(`${netDir}/address`, `${mac}\n`);
        this.put(`${netDir}/operstate`, 'up\n');
        this.put(`${netDir}/flags`, '0x1003\n');
        this.put(`${netDir}/speed`, '1000\n');
        this.put(`${netDir}/uevent`, `INTERFACE=${ifname}\n`);
        this.link(`/sys/class/net/${ifname}`, netDir);
      }
    }
  }

  private unbind(bdf: string): void {
    const d = this.devices.get(bdf)!;
    const driver = this.driverOf(bdf);
    if (driver === null) return;
    const dir = this.devicePath(bdf);
    this.unlink(`${dir}/driver`);
    this.unlink(`/sys/bus/pci/drivers/${driver}/${bdf}`);
    for (const ifname of Object.keys(d.net ?? {})) {
      this.unlink(`/sys/class/net/${ifname}`);
      this.unlink(`${dir}/net/${ifname}`);
    }
    if (driver === 'vfio-pci') {
      const stillBound = this.spec.devices.some(
        (o) => o.bdf !== bdf && o.iommuGroup === d.iommuGroup && this.driverOf(o.bdf) === 'vfio-pci',
      );
      if (!stillBound) this.unlink(`/dev/vfio/${d.iommuGroup}`);
    }
  }

  /** drivers_probe: the override if one is set, else a driver whose ID table matches. */
  private probe(bdf: string): void {
    if (this.driverOf(bdf) !== null) return;
    const d = this.devices.get(bdf)!;
    const override = this.override(bdf);
    const driver =
      override !== null
        ? this.drivers.get(override)
        : this.spec.drivers.find((drv) => drv.ids?.some(([v, p]) => v === d.vendor && p === d.device));
    if (driver) this.bind(bdf, driver.name);
  }

  /** The device a path inside its directory belongs to. */
  private deviceAt(real: string): string | null {
    for (const [bdf] of this.devices) if (path.posix.dirname(real) === this.devicePath(bdf)) return bdf;
    return null;
  }

  override async write(file: string, data: string): Promise<void> {
    this.writes.push({ file, data });
    const failure = this.failWrites.get(file);
    if (failure) throw errnoError(failure, ERRNO[failure] ?? 5, file);
    let real: string;
    try {
      real = path.posix.join('/', path.relative(this.root, fs.realpathSync(this.disk(file))));
    } catch {
      throw errnoError('ENOENT', 2, file);
    }
    const name = path.posix.basename(real);
    const bdf = data.trim();
    if (real === '/sys/bus/pci/drivers_probe') {
      if (!this.devices.has(bdf)) throw errnoError('ENODEV', 19, file);
      this.probe(bdf);
      return;
    }
    const driverDir = /^\/sys\/bus\/pci\/drivers\/([^/]+)$/.exec(path.posix.dirname(real));
    if (driverDir && (name === 'bind' || name === 'unbind')) {
      if (!this.devices.has(bdf)) throw errnoError('ENODEV', 19, file);
      const current = this.driverOf(bdf);
      if (name === 'unbind') {
        if (current !== driverDir[1]) throw errnoError('ENODEV', 19, file);
        this.unbind(bdf);
      } else {
        if (current !== null) throw errnoError('EBUSY', 16, file);
        const override = this.override(bdf);
        if (override !== null && override !== driverDir[1]) throw errnoError('ENODEV', 19, file);
        this.bind(bdf, driverDir[1]);
      }
      return;
    }
    const owner = this.deviceAt(real);
    if (owner !== null && name === 'driver_override') {
      // The kernel clears the override on an empty write or one that starts with a newline.
      const value = data.replace(/\n.*$/s, '');
      fs.writeFileSync(this.disk(real), value === '' ? '(null)\n' : `${value}\n`);
      return;
    }
    if (owner !== null && name === 'reset') {
      if (data.trim() !== '1') throw errnoError('EINVAL', 22, file);
      return;
    }
    return super.write(file, data);
  }
}

/**
 * The host most tests use: virpcimock's shape with SR-IOV added. An Intel 82576 PF behind a root
 * port, with two of its seven VFs enabled, each VF in its own IOMMU group; a multi-function
 * chipset group whose members are held by host drivers; a driverless graphics device without FLR;
 * a NIC the IOMMU does not cover.
 */
export function standardHost(options: { iommu?: boolean; vfioLoaded?: boolean; usb?: FakeUsbDevice[] } = {}, existingRoot?: string): FakeHost {
  const drivers: FakeDriver[] = [
    { name: 'pcieport' },
    { name: 'igb', ids: [[0x8086, 0x10c9]] },
    { name: 'igbvf', ids: [[0x8086, 0x10ca]] },
    { name: 'lpc_ich', ids: [[0x8086, 0x3a18]] },
    { name: 'ahci', ids: [[0x8086, 0x3a22]] },
    { name: 'i801_smbus', ids: [[0x8086, 0x3a30]] },
    { name: 'e1000e', ids: [[0x8086, 0x10d3]] },
  ];
  if (options.vfioLoaded !== false) drivers.push({ name: 'vfio-pci' });
  // The USB devices hang off an xHCI controller, which the host has only when it has them.
  const xhci: FakePciDevice[] = options.usb ? [{ bdf: '0000:00:14.0', vendor: 0x8086, device: 0x9d2f, class: 0x0c0330, driver: 'xhci_hcd', iommuGroup: 3 }] : [];
  if (options.usb) drivers.push({ name: 'xhci_hcd', ids: [[0x8086, 0x9d2f]] });
  return new FakeHost(
    {
    iommu: options.iommu,
    usb: options.usb,
    drivers,
    dmi: { sys_vendor: 'Fake Systems', product_name: 'Test Host 1', product_uuid: '4c4c4544-0042-3510-8030-b2c04f4a3232', bios_vendor: 'FakeBIOS', bios_version: '1.2', bios_date: '01/02/2024' },
    devices: [
      { bdf: '0000:00:1c.0', vendor: 0x8086, device: 0x3a40, class: 0x060400, headerType: 1, driver: 'pcieport', iommuGroup: 7 },
      {
        bdf: '0000:06:12.0',
        vendor: 0x8086,
        device: 0x10c9,
        class: 0x020000,
        parent: '0000:00:1c.0',
        driver: 'igb',
        iommuGroup: 9,
        numaNode: 0,
        totalVfs: 7,
        net: { enp6s18f0: '00:1b:21:aa:00:00' },
        pcie: { flr: true, linkCap: { port: 1, speed: 2, width: 4 }, linkSta: { speed: 2, width: 4 } },
      },
      { bdf: '0000:06:12.1', vendor: 0x8086, device: 0x10ca, class: 0x020000, parent: '0000:00:1c.0', physfn: '0000:06:12.0', driver: 'igbvf', iommuGroup: 10, numaNode: 0, net: { enp6s18f0v0: '52:54:00:00:06:01' } },
      { bdf: '0000:06:12.2', vendor: 0x8086, device: 0x10ca, class: 0x020000, parent: '0000:00:1c.0', physfn: '0000:06:12.0', driver: 'igbvf', iommuGroup: 11, numaNode: 0, net: { enp6s18f0v1: '52:54:00:00:06:02' } },
      { bdf: '0000:00:1f.0', vendor: 0x8086, device: 0x3a18, class: 0x060100, driver: 'lpc_ich', iommuGroup: 8 },
      { bdf: '0000:00:1f.2', vendor: 0x8086, device: 0x3a22, class: 0x010601, driver: 'ahci', iommuGroup: 8 },
      { bdf: '0000:00:1f.3', vendor: 0x8086, device: 0x3a30, class: 0x0c0500, driver: 'i801_smbus', iommuGroup: 8 },
      { bdf: '0000:00:02.0', vendor: 0x8086, device: 0x0046, class: 0x030000, iommuGroup: 1, resetFile: true },
      { bdf: '0000:00:19.0', vendor: 0x8086, device: 0x10d3, class: 0x020000, driver: 'e1000e', net: { eno1: '00:1b:21:bb:00:01' } },
      ...xhci,
    ],
    },
    existingRoot,
  );
}
