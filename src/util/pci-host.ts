// The host's PCI devices as sysfs shows them (libvirt's virpci.c): identity, driver, IOMMU
// group, SR-IOV links, NUMA node, network interfaces, and what config space says about the
// header type and PCI Express links. Every read goes through a KernelFiles seam.
import path from 'node:path';
import { VirError, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE } from '../error';
import { native } from '../native';
import { parsePciAddress, type PciAddress } from './pci';
import { listDir, linkBasename, readAttr, resolveLink, type KernelFiles } from './sysfs';

export const PCI_SYSFS_DEVICES = '/sys/bus/pci/devices';
export const PCI_SYSFS_DRIVERS = '/sys/bus/pci/drivers';
export const PCI_SYSFS_DRIVERS_PROBE = '/sys/bus/pci/drivers_probe';
export const IOMMU_GROUPS_DIR = '/sys/kernel/iommu_groups';
export const VFIO_DEV_DIR = '/dev/vfio';
export const VFIO_PCI_DRIVER = 'vfio-pci';

/** virPCIHeaderType */
export const PCI_HEADER_TYPES = ['endpoint', 'pci-bridge', 'cardbus-bridge'] as const;
export type PciHeaderType = (typeof PCI_HEADER_TYPES)[number];

/** virPCIELinkSpeed: the value of the link registers' speed field, 1 = 2.5 GT/s. */
const PCIE_LINK_SPEEDS = ['', '2.5', '5', '8', '16', '32', '64'];

export interface PcieLink {
  port?: number;
  speed?: string;
  width: number;
}

export interface PcieInfo {
  /** Absent for root complex integrated endpoints and event collectors, which have no link. */
  linkCap?: PcieLink;
  linkSta?: PcieLink;
}

/** What config space tells, when it can be read (libvirt reads it only when privileged). */
export interface PciConfigFacts {
  headerType: PciHeaderType;
  pcie?: PcieInfo;
}

export interface HostPciDevice {
  address: PciAddress;
  /** '0000:06:12.1' */
  name: string;
  /** The device's real directory, e.g. /sys/devices/pci0000:00/0000:00:1c.0/0000:06:12.1 */
  sysfsPath: string;
  vendor: number;
  product: number;
  /** -1 when the class file is unreadable, as libvirt's klass */
  class: number;
  driver: string | null;
  iommuGroup: number | null;
  physFunction: PciAddress | null;
  /** virtfn0, virtfn1, ... in order: the index is the VF number netlink uses. */
  virtFunctions: PciAddress[];
  /** sriov_totalvfs, 0 when the device has no SR-IOV capability */
  maxVirtFunctions: number;
  /** sriov_numvfs, 0 when the device has no SR-IOV capability */
  numVirtFunctions: number;
  numaNode: number;
  /** Interface names under <dev>/net/ (or one bus level down, as virtio-net has them). */
  netNames: string[];
}

/** The sysfs directory of a device by address: /sys/bus/pci/devices/<BDF> (a symlink). */
export function pciDevicePath(name: string, file?: string): string {
  return file === undefined ? `${PCI_SYSFS_DEVICES}/${name}` : `${PCI_SYSFS_DEVICES}/${name}/${file}`;
}

function parseHex(text: string | null): number | null {
  if (text === null) return null;
  const t = text.trim();
  if (!/^(0x)?[0-9a-fA-F]+$/.test(t)) return null;
  return Number.parseInt(t.replace(/^0x/, ''), 16);
}

/** A non-negative decimal sysfs value (a count, a group number), or null for anything else. */
function parseDecimal(text: string | null): number | null {
  const t = text?.trim();
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : null;
}

/** The full address form of a BDF in a link or directory name, or null for anything else. */
export function addressFromName(name: string): PciAddress | null {
  return /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/.test(name) ? parsePciAddress(name) : null;
}

export function comparePciAddress(a: PciAddress, b: PciAddress): number {
  return a.domain - b.domain || a.bus - b.bus || a.slot - b.slot || a.function - b.function;
}

/** The BDFs of every PCI device, in address order. */
export async function listPciDevices(files: KernelFiles): Promise<string[]> {
  const names = (await listDir(files, PCI_SYSFS_DEVICES)).filter((n) => addressFromName(n) !== null);
  return names.sort((a, b) => comparePciAddress(addressFromName(a)!, addressFromName(b)!));
}

/** Whether /sys/bus/pci/devices/<BDF> is there, as virPCIDeviceNew checks through its config file. */
export async function pciDeviceExists(files: KernelFiles, name: string): Promise<boolean> {
  return files.exists(pciDevicePath(name, 'config'));
}

/** virPCIGetVirtualFunctions: virtfn0, virtfn1, ... until one is missing. */
async function virtualFunctions(files: KernelFiles, name: string): Promise<PciAddress[]> {
  const out: PciAddress[] = [];
  for (let i = 0; ; i++) {
    const vf = await linkBasename(files, pciDevicePath(name, `virtfn${i}`));
    const addr = vf === null ? null : addressFromName(vf);
    if (addr === null) return out;
    out.push(addr);
  }
}

/**
 * The device's network interfaces. Most NIC drivers put them in <dev>/net/; virtio-net puts them
 * one bus level down (<dev>/virtio2/net/eth0), so that level is searched too.
 */
async function netNames(files: KernelFiles, dir: string): Promise<string[]> {
  const direct = await listDir(files, `${dir}/net`);
  if (direct.length > 0) return direct.sort();
  const found: string[] = [];
  for (const entry of await listDir(files, dir)) {
    if (!/^virtio\d+$/.test(entry)) continue;
    found.push(...(await listDir(files, `${dir}/${entry}/net`)));
  }
  return found.sort();
}

/** Reads one device; null when /sys/bus/pci/devices/<name> does not exist. */
export async function readPciDevice(files: KernelFiles, name: string): Promise<HostPciDevice | null> {
  const address = addressFromName(name);
  if (address === null) return null;
  let sysfsPath: string;
  try {
    sysfsPath = await resolveLink(files, pciDevicePath(name));
  } catch {
    return null;
  }
  const attr = (file: string) => readAttr(files, `${sysfsPath}/${file}`);
  const [vendor, product, klass, driver, group, physfn, vfs, total, num, numa, nets] = await Promise.all([
    attr('vendor'),
    attr('device'),
    attr('class'),
    linkBasename(files, `${sysfsPath}/driver`),
    linkBasename(files, `${sysfsPath}/iommu_group`),
    linkBasename(files, `${sysfsPath}/physfn`),
    virtualFunctions(files, name),
    attr('sriov_totalvfs'),
    attr('sriov_numvfs'),
    attr('numa_node'),
    netNames(files, sysfsPath),
  ]);
  const numaNode = numa !== null && /^-?\d+$/.test(numa.trim()) ? Number(numa.trim()) : -1;
  return {
    address,
    name,
    sysfsPath,
    vendor: parseHex(vendor) ?? 0,
    product: parseHex(product) ?? 0,
    class: parseHex(klass) ?? -1,
    driver,
    iommuGroup: parseDecimal(group),
    physFunction: physfn === null ? null : addressFromName(physfn),
    virtFunctions: vfs,
    maxVirtFunctions: parseDecimal(total) ?? 0,
    numVirtFunctions: parseDecimal(num) ?? 0,
    numaNode,
    netNames: nets,
  };
}

/** The members of an IOMMU group, in address order (virPCIDeviceAddressGetIOMMUGroupAddresses). */
export async function iommuGroupMembers(files: KernelFiles, group: number): Promise<PciAddress[]> {
  const names = await listDir(files, `${IOMMU_GROUPS_DIR}/${group}/devices`);
  return names
    .map(addressFromName)
    .filter((a): a is PciAddress => a !== null)
    .sort(comparePciAddress);
}

/** The device's current driver name, or null when none is bound. */
export function pciDeviceDriver(files: KernelFiles, name: string): Promise<string | null> {
  return linkBasename(files, pciDevicePath(name, 'driver'));
}

/** The IOMMU group number of a device, or null when it has none (no IOMMU). */
export async function pciDeviceIommuGroup(files: KernelFiles, name: string): Promise<number | null> {
  return parseDecimal(await linkBasename(files, pciDevicePath(name, 'iommu_group')));
}

/** The standard config space, where the header type and the capability list live. */
export const PCI_CONFIG_HEADER_SIZE = 256;

// Config space offsets (include/uapi/linux/pci_regs.h).
const PCI_STATUS = 0x06;
const PCI_STATUS_CAP_LIST = 0x10;
const PCI_HEADER_TYPE = 0x0e;
const PCI_CAPABILITY_LIST = 0x34;
const PCI_CAP_ID_EXP = 0x10;
const PCI_EXP_FLAGS = 2;
const PCI_EXP_LNKCAP = 0x0c;
const PCI_EXP_LNKSTA = 0x12;
const PCI_EXP_TYPE_RC_END = 9;
const PCI_EXP_TYPE_RC_EC = 10;

/** The offset of a standard capability in config space, or 0. */
export function findPciCapability(config: Buffer, capId: number): number {
  if (config.length < 0x40 || (config.readUInt16LE(PCI_STATUS) & PCI_STATUS_CAP_LIST) === 0) return 0;
  let pos = config[PCI_CAPABILITY_LIST] & ~3;
  // A malformed list could loop; the 256-byte header has room for at most 48 capabilities.
  for (let ttl = 48; ttl > 0 && pos >= 0x40 && pos + 1 < config.length; ttl--) {
    if (config[pos] === capId) return pos;
    pos = config[pos + 1] & ~3;
  }
  return 0;
}

function pcieLink(config: Buffer, at: number, width: 2 | 4, withPort: boolean): PcieLink | undefined {
  if (at + width > config.length) return undefined;
  const value = width === 4 ? config.readUInt32LE(at) : config.readUInt16LE(at);
  const speed = PCIE_LINK_SPEEDS[value & 0xf];
  return {
    port: withPort ? value >>> 24 : undefined,
    speed: speed === '' ? undefined : speed,
    width: (value & 0x3f0) >> 4,
  };
}

/** virPCIGetHeaderType on config space already read; null when short or of an unknown type. */
export function configHeaderType(config: Buffer): PciHeaderType | null {
  if (config.length <= PCI_HEADER_TYPE) return null;
  return PCI_HEADER_TYPES[config[PCI_HEADER_TYPE] & 0x7f] ?? null;
}

/**
 * Header type and PCI Express links from config space (virPCIGetHeaderType,
 * virPCIDeviceIsPCIExpress, virPCIDeviceGetLinkCapSta). Null when config cannot be read.
 */
export async function readPciConfigFacts(files: KernelFiles, name: string): Promise<PciConfigFacts | null> {
  let config: Buffer;
  try {
    config = await files.readBytes(pciDevicePath(name, 'config'), PCI_CONFIG_HEADER_SIZE);
  } catch {
    return null;
  }
  const headerType = configHeaderType(config);
  if (headerType === null) return null;
  const facts: PciConfigFacts = { headerType };
  const exp = findPciCapability(config, PCI_CAP_ID_EXP);
  if (exp !== 0) {
    const type = (config.readUInt16LE(exp + PCI_EXP_FLAGS) & 0xf0) >> 4;
    facts.pcie =
      type === PCI_EXP_TYPE_RC_END || type === PCI_EXP_TYPE_RC_EC
        ? {}
        : { linkCap: pcieLink(config, exp + PCI_EXP_LNKCAP, 4, true), linkSta: pcieLink(config, exp + PCI_EXP_LNKSTA, 2, false) };
  }
  return facts;
}

/** The PCI header type alone, for the reset and assignment checks. */
export async function pciHeaderType(files: KernelFiles, name: string): Promise<PciHeaderType | null> {
  return (await readPciConfigFacts(files, name))?.headerType ?? null;
}

/** Which PCI device, if any, a sysfs directory belongs to: the nearest ancestor named by a BDF. */
export function owningPciDevice(sysfsPath: string): string | null {
  for (let dir = path.posix.dirname(sysfsPath); dir !== '/' && dir !== '.'; dir = path.posix.dirname(dir)) {
    if (addressFromName(path.posix.basename(dir))) return path.posix.basename(dir);
  }
  return null;
}

// ---- Binding (virPCIDeviceBindToStub, virPCIDeviceUnbindFromStub, virPCIDeviceReset) ----

/** virReportSystemError: "<what>: <strerror>", errno in int1, from VIR_FROM_NONE as virpci.c. */
export function pciSystemError(what: string, err: unknown): VirError {
  const errno = Math.abs((err as NodeJS.ErrnoException)?.errno ?? 0);
  const text = errno !== 0 ? native().strerror(errno) : String((err as Error)?.message ?? err);
  const message = `${what}: ${text}`;
  return new VirError({ code: VIR_ERR_SYSTEM_ERROR, domain: VIR_FROM_NONE, message, str1: message, int1: errno });
}

/** virPCIDeviceUnbind: writes the BDF to driver/unbind when a driver is bound. */
export async function pciDeviceUnbind(files: KernelFiles, name: string): Promise<void> {
  const driver = await pciDeviceDriver(files, name);
  if (driver === null) return;
  const unbind = pciDevicePath(name, 'driver/unbind');
  if (!(await files.exists(unbind))) return;
  try {
    await files.write(unbind, name);
  } catch (err) {
    throw pciSystemError(`Failed to unbind PCI device '${name}' from ${driver}`, err);
  }
}

/** virPCIDeviceRebind: unbind, then let the kernel probe a driver for the device again. */
export async function pciDeviceRebind(files: KernelFiles, name: string): Promise<void> {
  await pciDeviceUnbind(files, name);
  try {
    await files.write(PCI_SYSFS_DRIVERS_PROBE, name);
  } catch (err) {
    throw pciSystemError(`Failed to trigger a probe for PCI device '${name}'`, err);
  }
}

/**
 * virPCIDeviceBindWithDriverOverride: driver_override names the driver (or "\n" clears it), then
 * rebind. driver_override rather than new_id: new_id would claim every device with that ID.
 */
export async function pciDeviceBindWithDriverOverride(files: KernelFiles, name: string, driver: string): Promise<void> {
  try {
    await files.write(pciDevicePath(name, 'driver_override'), driver);
  } catch (err) {
    // libvirt's message has the double space.
    throw pciSystemError(`Failed to add driver '${driver}' to driver_override  interface of PCI device '${name}'`, err);
  }
  await pciDeviceRebind(files, name);
}

// Config space facts for the reset decision (virPCIDeviceDetectFunctionLevelReset).
const PCI_EXP_DEVCAP = 4;
const PCI_EXP_DEVCAP_FLR = 1 << 28;
const PCI_CAP_ID_AF = 0x13;
const PCI_AF_CAP = 3;
const PCI_AF_CAP_FLR = 0x02;

/** Whether the function can reset itself (FLR); VFs must support it, advertised or not. */
export async function pciDeviceHasFlr(files: KernelFiles, name: string, config: Buffer): Promise<boolean> {
  const exp = findPciCapability(config, PCI_CAP_ID_EXP);
  if (exp !== 0 && exp + PCI_EXP_DEVCAP + 4 <= config.length && (config.readUInt32LE(exp + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR) !== 0) {
    return true;
  }
  const af = findPciCapability(config, PCI_CAP_ID_AF);
  if (af !== 0 && (config[af + PCI_AF_CAP] & PCI_AF_CAP_FLR) !== 0) return true;
  return files.exists(pciDevicePath(name, 'physfn'));
}
