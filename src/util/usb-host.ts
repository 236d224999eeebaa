// Host USB devices as sysfs lists them (libvirt's virusb.c): each device directory under
// /sys/bus/usb/devices with its idVendor, idProduct and devnum, the bus taken from the
// directory's name ('usb2' for a root hub, '2-1.4' for a device behind it). Interfaces ('2-1.4:1.0')
// are not devices and are skipped. QEMU opens a device through its node /dev/bus/usb/BBB/DDD.
import { VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, virError } from '../error';
import { pciSystemError } from './pci-host';
import type { KernelFiles } from './sysfs';

export const USB_SYSFS_DEVICES = '/sys/bus/usb/devices';
/** Where the kernel's usbfs nodes are (USB_DEVFS), under the host's root: never a fake tree's. */
export const USB_DEVFS = '/dev/bus/usb';

export interface UsbHostDevice {
  /** The sysfs directory name ('usb1', '1-2', '3-1.4'). */
  sysfsName: string;
  bus: number;
  device: number;
  vendor: number;
  product: number;
}

const pad3 = (n: number): string => String(n).padStart(3, '0');
const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/** How libvirt names a USB device in its lists and messages: 'BBB:DDD'. */
export function usbDeviceName(bus: number, device: number): string {
  return `${pad3(bus)}:${pad3(device)}`;
}

/** The usbfs node QEMU opens for a device. */
export function usbDevicePath(bus: number, device: number): string {
  return `${USB_DEVFS}/${pad3(bus)}/${pad3(device)}`;
}

/**
 * virStrToLong_ui with an end pointer: the leading number of `text` in `base` (strtoul: blanks
 * and a 0x prefix in base 16 allowed), or null when there is none.
 */
function leadingNumber(text: string, base: 10 | 16): number | null {
  const m = (base === 16 ? /^\s*(?:0[xX])?([0-9a-fA-F]+)/ : /^\s*([0-9]+)/).exec(text);
  if (!m) return null;
  const n = Number.parseInt(m[1], base);
  return n > 0xffffffff ? null : n;
}

/** virUSBSysReadFile: one numeric attribute of a device directory. */
async function readUsbNumber(files: KernelFiles, name: string, attr: string, base: 10 | 16): Promise<number> {
  const file = `${USB_SYSFS_DEVICES}/${name}/${attr}`;
  let text: string;
  try {
    text = await files.read(file);
  } catch (err) {
    throw pciSystemError(`Failed to open file '${file}'`, err);
  }
  const n = leadingNumber(text, base);
  if (n === null) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Could not parse usb file ${file}`);
  return n;
}

/** Every USB device of the host, in directory order (virUSBDeviceSearch without a filter). */
export async function listUsbDevices(files: KernelFiles): Promise<UsbHostDevice[]> {
  let names: string[];
  try {
    names = await files.readdir(USB_SYSFS_DEVICES);
  } catch (err) {
    throw pciSystemError(`cannot open directory '${USB_SYSFS_DEVICES}'`, err);
  }
  const devices: UsbHostDevice[] = [];
  for (const sysfsName of names) {
    if (sysfsName.includes(':')) continue;
    const vendor = await readUsbNumber(files, sysfsName, 'idVendor', 16);
    const product = await readUsbNumber(files, sysfsName, 'idProduct', 16);
    const bus = leadingNumber(sysfsName.startsWith('usb') ? sysfsName.slice(3) : sysfsName, 10);
    if (bus === null) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Failed to parse dir name '${sysfsName}'`);
    const device = await readUsbNumber(files, sysfsName, 'devnum', 10);
    devices.push({ sysfsName, bus, device, vendor, product });
  }
  return devices;
}

/**
 * virUSBDeviceFindByVendor: every device with these IDs. None is an error when `mandatory`,
 * else an empty list.
 */
export async function findUsbByVendor(files: KernelFiles, vendor: number, product: number, mandatory: boolean): Promise<UsbHostDevice[]> {
  const found = (await listUsbDevices(files)).filter((d) => d.vendor === vendor && d.product === product);
  if (found.length === 0 && mandatory) {
    throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Did not find USB device ${hex4(vendor)}:${hex4(product)}`);
  }
  return found;
}

/** virUSBDeviceFindByBus: the device at bus:device, or null (an error when `mandatory`). */
export async function findUsbByBus(files: KernelFiles, bus: number, device: number, mandatory: boolean): Promise<UsbHostDevice | null> {
  const found = (await listUsbDevices(files)).find((d) => d.bus === bus && d.device === device) ?? null;
  if (!found && mandatory) {
    throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `Did not find USB device bus:${bus} device:${device}`);
  }
  return found;
}

/** virUSBDeviceFind: the device with these IDs at bus:device, or null (an error when `mandatory`). */
export async function findUsb(files: KernelFiles, vendor: number, product: number, bus: number, device: number, mandatory: boolean): Promise<UsbHostDevice | null> {
  const found = (await listUsbDevices(files)).find((d) => d.vendor === vendor && d.product === product && d.bus === bus && d.device === device) ?? null;
  if (!found && mandatory) {
    throw virError(
      VIR_ERR_INTERNAL_ERROR,
      VIR_FROM_NONE,
      `Did not find USB device ${hex4(vendor)}:${hex4(product)} bus:${bus} device:${device}`,
    );
  }
  return found;
}
