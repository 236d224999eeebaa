// Host PCI devices handed to guests through VFIO (libvirt's virhostdev.c with the virpci.c
// steps it drives): which devices domains use, detaching a device from its host driver to
// vfio-pci, giving it back, and resetting it. One manager per kernel root in the process, as
// libvirt keeps one per daemon, shared by every connection and domain.
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import {
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_INVALID,
  VIR_FROM_NONE,
  VIR_FROM_QEMU,
  virError,
} from '../../error';
import {
  IOMMU_GROUPS_DIR,
  PCI_CONFIG_HEADER_SIZE,
  PCI_SYSFS_DRIVERS,
  VFIO_DEV_DIR,
  VFIO_PCI_DRIVER,
  configHeaderType,
  iommuGroupMembers,
  pciDeviceBindWithDriverOverride,
  pciDeviceDriver,
  pciDeviceExists,
  pciDeviceHasFlr,
  pciDeviceIommuGroup,
  pciDevicePath,
  pciHeaderType,
  pciSystemError,
  readPciDevice,
} from '../../util/pci-host';
import type { DomainDef, DomainDeviceDef, GenericElement, HostdevDef, NetDef } from '../../conf/domain-def';
import { parseUIntBase0 } from '../../conf/domain-parse';
import { attr, isElement, type XmlElement } from '../../conf/xml';
import { restoreVfNetConfig, saveVfNetConfig, setVfNetConfig, vfConfigPath, vfLinks, type VfLinkControl } from '../../util/netdev-vf';
import { formatPciAddress, type PciAddress } from '../../util/pci';
import { kernelFiles, linkBasename, listDir, readAttr, resolveLink, type KernelFiles } from '../../util/sysfs';
import { findUsb, findUsbByBus, findUsbByVendor, usbDeviceName, type UsbHostDevice } from '../../util/usb-host';

/** The name libvirt's QEMU driver records as a device's user (QEMU_DRIVER_NAME). */
export const QEMU_DRIVER_NAME = 'QEMU';

/** IFF_UP in a network interface's flags. */
const IFF_UP = 0x1;

/** How long udev may take to create /dev/vfio/<group> after vfio-pci binds a device. */
const VFIO_NODE_WAIT_MS = 2000;
const VFIO_NODE_POLL_MS = 20;

export interface PciDeviceUser {
  driver: string;
  domain: string;
  /** Which driver state the domain belongs to (its config directory): domain names are unique only there. */
  scope: string;
}

/** One host PCI device a domain definition asks for. */
export interface PciHostdevRequest {
  address: PciAddress;
  managed: boolean;
  /** <driver name=...>: 'vfio', or undefined for the default (which is VFIO where it works). */
  backend?: string;
  /** From <interface type='hostdev'>: an SR-IOV VF whose MAC and VLAN are set through its PF. */
  net?: VfNetRequest;
}

/** What an <interface type='hostdev'> asks of its VF. */
export interface VfNetRequest {
  /** <mac address=...>; null leaves the VF's MAC alone. */
  mac: string | null;
  /** <vlan>: its tag ids and trunk='yes'; absent: the VF's VLAN is cleared. */
  vlan?: { tags: number[]; trunk: boolean };
}

/** A VF as its PF's rtnetlink sees it: the PF interface and the VF's index there. */
interface VfOfPf {
  pf: string;
  vf: number;
  /** The VF's own host interface while a network driver holds it. */
  vfIfname: string | null;
}

function vlanRequest(net: NetDef): VfNetRequest['vlan'] {
  const vlan = net.extra.find((e) => e.name === 'vlan');
  if (!vlan) return undefined;
  const tags = vlan.children.filter(isElement).filter((c) => c.name === 'tag').map((t) => Number(t.attrs.get('id')));
  return { tags, trunk: vlan.attrs.get('trunk') === 'yes' };
}

function driverName(driver: GenericElement | undefined): string | undefined {
  return driver?.attrs.find(([k]) => k === 'name')?.[1];
}

/** The host PCI device behind one domain device, if it is a PCI hostdev or a hostdev interface. */
export function pciHostdevRequest(dev: DomainDeviceDef): PciHostdevRequest | null {
  if (dev.kind === 'interface') {
    const net = dev as NetDef;
    const address = net.hostdevAddress?.pci;
    if (net.type !== 'hostdev' || !address) return null;
    const vlan = vlanRequest(net);
    return { address, managed: net.managed === true, backend: driverName(net.driver), net: { mac: net.mac ?? null, ...(vlan ? { vlan } : {}) } };
  }
  if (dev.kind === 'hostdev') {
    const h = dev as HostdevDef;
    if (h.mode === 'subsystem' && h.type === 'pci' && h.pciAddress) return { address: h.pciAddress, managed: h.managed, backend: driverName(h.driver) };
  }
  return null;
}

/**
 * What qemuHostdevPreparePCIDevicesCheckSupport leaves in the live definition: the default
 * backend resolved to VFIO, shown as <driver name='vfio'/> in the running domain's XML.
 */
export function assignVfioBackend(dev: DomainDeviceDef): void {
  if (!pciHostdevRequest(dev)) return;
  const owner = dev as HostdevDef | NetDef;
  owner.driver ??= { attrs: [], children: [] };
  if (!owner.driver.attrs.some(([k]) => k === 'name')) owner.driver.attrs.unshift(['name', 'vfio']);
}

/** A domain's host PCI devices: <interface type='hostdev'>, then <hostdev mode='subsystem' type='pci'>. */
export function pciHostdevRequests(def: DomainDef): PciHostdevRequest[] {
  return [...def.devices.interfaces, ...def.devices.hostdevs].map(pciHostdevRequest).filter((r): r is PciHostdevRequest => r !== null);
}

/**
 * Drivers that leave an IOMMU group usable by VFIO (driver_managed_dma: they claim no DMA
 * ownership): vfio-pci and its vendor variants (mlx5_vfio_pci, pds_vfio_pci, ...), pci-stub,
 * and PCIe port drivers.
 */
function vfioFriendlyDriver(driver: string): boolean {
  return driver === 'pci-stub' || driver === 'pcieport' || /vfio/.test(driver);
}

/** What a <hostdev type='usb'> source names: IDs, an address, or both; 0 where not given. */
export interface UsbHostdevSource {
  vendor: number;
  product: number;
  bus: number;
  device: number;
}

function sourceChild(h: HostdevDef, name: string): XmlElement | undefined {
  return h.sourceChildren.find((c) => c.name === name);
}

function sourceNumber(el: XmlElement | undefined, name: string): number {
  const text = attr(el, name);
  return text === undefined ? 0 : (parseUIntBase0(text) ?? 0);
}

export function usbHostdevSource(h: HostdevDef): UsbHostdevSource {
  const address = sourceChild(h, 'address');
  return {
    vendor: sourceNumber(sourceChild(h, 'vendor'), 'id'),
    product: sourceNumber(sourceChild(h, 'product'), 'id'),
    bus: sourceNumber(address, 'bus'),
    device: sourceNumber(address, 'device'),
  };
}

/** A domain's <hostdev mode='subsystem' type='usb'> devices. */
export function usbHostdevs(devices: DomainDeviceDef[]): HostdevDef[] {
  return devices.filter((d): d is HostdevDef => d.kind === 'hostdev' && (d as HostdevDef).mode === 'subsystem' && (d as HostdevDef).type === 'usb');
}

/** An optional (or, past a cold boot, requisite) USB device the host did not have: left out of QEMU. */
export function usbHostdevMissing(h: HostdevDef): boolean {
  return h.sourceAttrs.some(([k, v]) => k === 'missing' && v === 'yes');
}

/** The host device a USB hostdev holds while its domain runs: its resolved address, unless missing. */
function usbHostdevName(h: HostdevDef): string | null {
  if (usbHostdevMissing(h)) return null;
  const { bus, device } = usbHostdevSource(h);
  return bus === 0 && device === 0 ? null : usbDeviceName(bus, device);
}

/** Where a device found by its IDs was: written into the live definition's <source>, after the IDs. */
function setUsbAddress(h: HostdevDef, dev: UsbHostDevice): void {
  const address: XmlElement = { name: 'address', attrs: new Map([['bus', String(dev.bus)], ['device', String(dev.device)]]), children: [], line: 0 };
  const i = h.sourceChildren.findIndex((c) => c.name === 'address');
  if (i >= 0) h.sourceChildren[i] = address;
  else h.sourceChildren.push(address);
}

/** missing='yes' goes after startupPolicy, where libvirt writes it. */
function markUsbMissing(h: HostdevDef): void {
  if (usbHostdevMissing(h)) return;
  const i = h.sourceAttrs.findIndex(([k]) => k === 'startupPolicy');
  h.sourceAttrs.splice(i + 1, 0, ['missing', 'yes']);
}

/** virHostdevIs{PCI,USB}DeviceUsed: a device a running domain holds. */
function inUse(bus: 'PCI' | 'USB', name: string, user: PciDeviceUser) {
  return virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_NONE, `${bus} device ${name} is in use by driver ${user.driver}, domain ${user.domain}`);
}

export class HostdevManager {
  /** Devices assigned to running domains (activePCIHostdevs), by BDF. */
  private readonly active = new Map<string, PciDeviceUser>();
  /** USB devices held by running domains (activeUSBHostdevs), by 'BBB:DDD'. */
  private readonly activeUsb = new Map<string, PciDeviceUser>();
  /** Devices virtnode detached and no domain uses yet (inactivePCIHostdevs). */
  private readonly inactive = new Set<string>();
  /** Devices virtnode moved to vfio-pci (libvirt's unbind_from_stub): given back on release. */
  private readonly boundByUs = new Set<string>();
  /** Operations run one at a time, as libvirt holds both list locks across each. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly root: string) {}

  /** Looked up on each use, so a fake kernel a test registers for the root is the one used. */
  get files(): KernelFiles {
    return kernelFiles(this.root);
  }

  /** The PFs' rtnetlink, looked up on each use like `files`. */
  get links(): VfLinkControl {
    return vfLinks(this.root);
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Who uses a device, if a running domain does. */
  userOf(name: string): PciDeviceUser | undefined {
    return this.active.get(name);
  }

  /** virHostdevHostSupportsPassthroughVFIO: the host has IOMMU groups and /dev/vfio/vfio. */
  async supportsVfio(): Promise<boolean> {
    if ((await listDir(this.files, IOMMU_GROUPS_DIR)).length === 0) return false;
    return this.files.exists(`${VFIO_DEV_DIR}/vfio`);
  }

  /** virHostdevIsPCINodeDeviceUsed */
  private checkNotUsed(name: string): void {
    const user = this.active.get(name);
    if (user) throw inUse('PCI', name, user);
  }

  /** virPCIDeviceNew's existence check. */
  private async checkExists(name: string): Promise<void> {
    if (await pciDeviceExists(this.files, name)) return;
    throw pciSystemError(`Device ${name} not found: could not access ${pciDevicePath(name, 'config')}`, { errno: -2 });
  }

  /** virHostdevPCINodeDeviceDetach: virNodeDeviceDetachFlags on a QEMU connection. */
  nodeDeviceDetach(name: string): Promise<void> {
    return this.serialized(async () => {
      await this.checkExists(name);
      this.checkNotUsed(name);
      await this.detach(name);
    });
  }

  /** virHostdevPCINodeDeviceReAttach: the device goes back to its host driver, detached by us or not. */
  nodeDeviceReAttach(name: string): Promise<void> {
    return this.serialized(async () => {
      await this.checkExists(name);
      this.checkNotUsed(name);
      await this.reattach(name, true);
    });
  }

  /** virHostdevPCINodeDeviceReset */
  nodeDeviceReset(name: string): Promise<void> {
    return this.serialized(async () => {
      await this.checkExists(name);
      await this.reset(name);
    });
  }

  /** virPCIProbeStubDriver: vfio-pci's driver directory, loading the module when it is missing. */
  private async probeStubDriver(): Promise<void> {
    const dir = `${PCI_SYSFS_DRIVERS}/${VFIO_PCI_DRIVER}`;
    if (await this.files.exists(dir)) return;
    // Only the real host has a modprobe to run; a fake tree says what is loaded.
    if (this.files.root === '') await loadKernelModule(VFIO_PCI_DRIVER);
    if (await this.files.exists(dir)) return;
    throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Failed to load PCI stub module ${VFIO_PCI_DRIVER}`);
  }

  /**
   * virPCIDeviceDetach: bound to vfio-pci through driver_override, then checked: the driver
   * link must name vfio-pci and /dev/vfio/<group> must appear. A device that does not get there
   * is given back to its host driver, so a failure leaves the host as it was.
   */
  private async detach(name: string): Promise<void> {
    await this.probeStubDriver();
    if (this.active.has(name)) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Not detaching active device ${name}`);
    const before = await pciDeviceDriver(this.files, name);
    if (before !== VFIO_PCI_DRIVER) {
      try {
        await pciDeviceBindWithDriverOverride(this.files, name, VFIO_PCI_DRIVER);
        await this.checkBoundToVfio(name);
      } catch (err) {
        await this.undoBind(name, before);
        throw err;
      }
      this.boundByUs.add(name);
    }
    this.inactive.add(name);
  }

  /** After a failed bind: the override cleared and, if the device moved, back to `before`. */
  private async undoBind(name: string, before: string | null): Promise<void> {
    const override = pciDevicePath(name, 'driver_override');
    try {
      if ((await pciDeviceDriver(this.files, name)) !== before) {
        await pciDeviceBindWithDriverOverride(this.files, name, '\n');
      } else if ((await this.files.read(override)).trim() !== '(null)') {
        await this.files.write(override, '\n');
      }
    } catch {
      // The error that made us undo is the one to report.
    }
  }

  private async checkBoundToVfio(name: string): Promise<void> {
    const now = await pciDeviceDriver(this.files, name);
    if (now !== VFIO_PCI_DRIVER) {
      throw virError(
        VIR_ERR_INTERNAL_ERROR,
        VIR_FROM_NONE,
        `Failed to bind PCI device ${name} to ${VFIO_PCI_DRIVER}: it is bound to ${now ?? 'no driver'}`,
      );
    }
    const group = await pciDeviceIommuGroup(this.files, name);
    if (group === null) {
      throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `PCI device ${name} has no IOMMU group`);
    }
    const node = `${VFIO_DEV_DIR}/${group}`;
    for (let waited = 0; !(await this.files.exists(node)); waited += VFIO_NODE_POLL_MS) {
      if (waited >= VFIO_NODE_WAIT_MS) {
        throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `VFIO group device ${node} of PCI device ${name} did not appear`);
      }
      await new Promise((resolve) => setTimeout(resolve, VFIO_NODE_POLL_MS));
    }
  }

  /**
   * virPCIDeviceReattach + virPCIDeviceUnbindFromStub: clear driver_override, unbind, reprobe;
   * always for virNodeDeviceReAttach, else only when virtnode put the device on vfio-pci.
   */
  private async reattach(name: string, always: boolean): Promise<void> {
    if (this.active.has(name)) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Not reattaching active device ${name}`);
    if (always || this.boundByUs.has(name)) await pciDeviceBindWithDriverOverride(this.files, name, '\n');
    this.boundByUs.delete(name);
    this.inactive.delete(name);
  }

  /**
   * virPCIDeviceReset. Devices on vfio-pci are skipped (vfio resets them itself), and so are
   * devices with FLR (KVM resets them at start and stop). The rest are reset through the
   * kernel's `reset` attribute, which tries the PM and bus resets libvirt would try by hand.
   */
  private async reset(name: string): Promise<void> {
    let config: Buffer;
    try {
      config = await this.files.readBytes(pciDevicePath(name, 'config'), PCI_CONFIG_HEADER_SIZE);
    } catch (err) {
      throw pciSystemError(`Failed to open config space file '${pciDevicePath(name, 'config')}'`, err);
    }
    // The header type comes from the bytes just read: config space reads can be trapped
    // hardware accesses, so it is read once.
    const header = configHeaderType(config);
    if (header === null) {
      throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Unknown PCI header type '${config[0x0e] & 0x7f}' for device '${name}'`);
    }
    if (header !== 'endpoint') {
      throw virError(
        VIR_ERR_INTERNAL_ERROR,
        VIR_FROM_NONE,
        `Invalid attempt to reset PCI device ${name}. Only PCI endpoint devices can be reset`,
      );
    }
    if (this.active.has(name)) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Not resetting active device ${name}`);
    if ((await pciDeviceDriver(this.files, name)) === VFIO_PCI_DRIVER) return;
    if (await pciDeviceHasFlr(this.files, name, config)) return;
    const resetFile = pciDevicePath(name, 'reset');
    if (!(await this.files.exists(resetFile))) {
      throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Unable to reset PCI device ${name}: no FLR, PM reset or bus reset available`);
    }
    try {
      await this.files.write(resetFile, '1');
    } catch (err) {
      const cause = pciSystemError(`Failed to reset PCI device '${name}'`, err);
      throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Unable to reset PCI device ${name}: ${cause.message}`);
    }
  }

  /**
   * qemu's check that every device of a VFIO group is bound to a VFIO-safe driver (or is a
   * bridge), before QEMU would find the group not viable. Reports QEMU's own words.
   */
  async checkGroupViable(name: string): Promise<void> {
    const group = await pciDeviceIommuGroup(this.files, name);
    if (group === null) return;
    for (const member of await iommuGroupMembers(this.files, group)) {
      const bdf = formatPciAddress(member);
      const driver = await pciDeviceDriver(this.files, bdf);
      if (driver === null || vfioFriendlyDriver(driver)) continue;
      const header = await pciHeaderType(this.files, bdf);
      if (header === 'pci-bridge' || header === 'cardbus-bridge') continue;
      throw virError(
        VIR_ERR_INTERNAL_ERROR,
        VIR_FROM_NONE,
        `vfio ${name}: group ${group} is not viable\nPlease ensure all devices within the iommu_group are bound to their vfio bus driver.`,
      );
    }
  }

  /**
   * virHostdevPreparePCIDevices for a domain's PCI hostdevs: each must exist, be an endpoint and
   * be free (no other domain uses it or, for VFIO, another device of its group); managed devices
   * are detached, unmanaged ones must already be on vfio-pci; every group must be viable. The VFs
   * of <interface type='hostdev'> have their PF's settings for them saved to `netStateDir` first
   * and get the interface's MAC and VLAN last. Then they are marked as used by the domain. On any
   * failure the VF settings are put back, the devices detached here are given back and nothing
   * is marked.
   */
  prepareDomainDevices(domain: string, hostdevs: PciHostdevRequest[], scope = '', netStateDir = ''): Promise<void> {
    return this.serialized(async () => {
      const names = hostdevs.map((h) => formatPciAddress(h.address));
      for (const [i, name] of names.entries()) {
        await this.checkExists(name);
        if ((await pciHeaderType(this.files, name)) !== 'endpoint') {
          throw virError(VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE, 'Non-endpoint PCI devices cannot be assigned to guests');
        }
        await this.checkNotUsedByOthers(name, domain, scope);
        if (!hostdevs[i].managed && (await pciDeviceDriver(this.files, name)) !== VFIO_PCI_DRIVER) {
          throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_NONE, `Unmanaged PCI device ${name} must be manually detached from the host`);
        }
      }
      const vfs = new Map<number, VfOfPf>();
      for (const [i, name] of names.entries()) if (hostdevs[i].net) vfs.set(i, await this.checkVfNetDevice(name));
      // Step 1.5 of libvirt's order: the settings are read while the VF still has its host
      // interface, whose MAC is what the VF gets back when it returns to the host.
      const saved: VfOfPf[] = [];
      try {
        for (const vf of vfs.values()) {
          await saveVfNetConfig(this.links, vf.pf, vf.vf, vf.vfIfname, await this.vfHostMac(vf.vfIfname), this.netStateDir(netStateDir));
          saved.push(vf);
        }
      } catch (err) {
        await this.forgetSavedVfs(saved, netStateDir);
        throw err;
      }
      const detachedHere: string[] = [];
      const configured: VfOfPf[] = [];
      try {
        for (const [i, name] of names.entries()) {
          if (!hostdevs[i].managed || this.inactive.has(name)) continue;
          await this.detach(name);
          detachedHere.push(name);
        }
        for (const name of names) await this.checkGroupViable(name);
        for (const [i, vf] of vfs) {
          const net = hostdevs[i].net!;
          if (net.vlan && (net.vlan.tags.length !== 1 || net.vlan.trunk)) {
            throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_NONE, 'vlan trunking is not supported by SR-IOV network devices');
          }
          configured.push(vf);
          // virHostdevSetNetConfig: the interface's MAC as the VF's admin MAC, then its VLAN tag,
          // or no tag when it asks for none.
          await setVfNetConfig(this.links, vf.pf, vf.vf, net.mac, net.vlan ? net.vlan.tags[0] : null);
        }
      } catch (err) {
        for (const vf of configured) await restoreVfNetConfig(this.links, vf.pf, vf.vf, netStateDir).catch(() => undefined);
        await this.forgetSavedVfs(saved.filter((vf) => !configured.includes(vf)), netStateDir);
        for (const name of detachedHere.reverse()) await this.reattach(name, false).catch(() => undefined);
        throw err;
      }
      for (const name of names) {
        this.inactive.delete(name);
        this.active.set(name, { driver: QEMU_DRIVER_NAME, domain, scope });
      }
    });
  }

  private netStateDir(dir: string): string {
    if (dir === '') throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'no state directory for the network config of SR-IOV VFs');
    return dir;
  }

  /** Saved settings of VFs that were never changed: nothing to put back, so the files go. */
  private async forgetSavedVfs(vfs: VfOfPf[], netStateDir: string): Promise<void> {
    for (const vf of vfs) await fsp.rm(vfConfigPath(netStateDir, vf.pf, vf.vf), { force: true });
  }

  /** The MAC of a VF's host interface (virNetDevGetMAC), or null when it has none. */
  private async vfHostMac(vfIfname: string | null): Promise<string | null> {
    if (vfIfname === null) return null;
    const address = await readAttr(this.files, `/sys/class/net/${vfIfname}/address`);
    return address === null ? null : address.trim();
  }

  /**
   * The sysfs half of virHostdevSaveNetConfig, before anything is detached: an interface's
   * device must be a VF, its PF must have a network interface, and that interface must be up,
   * since the VF's MAC and VLAN are set through it.
   */
  private async checkVfNetDevice(name: string): Promise<VfOfPf> {
    const vf = await this.vfOfPf(name);
    const flags = Number.parseInt((await readAttr(this.files, `/sys/class/net/${vf.pf}/flags`)) ?? '0', 16);
    if ((flags & IFF_UP) === 0) {
      throw virError(
        VIR_ERR_INTERNAL_ERROR,
        VIR_FROM_NONE,
        `Unable to configure VF ${vf.vf} of PF '${vf.pf}' because the PF is not online. Please change host network config to put the PF online.`,
      );
    }
    return vf;
  }

  /** virHostdevNetDevice: the PF interface a VF is configured through, and its VF index. */
  private async vfOfPf(name: string): Promise<VfOfPf> {
    const vfPath = await resolveLink(this.files, pciDevicePath(name));
    const pfName = await linkBasename(this.files, pciDevicePath(name, 'physfn'));
    if (pfName === null) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_NONE, 'Interface type hostdev is currently supported on SR-IOV Virtual Functions only');
    }
    const pf = await readPciDevice(this.files, pfName);
    const vf = pf?.virtFunctions.findIndex((a) => formatPciAddress(a) === name) ?? -1;
    const pfNet = pf?.netNames[0];
    if (!pf || pfNet === undefined || vf < 0) {
      throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `The PF device for VF ${vfPath} has no network device name, cannot get virtual function info`);
    }
    const vfNet = (await readPciDevice(this.files, name))?.netNames[0] ?? null;
    return { pf: pfNet, vf, vfIfname: vfNet };
  }

  /** qemuHostdevPreparePCIDevicesCheckSupport: VFIO is the one backend QEMU domains can use. */
  async checkPassthroughSupport(hostdevs: PciHostdevRequest[]): Promise<void> {
    if (hostdevs.some((h) => h.backend === 'kvm')) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, "host doesn't support legacy PCI passthrough");
    }
    if (hostdevs.length === 0 || (await this.supportsVfio())) return;
    const explicit = hostdevs.some((h) => h.backend === 'vfio');
    throw virError(
      VIR_ERR_CONFIG_UNSUPPORTED,
      VIR_FROM_QEMU,
      explicit ? "host doesn't support VFIO PCI passthrough" : "host doesn't support passthrough of host PCI devices",
    );
  }

  /** A device, or another device of its IOMMU group, used by another domain. */
  private async checkNotUsedByOthers(name: string, domain: string, scope: string): Promise<void> {
    const group = await pciDeviceIommuGroup(this.files, name);
    const members = group === null ? [name] : (await iommuGroupMembers(this.files, group)).map(formatPciAddress);
    for (const member of members.includes(name) ? members : [name, ...members]) {
      const user = this.active.get(member);
      if (!user || (user.domain === domain && user.scope === scope && member !== name)) continue;
      throw inUse('PCI', member, user);
    }
  }

  /**
   * virHostdevReAttachPCIDevices: a stopped domain's devices are released; the VFs of its
   * interfaces get their saved settings back from `netStateDir` (while still off the host, so
   * that their host driver picks up the MAC when it binds), and the managed ones go back to
   * their host drivers. Devices another domain holds are left alone. Nothing here fails: what
   * cannot be undone stays as it is, as libvirt only logs it.
   */
  releaseDomainDevices(domain: string, hostdevs: PciHostdevRequest[], scope = '', netStateDir = ''): Promise<void> {
    return this.serialized(async () => {
      for (const h of hostdevs) {
        const name = formatPciAddress(h.address);
        const user = this.active.get(name);
        if (!user || user.domain !== domain || user.scope !== scope) continue;
        this.active.delete(name);
        if (h.net && netStateDir !== '') {
          await this.vfOfPf(name)
            .then((vf) => restoreVfNetConfig(this.links, vf.pf, vf.vf, netStateDir))
            .catch(() => undefined);
        }
        if (h.managed) await this.reattach(name, false).catch(() => undefined);
      }
    });
  }

  /**
   * virHostdevFindUSBDevice: the host device a USB hostdev names. By IDs and address, it must be
   * that device; by IDs alone, the one device with them, whose address goes into the (live)
   * definition; by address alone, whatever is there. Not found: an error when `required`, else
   * null.
   */
  private async findUsbHostdev(h: HostdevDef, required: boolean): Promise<UsbHostDevice | null> {
    const { vendor, product, bus, device } = usbHostdevSource(h);
    if (vendor !== 0 && (bus !== 0 || device !== 0)) return findUsb(this.files, vendor, product, bus, device, required);
    if (vendor !== 0) {
      const found = await findUsbByVendor(this.files, vendor, product, required);
      if (found.length > 1) {
        throw virError(
          VIR_ERR_OPERATION_FAILED,
          VIR_FROM_NONE,
          `Multiple USB devices for ${vendor.toString(16)}:${product.toString(16)}, use <address> to specify one`,
        );
      }
      if (found.length === 1) setUsbAddress(h, found[0]);
      return found[0] ?? null;
    }
    if (bus !== 0 || device !== 0) return findUsbByBus(this.files, bus, device, required);
    return null;
  }

  /**
   * virHostdevPrepareUSBDevices: each USB hostdev is found on the host (its address filled in
   * when it is named by IDs) and marked as the domain's. A device that is not there fails the
   * start unless its startupPolicy is optional, or requisite on anything but a cold boot; then it
   * is marked missing and left out. A device another domain holds fails it; nothing is marked.
   */
  prepareUsbDevices(domain: string, hostdevs: HostdevDef[], scope = '', coldBoot = true): Promise<void> {
    return this.serialized(async () => {
      const found: string[] = [];
      for (const h of hostdevs) {
        const policy = h.sourceAttrs.find(([k]) => k === 'startupPolicy')?.[1];
        const required = !(policy === 'optional' || (policy === 'requisite' && !coldBoot));
        const dev = await this.findUsbHostdev(h, required);
        if (!dev) {
          markUsbMissing(h);
          continue;
        }
        const name = usbDeviceName(dev.bus, dev.device);
        if (found.includes(name)) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Device ${name} is already in use`);
        found.push(name);
      }
      for (const name of found) {
        const user = this.activeUsb.get(name);
        if (user) throw inUse('USB', name, user);
      }
      for (const name of found) this.activeUsb.set(name, { driver: QEMU_DRIVER_NAME, domain, scope });
    });
  }

  /** virHostdevReAttachUSBDevices: the domain's USB devices are free again; others' are left alone. */
  releaseUsbDevices(domain: string, hostdevs: HostdevDef[], scope = ''): Promise<void> {
    return this.serialized(async () => {
      for (const h of hostdevs) {
        const name = usbHostdevName(h);
        const user = name === null ? undefined : this.activeUsb.get(name);
        if (user && user.domain === domain && user.scope === scope) this.activeUsb.delete(name!);
      }
    });
  }

  /** virHostdevUpdateActiveUSBDevices: a domain found running again holds its USB devices. */
  adoptUsbDevices(domain: string, hostdevs: HostdevDef[], scope = ''): void {
    for (const h of hostdevs) {
      const name = usbHostdevName(h);
      if (name !== null) this.activeUsb.set(name, { driver: QEMU_DRIVER_NAME, domain, scope });
    }
  }

  /** Who holds a USB device ('BBB:DDD'), if a running domain does. */
  usbUserOf(name: string): PciDeviceUser | undefined {
    return this.activeUsb.get(name);
  }

  /** Whether virtnode put the device on vfio-pci (what a status file records, as libvirt's origstates). */
  detachedByUs(name: string): boolean {
    return this.boundByUs.has(name);
  }

  /**
   * virHostdevUpdateActivePCIDevices: a domain found running again holds its devices, and those
   * its status file says virtnode detached (`detached`; without the record, every managed one)
   * go back to the host when it stops.
   */
  adoptDomainDevices(domain: string, hostdevs: PciHostdevRequest[], scope = '', detached?: readonly string[]): void {
    for (const h of hostdevs) {
      const name = formatPciAddress(h.address);
      this.active.set(name, { driver: QEMU_DRIVER_NAME, domain, scope });
      if (detached ? detached.includes(name) : h.managed) this.boundByUs.add(name);
    }
  }

  /**
   * A driver state (re)loading forgets what it held: the domains it finds running adopt their
   * devices again, and those that stopped meanwhile (in another process) no longer hold any.
   */
  forgetScope(scope: string): void {
    for (const [name, user] of this.active) if (user.scope === scope) this.active.delete(name);
    for (const [name, user] of this.activeUsb) if (user.scope === scope) this.activeUsb.delete(name);
  }
}

/** `modprobe <module>` on the host; failures are the caller's to report. */
function loadKernelModule(module: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('modprobe', [module], () => resolve());
  });
}

const managers = new Map<string, HostdevManager>();

/** The manager for a kernel root ('' for the host): one per root in the process. */
export function hostdevManager(root: string): HostdevManager {
  let mgr = managers.get(root);
  if (!mgr) {
    mgr = new HostdevManager(root);
    managers.set(root, mgr);
  }
  return mgr;
}

/** For qemuNodeDeviceDetachFlags: refuses what the QEMU driver cannot detach. */
export async function checkDetachDriverName(mgr: HostdevManager, driverName: string | null): Promise<void> {
  const name = driverName ?? 'vfio';
  if (name !== 'vfio' && name !== 'kvm') {
    throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `unknown driver name '${name}'`);
  }
  if (name === 'kvm') {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'KVM device assignment is no longer supported on this system');
  }
  if (!(await mgr.supportsVfio())) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'VFIO device assignment is currently not supported on this system');
  }
}
