// The host's node devices for QEMU connections, as libvirt's node device driver (udev backend)
// names and describes them: 'computer' (DMI), one pci_DDDD_BB_SS_F per PCI device, one
// usb_<sysname> per USB device and per USB interface ('usb_usb1', 'usb_1_2', 'usb_1_2_1_0') and
// one net_<ifname>_<mac> per network interface. Read from sysfs on every call, so the answers follow
// binds, unbinds and new VFs without an event monitor. Detach, re-attach and reset go to the
// hostdev manager, as qemuNodeDeviceDetachFlags and friends do.
import crypto from 'node:crypto';
import {
  NODE_DEVICE_CAP_FLAG_NAMES,
  formatNodeDeviceXML,
  nodeDeviceHasCap,
  type NetCap,
  type NodeDeviceDef,
  type PciCap,
  type SystemCap,
  type UsbDeviceCap,
  type UsbInterfaceCap,
} from '../../conf/node-device';
import type { NodeDeviceDriver, NodeDeviceRef } from '../../driver';
import { VIR_ERR_INVALID_ARG, VIR_ERR_NO_NODE_DEVICE, VIR_FROM_DOMAIN, VIR_FROM_NODEDEV, VIR_FROM_QEMU, virError } from '../../error';
import { checkFlags } from '../../util/flags';
import { formatPciAddress } from '../../util/pci';
import {
  iommuGroupMembers,
  listPciDevices,
  owningPciDevice,
  readPciConfigFacts,
  readPciDevice,
  type HostPciDevice,
} from '../../util/pci-host';
import { linkBasename, listDir, readAttr, resolveLink, type KernelFiles } from '../../util/sysfs';
import { USB_SYSFS_DEVICES, usbDevicePath } from '../../util/usb-host';
import { hostUuid } from './host-facts';
import { checkDetachDriverName, hostdevManager } from './hostdev';

const FROM = VIR_FROM_NODEDEV;
const CLASS_NET = '/sys/class/net';
const DMI_DIRS = ['/sys/devices/virtual/dmi/id', '/sys/class/dmi/id'];

/** VIR_CONNECT_LIST_NODE_DEVICES_FILTERS_CAP */
const LIST_CAP_FLAGS = NODE_DEVICE_CAP_FLAG_NAMES.reduce((all, [bit]) => all | bit, 0);
const LIST_INACTIVE = 0x40000000;
const LIST_ACTIVE = 0x80000000;

/** virNetDevIfState names, by their position (0 is unset). */
const IF_STATES = ['', 'unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

/** udevGenerateDeviceName: subsystem, sysname and suffix, anything not alphanumeric made '_'. */
function udevName(subsystem: string, sysname: string, suffix?: string): string {
  return `${subsystem}_${sysname}${suffix === undefined ? '' : `_${suffix}`}`.replace(/[^A-Za-z0-9]/g, '_');
}

/**
 * virStrToLong_ui on a sysfs number: '-1' (what virtio-net reports for an unknown speed) wraps
 * to 4294967295, as libvirt prints it. 0 for anything unparsable.
 */
function parseUnsigned(text: string | null): number {
  const m = /^(-?)(\d+)$/.exec(text?.trim() ?? '');
  if (!m) return 0;
  const n = Number(m[2]);
  if (n > 0xffffffff) return 0;
  return m[1] === '-' ? (0x100000000 - n) % 0x100000000 : n;
}

export function pciDeviceName(bdf: string): string {
  return udevName('pci', bdf);
}

/** 'pci_0000_06_12_1' -> '0000:06:12.1'; null for any other name. */
export function bdfFromDeviceName(name: string): string | null {
  const m = /^pci_([0-9a-f]{4})_([0-9a-f]{2})_([0-9a-f]{2})_([0-7])$/.exec(name);
  return m ? `${m[1]}:${m[2]}:${m[3]}.${m[4]}` : null;
}

/** A host UUID when neither DMI nor machine-id gives one: random, once per process, as libvirt's. */
let fallbackUuid: string | undefined;

export class HostNodeDevices {
  constructor(
    readonly files: KernelFiles,
    /** libvirt reads config space (header type, PCI Express links) only when privileged. */
    readonly privileged: boolean,
  ) {}

  /** Every device: the computer, PCI devices in address order, USB devices and interfaces, then network interfaces. */
  async list(): Promise<NodeDeviceDef[]> {
    const [computer, pci, usb, net] = await Promise.all([this.computer(), this.pciDevices(), this.usbDevices(), this.netDevices()]);
    return [computer, ...pci, ...usb, ...net];
  }

  async lookup(name: string): Promise<NodeDeviceDef | null> {
    if (name === 'computer') return this.computer();
    const bdf = bdfFromDeviceName(name);
    if (bdf !== null) {
      const dev = await readPciDevice(this.files, bdf);
      return dev ? this.pciDef(dev) : null;
    }
    if (name.startsWith('net_')) return (await this.netDevices()).find((d) => d.name === name) ?? null;
    if (name.startsWith('usb_')) return (await this.usbDevices()).find((d) => d.name === name) ?? null;
    return null;
  }

  /** udevGetDMIData: the system capability of the 'computer' device. */
  private async computer(): Promise<NodeDeviceDef> {
    let dir = DMI_DIRS[0];
    for (const candidate of DMI_DIRS) {
      if (await this.files.exists(candidate)) {
        dir = candidate;
        break;
      }
    }
    const dmi = async (file: string) => {
      // udevGetStringSysfsAttr: control characters stripped, empty values dropped.
      const text = (await readAttr(this.files, `${dir}/${file}`))?.replace(/[\x00-\x1f\x7f]/g, '');
      return text ? text : undefined;
    };
    const [product, vendor, version, serial, biosVendor, biosVersion, biosDate, uuid] = await Promise.all([
      dmi('product_name'),
      dmi('sys_vendor'),
      dmi('product_version'),
      dmi('product_serial'),
      dmi('bios_vendor'),
      dmi('bios_version'),
      dmi('bios_date'),
      hostUuid(this.files.root || '/'),
    ]);
    const system: SystemCap = {
      type: 'system',
      product,
      hardware: { vendor, version, serial, uuid: uuid ?? (fallbackUuid ??= crypto.randomUUID()) },
      firmware: { vendor: biosVendor, version: biosVersion, releaseDate: biosDate },
    };
    return { name: 'computer', caps: [system] };
  }

  private async pciDevices(): Promise<NodeDeviceDef[]> {
    const devs = await Promise.all((await listPciDevices(this.files)).map((bdf) => readPciDevice(this.files, bdf)));
    return Promise.all(devs.filter((d): d is HostPciDevice => d !== null).map((d) => this.pciDef(d)));
  }

  /** udevProcessPCI + virNodeDeviceGetPCIDynamicCaps */
  private async pciDef(dev: HostPciDevice): Promise<NodeDeviceDef> {
    const [config, group] = await Promise.all([
      this.privileged ? readPciConfigFacts(this.files, dev.name) : Promise.resolve(null),
      dev.iommuGroup === null ? Promise.resolve([]) : iommuGroupMembers(this.files, dev.iommuGroup),
    ]);
    const cap: PciCap = {
      type: 'pci',
      class: dev.class >= 0 ? `0x${dev.class.toString(16).padStart(6, '0')}` : undefined,
      domain: dev.address.domain,
      bus: dev.address.bus,
      slot: dev.address.slot,
      function: dev.address.function,
      product: { id: `0x${dev.product.toString(16).padStart(4, '0')}` },
      vendor: { id: `0x${dev.vendor.toString(16).padStart(4, '0')}` },
      numaNode: dev.numaNode,
    };
    if (dev.physFunction) cap.physFunction = dev.physFunction;
    if (dev.virtFunctions.length > 0 || dev.maxVirtFunctions > 0) {
      cap.virtFunctions = { maxCount: dev.maxVirtFunctions || undefined, addresses: dev.virtFunctions };
    }
    if (dev.iommuGroup !== null && group.length > 0) cap.iommuGroup = { number: dev.iommuGroup, addresses: group };
    if (config && config.headerType !== 'endpoint') cap.headerType = config.headerType;
    if (config?.pcie) cap.pcie = config.pcie;
    const parent = owningPciDevice(dev.sysfsPath);
    return {
      name: pciDeviceName(dev.name),
      path: dev.sysfsPath,
      parent: parent === null ? 'computer' : pciDeviceName(parent),
      driver: dev.driver ?? undefined,
      caps: [cap],
    };
  }

  /**
   * One device per entry of a sysfs class or bus directory (its entries are links to the devices'
   * real directories), sorted by name; entries whose link is gone or that are not devices yet
   * are left out.
   */
  private async devicesIn(dir: string, def: (entry: string, sysfsPath: string) => Promise<NodeDeviceDef | null>): Promise<NodeDeviceDef[]> {
    const defs = await Promise.all(
      (await listDir(this.files, dir)).sort().map(async (entry) => {
        const sysfsPath = await resolveLink(this.files, `${dir}/${entry}`).catch(() => null);
        return sysfsPath === null ? null : def(entry, sysfsPath);
      }),
    );
    return defs.filter((d): d is NodeDeviceDef => d !== null);
  }

  /** Every entry of /sys/bus/usb/devices: devices, root hubs and interfaces. */
  private usbDevices(): Promise<NodeDeviceDef[]> {
    return this.devicesIn(USB_SYSFS_DEVICES, (sysname, sysfsPath) => this.usbDef(sysname, sysfsPath));
  }

  /**
   * udevProcessUSBDevice / udevProcessUSBInterface from sysfs. Without udev's hardware database
   * the names are the device's own descriptor strings (manufacturer, product), libvirt's
   * fallback. The parent is the hub or device above in sysfs, else the host controller's PCI
   * function, else the computer.
   */
  private async usbDef(sysname: string, sysfsPath: string): Promise<NodeDeviceDef | null> {
    const attr = (file: string) => readAttr(this.files, `${sysfsPath}/${file}`);
    const hex = async (file: string) => Number.parseInt((await attr(file)) ?? '', 16);
    const dec = async (file: string) => Number.parseInt((await attr(file)) ?? '', 10);
    const above = sysfsPath.slice(0, sysfsPath.lastIndexOf('/'));
    const aboveName = above.slice(above.lastIndexOf('/') + 1);
    const controller = owningPciDevice(sysfsPath);
    let parent = 'computer';
    if (/^(usb\d+|\d+-[\d.]+)$/.test(aboveName)) parent = udevName('usb', aboveName);
    else if (controller !== null) parent = pciDeviceName(controller);
    const driver = (await linkBasename(this.files, `${sysfsPath}/driver`)) ?? undefined;
    let cap: UsbDeviceCap | UsbInterfaceCap;
    let devnode: string | undefined;
    if (sysname.includes(':')) {
      cap = {
        type: 'usb',
        number: await hex('bInterfaceNumber'),
        class: await hex('bInterfaceClass'),
        subclass: await hex('bInterfaceSubClass'),
        protocol: await hex('bInterfaceProtocol'),
      };
    } else {
      const [manufacturer, product] = await Promise.all([attr('manufacturer'), attr('product')]);
      cap = {
        type: 'usb_device',
        bus: await dec('busnum'),
        device: await dec('devnum'),
        product: { id: await hex('idProduct'), name: product ?? undefined },
        vendor: { id: await hex('idVendor'), name: manufacturer ?? undefined },
      };
      devnode = usbDevicePath(cap.bus, cap.device);
    }
    // A directory caught half made (or half gone) is not a device yet.
    const numbers = cap.type === 'usb' ? [cap.number, cap.class, cap.subclass, cap.protocol] : [cap.bus, cap.device, cap.product.id, cap.vendor.id];
    if (numbers.some(Number.isNaN)) return null;
    return { name: udevName('usb', sysname), path: sysfsPath, devnode, parent, driver, caps: [cap] };
  }

  /** udevProcessNetworkInterface for every interface in /sys/class/net. */
  private netDevices(): Promise<NodeDeviceDef[]> {
    return this.devicesIn(CLASS_NET, (ifname, sysfsPath) => this.netDef(ifname, sysfsPath));
  }

  private async netDef(ifname: string, sysfsPath: string): Promise<NodeDeviceDef> {
    const attr = (file: string) => readAttr(this.files, `${sysfsPath}/${file}`);
    const [address, operstate, speed, uevent] = await Promise.all([attr('address'), attr('operstate'), attr('speed'), attr('uevent')]);
    const cap: NetCap = {
      type: 'net',
      interface: ifname,
      address: address || undefined,
      features: [],
      subtype: /^DEVTYPE=wlan$/m.test(uevent ?? '') ? '80211' : '80203',
    };
    // virNetDevGetLinkInfo: the speed only of a link that is up; drivers report nonsense otherwise.
    const state = IF_STATES.indexOf(operstate ?? '');
    if (state > 0) {
      const mbps = state === IF_STATES.indexOf('up') ? parseUnsigned(speed) : 0;
      cap.link = { state: IF_STATES[state], speed: mbps || undefined };
    }
    const owner = owningPciDevice(sysfsPath);
    return {
      name: udevName('net', ifname, address || undefined),
      path: sysfsPath,
      parent: owner === null ? 'computer' : pciDeviceName(owner),
      caps: [cap],
    };
  }
}

function noDevice(name: string) {
  return virError(VIR_ERR_NO_NODE_DEVICE, FROM, `no node device with matching name '${name}'`);
}

/** The PCI address behind a node device, for detach, re-attach and reset. */
async function pciOf(devices: HostNodeDevices, ref: NodeDeviceRef): Promise<string> {
  const def = await devices.lookup(ref.name);
  if (!def) throw noDevice(ref.name);
  const pci = def.caps.find((c): c is PciCap => c.type === 'pci');
  // virDomainDriverNodeDeviceGetPCIInfo
  if (!pci) throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, `device ${def.name} is not a PCI device`);
  return formatPciAddress(pci);
}

/** The node device table of a QEMU connection over the kernel files `files`. */
export function qemuNodeDeviceDriver(files: KernelFiles, privileged: boolean): NodeDeviceDriver {
  const devices = new HostNodeDevices(files, privileged);
  const hostdevs = hostdevManager(files.root);
  const find = async (name: string): Promise<NodeDeviceDef> => {
    const def = await devices.lookup(name);
    if (!def) throw noDevice(name);
    return def;
  };
  const withCap = async (cap: string | null): Promise<NodeDeviceDef[]> =>
    (await devices.list()).filter((d) => cap === null || nodeDeviceHasCap(d, cap));

  const detachFlags = async (dev: NodeDeviceRef, driverName: string | null, flags: number): Promise<void> => {
    checkFlags(flags, 0, 'qemuNodeDeviceDetachFlags', VIR_FROM_QEMU);
    await checkDetachDriverName(hostdevs, driverName);
    await hostdevs.nodeDeviceDetach(await pciOf(devices, dev));
  };

  return {
    async nodeNumOfDevices(cap, flags) {
      checkFlags(flags, 0, 'nodeNumOfDevices', FROM);
      return (await withCap(cap)).length;
    },
    async nodeListDevices(cap, maxnames, flags) {
      checkFlags(flags, 0, 'nodeListDevices', FROM);
      return (await withCap(cap)).slice(0, maxnames).map((d) => d.name);
    },
    async connectListAllNodeDevices(flags) {
      checkFlags(flags, LIST_CAP_FLAGS | LIST_ACTIVE | LIST_INACTIVE, 'nodeConnectListAllNodeDevices', FROM);
      const wanted = NODE_DEVICE_CAP_FLAG_NAMES.filter(([bit]) => flags & bit).map(([, name]) => name);
      // Every device sysfs shows is active; virtnode defines no inactive (mediated) devices.
      if ((flags & (LIST_ACTIVE | LIST_INACTIVE)) === LIST_INACTIVE) return [];
      return (await devices.list())
        .filter((d) => wanted.length === 0 || wanted.some((cap) => nodeDeviceHasCap(d, cap)))
        .map((d): NodeDeviceRef => ({ name: d.name }));
    },
    async nodeDeviceLookupByName(name) {
      return { name: (await find(name)).name };
    },
    async nodeDeviceGetXMLDesc(dev, flags) {
      checkFlags(flags, 0, 'nodeDeviceGetXMLDesc', FROM);
      return formatNodeDeviceXML(await find(dev.name));
    },
    async nodeDeviceGetParent(dev) {
      return (await find(dev.name)).parent ?? null;
    },
    async nodeDeviceNumOfCaps(dev) {
      return (await find(dev.name)).caps.length;
    },
    async nodeDeviceListCaps(dev) {
      return (await find(dev.name)).caps.map((c) => c.type);
    },
    nodeDeviceDettach(dev) {
      return detachFlags(dev, null, 0);
    },
    nodeDeviceDetachFlags: detachFlags,
    async nodeDeviceReAttach(dev) {
      await hostdevs.nodeDeviceReAttach(await pciOf(devices, dev));
    },
    async nodeDeviceReset(dev) {
      await hostdevs.nodeDeviceReset(await pciOf(devices, dev));
    },
  };
}
