// Generic post-parse defaults (virDomainDefPostParseCommon) and generic validation
// (virDomainDefValidate): what libvirt does for every driver.
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, virError } from '../error';
import { generateMAC } from '../util/mac';
import { generateUUID } from '../util/uuid';
import type {
  ChrDef,
  ControllerDef,
  DeviceInfo,
  DiskDef,
  DomainDef,
  DomainDeviceDef,
  GenericElement,
  HostdevDef,
  NetDef,
  SimpleDeviceDef,
} from './domain-def';
import { VIR_DOMAIN_DEF_PARSE_ABI_UPDATE, diskNameToIndex, type DomainXMLOptions } from './domain-parse';
import { validateHostdevTeaming, validateNetTeaming } from './teaming';
import { parseMemoryKiB } from './units';
import { attr, child, children, textOf, type XmlElement } from './xml';

function numaMemoryKiB(def: DomainDef): number {
  const numa = def.cpu ? child(def.cpu, 'numa') : undefined;
  if (!numa) return 0;
  let total = 0;
  for (const cell of children(numa, 'cell')) {
    const mem = attr(cell, 'memory');
    if (mem !== undefined) total += parseMemoryKiB(mem, attr(cell, 'unit'), './@memory');
  }
  return total;
}

function memoryDevicesKiB(def: DomainDef): number {
  let total = 0;
  for (const m of def.devices.memories) {
    const target = m.children.find((c) => c.name === 'target');
    const size = target ? child(target, 'size') : undefined;
    const text = size ? textOf(size) : undefined;
    if (size && text) total += parseMemoryKiB(text, attr(size, 'unit'), './size');
  }
  return total;
}

function isSerialConsole(con: ChrDef): boolean {
  const type = con.target?.attrs.find(([k]) => k === 'type')?.[1];
  return type === undefined || type === 'serial';
}

/** Every device of the domain, in libvirt's device order. */
export function allDevices(def: DomainDef): DomainDeviceDef[] {
  const d = def.devices;
  const out: DomainDeviceDef[] = [
    ...d.disks, ...d.controllers, ...d.leases, ...d.filesystems, ...d.interfaces, ...d.smartcards, ...d.serials,
    ...d.parallels, ...d.consoles, ...d.channels, ...d.inputs, ...d.tpms, ...d.graphics, ...d.sounds, ...d.audios,
    ...d.videos, ...d.hostdevs, ...d.redirdevs, ...d.redirfilters, ...d.hubs, ...d.watchdogs,
  ];
  if (d.memballoon) out.push(d.memballoon);
  out.push(...d.rngs);
  if (d.nvram) out.push(d.nvram);
  out.push(...d.panics, ...d.shmems, ...d.memories);
  if (d.iommu) out.push(d.iommu);
  if (d.vsock) out.push(d.vsock);
  out.push(...d.cryptos);
  return out;
}

function hasDeviceBoot(def: DomainDef): boolean {
  for (const dev of allDevices(def)) if ('info' in dev && dev.info.bootOrder !== undefined) return true;
  return false;
}

function targetAttr(t: GenericElement | undefined, name: string): string | undefined {
  return t?.attrs.find(([k]) => k === name)?.[1];
}

function copyChr(src: ChrDef, kind: ChrDef['kind'], target: GenericElement): ChrDef {
  const out: ChrDef = { kind, type: src.type, sources: src.sources, extra: [], info: { ...src.info }, target };
  if (src.tty !== undefined) out.tty = src.tty;
  if (src.protocol !== undefined) out.protocol = src.protocol;
  if (src.log) out.log = src.log;
  return out;
}

/**
 * virDomainDefAddConsoleCompat: for HVM guests the first console, when it is a serial console,
 * is the first serial port (created from the console when there is none), and a guest with a
 * serial port always shows it as its first console.
 */
function consoleCompat(def: DomainDef): void {
  const d = def.devices;
  // A console's port is its place among the consoles as written: libvirt ignores the XML's.
  d.consoles.forEach((con, i) => {
    con.target ??= { attrs: [], children: [] };
    const at = con.target.attrs.findIndex(([k]) => k === 'port');
    if (at >= 0) con.target.attrs[at] = ['port', String(i)];
    else con.target.attrs.push(['port', String(i)]);
  });
  if (def.os.type !== 'hvm') return;
  const first = d.consoles[0];
  const firstType = first ? targetAttr(first.target, 'type') : undefined;
  if (first && firstType === undefined) first.target!.attrs.unshift(['type', 'serial']);
  if (d.serials.length > 0 && targetAttr(d.serials[0].target, 'type') === 'isa-debug') return;
  if (first && (firstType === undefined || firstType === 'serial')) {
    if (d.serials.length === 0) {
      const port = targetAttr(first.target, 'port') ?? '0';
      d.serials.push(copyChr(first, 'serial', { attrs: [['port', port]], children: [] }));
    } else {
      const serial = d.serials[0];
      d.consoles[0] = copyChr(serial, 'console', {
        attrs: [['type', 'serial'], ['port', targetAttr(serial.target, 'port') ?? '0']],
        children: [],
      });
      d.consoles[0].tty = first.tty;
    }
  } else if (d.serials.length > 0) {
    const serial = d.serials[0];
    d.consoles.unshift(
      copyChr(serial, 'console', {
        attrs: [['type', 'serial'], ['port', targetAttr(serial.target, 'port') ?? '0']],
        children: [],
      }),
    );
  }
}

/** The bus libvirt infers from a disk's target name when <target bus> is absent. */
function defaultDiskBus(disk: DiskDef): string {
  const dev = disk.target.dev;
  if (disk.device === 'floppy') return 'fdc';
  if (dev.startsWith('hd')) return 'ide';
  if (dev.startsWith('sd')) return 'scsi';
  if (dev.startsWith('vd')) return 'virtio';
  if (dev.startsWith('xvd')) return 'xen';
  if (dev.startsWith('ubd')) return 'uml';
  return 'ide';
}

/** virDomainDiskDefAssignAddress: drive addresses for disks on IDE, SCSI, SATA and floppy buses. */
function assignDriveAddress(disk: DiskDef): void {
  const bus = disk.target.bus;
  if (disk.info.address || (bus !== 'ide' && bus !== 'scsi' && bus !== 'sata' && bus !== 'fdc')) return;
  const idx = diskNameToIndex(disk.target.dev);
  if (idx < 0) {
    throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, `Invalid harddisk device name: ${disk.target.dev}`);
  }
  let controller: number;
  let busNo = 0;
  let unit: number;
  switch (bus) {
    case 'scsi':
      controller = Math.floor(idx / 7);
      unit = idx % 7;
      break;
    case 'ide':
      controller = Math.floor(idx / 4);
      busNo = Math.floor((idx % 4) / 2);
      unit = idx % 2;
      break;
    case 'sata':
      controller = Math.floor(idx / 6);
      unit = idx % 6;
      break;
    default:
      controller = Math.floor(idx / 2);
      unit = idx % 2;
  }
  disk.info.address = {
    type: 'drive',
    attrs: [['controller', String(controller)], ['bus', String(busNo)], ['target', '0'], ['unit', String(unit)]],
  };
}

function addressAttr(info: DeviceInfo, name: string): number | undefined {
  const v = info.address?.attrs.find(([k]) => k === name)?.[1];
  return v === undefined ? undefined : Number(v);
}

function ensureController(def: DomainDef, type: string, index: number): void {
  if (def.devices.controllers.some((c) => c.type === type && c.index === index)) return;
  const ctrl: ControllerDef = { kind: 'controller', type, index, attrs: [], extra: [], info: {} };
  def.devices.controllers.push(ctrl);
}

/** Controllers without an index get the lowest index not used by a controller of their type. */
function assignControllerIndexes(def: DomainDef): void {
  for (const ctrl of def.devices.controllers) {
    if (ctrl.index >= 0) continue;
    // Index 0 of the PCI controllers is the root bus's, whether or not it is written yet.
    let idx = ctrl.type === 'pci' && ctrl.model !== 'pci-root' && ctrl.model !== 'pcie-root' ? 1 : 0;
    while (def.devices.controllers.some((c) => c.type === ctrl.type && c.index === idx)) idx++;
    ctrl.index = idx;
  }
}

/** virDomainDefAddImplicitControllers: disk controllers, virtio-serial and CCID controllers. */
function addImplicitControllers(def: DomainDef): void {
  for (const type of ['scsi', 'fdc', 'ide', 'sata']) {
    let max = -1;
    for (const disk of def.devices.disks) {
      if (disk.target.bus !== type || disk.info.address?.type !== 'drive') continue;
      max = Math.max(max, addressAttr(disk.info, 'controller') ?? 0);
    }
    for (let i = 0; i <= max; i++) ensureController(def, type, i);
  }
  const virtioSerial = (chr: ChrDef): void => {
    if (targetAttr(chr.target, 'type') !== 'virtio') return;
    const idx = chr.info.address?.type === 'virtio-serial' ? (addressAttr(chr.info, 'controller') ?? 0) : 0;
    ensureController(def, 'virtio-serial', idx);
  };
  def.devices.channels.forEach(virtioSerial);
  def.devices.consoles.forEach(virtioSerial);
  for (const card of def.devices.smartcards) {
    if (!card.info.address) {
      const used = def.devices.smartcards.filter((c) => c.info.address?.type === 'ccid').length;
      card.info.address = { type: 'ccid', attrs: [['controller', '0'], ['slot', String(used)]] };
    }
    if (card.info.address.type === 'ccid') ensureController(def, 'ccid', addressAttr(card.info, 'controller') ?? 0);
  }
}

/** Target ports of serial and parallel devices without one: one past the highest in use. */
function assignChrPorts(list: ChrDef[]): void {
  let max = -1;
  for (const chr of list) {
    const p = targetAttr(chr.target, 'port');
    if (p !== undefined) max = Math.max(max, Number(p));
  }
  for (const chr of list) {
    if (targetAttr(chr.target, 'port') !== undefined) continue;
    max++;
    chr.target ??= { attrs: [], children: [] };
    chr.target.attrs.push(['port', String(max)]);
  }
}

function videoModel(video: SimpleDeviceDef): XmlElement | undefined {
  return video.children.find((c) => c.name === 'model');
}

/** virDomainVideoDefaultType for the generic case. */
function defaultVideoType(def: DomainDef): string {
  if (def.os.type === 'xen' || def.os.type === 'linux') return 'xen';
  if (def.os.arch?.startsWith('ppc64')) return 'vga';
  return 'cirrus';
}

/** virDomainVideoDefaultRAM */
function defaultVideoRAM(type: string): number | undefined {
  switch (type) {
    case 'vga':
    case 'cirrus':
    case 'vmvga':
      return 16384;
    case 'xen':
      return 4096;
    case 'qxl':
      return 65536;
    default:
      return undefined;
  }
}

const VIDEO_MODEL_ATTRS = ['type', 'ram', 'vram', 'vram64', 'vgamem', 'heads', 'primary', 'blob'];

/** Implicit video for guests with graphics, and the model defaults (vram, heads, primary). */
function videoDefaults(def: DomainDef): void {
  const d = def.devices;
  if (d.videos.length === 0 && d.graphics.length > 0) {
    d.videos.push({ kind: 'video', attrs: [], children: [], info: {} });
  }
  d.videos.forEach((video, i) => {
    let model = videoModel(video);
    if (!model) {
      model = { name: 'model', attrs: new Map(), children: [], line: 0 };
      video.children.unshift(model);
      if (video.infoPos !== undefined) video.infoPos++;
    }
    const a = model.attrs;
    if (!a.has('type')) a.set('type', defaultVideoType(def));
    const type = a.get('type')!;
    if (!a.has('vram')) {
      const ram = defaultVideoRAM(type);
      if (ram !== undefined) a.set('vram', String(ram));
    }
    if (type === 'qxl' && !a.has('ram')) a.set('ram', '65536');
    if (!a.has('heads') && type !== 'none') a.set('heads', '1');
    if (a.get('primary') !== 'yes') a.delete('primary');
    if (i === 0 && !a.has('primary') && type !== 'none') a.set('primary', 'yes');
    const ordered = new Map<string, string>();
    for (const k of VIDEO_MODEL_ATTRS) if (a.has(k)) ordered.set(k, a.get(k)!);
    for (const [k, v] of a) if (!ordered.has(k)) ordered.set(k, v);
    model.attrs = ordered;
  });
}

/** An Open vSwitch port gets a generated interfaceid when the XML has none. */
function completeVirtualPort(net: NetDef): void {
  const vp = net.extra.find((e) => e.name === 'virtualport');
  if (!vp || vp.attrs.get('type') !== 'openvswitch') return;
  let params = child(vp, 'parameters');
  if (params?.attrs.has('interfaceid')) return;
  if (!params) {
    params = { name: 'parameters', attrs: new Map(), children: [], line: 0 };
    vp.children.push(params);
  }
  params.attrs.set('interfaceid', generateUUID());
}

/** Device-level defaults: generated MAC addresses, disk buses and drive addresses. */
export function postParseDevice(dev: DomainDeviceDef): void {
  if (dev.kind === 'interface') {
    const net = dev as NetDef;
    if (net.mac === undefined) net.mac = generateMAC();
    completeVirtualPort(net);
  } else if (dev.kind === 'disk') {
    const disk = dev as DiskDef;
    disk.target.bus ??= defaultDiskBus(disk);
    if (disk.device === 'cdrom') disk.readonly = true;
    if (disk.type === 'vhostuser' && !disk.attrs.some(([k]) => k === 'snapshot')) disk.attrs.push(['snapshot', 'no']);
    assignDriveAddress(disk);
  }
}

/**
 * virDomainDefPostParseCommon: memory, boot order, console compatibility, MACs. With
 * VIR_DOMAIN_DEF_PARSE_ABI_UPDATE (a new definition: define, create) the NUMA cells' memory plus
 * the memory devices' replaces whatever <memory> said, as when <memory> is missing.
 */
export function postParseDomain(def: DomainDef, parseFlags = 0): void {
  const numa = def.memory === 0 || parseFlags & VIR_DOMAIN_DEF_PARSE_ABI_UPDATE ? numaMemoryKiB(def) : 0;
  const hotplug = memoryDevicesKiB(def);
  if (numa > 0) def.memory = numa + hotplug;
  else if (hotplug > def.memory) {
    throw virError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, 'Total size of memory devices exceeds the total memory size');
  }
  if (def.memory - hotplug === 0) {
    throw virError(
      VIR_ERR_XML_ERROR,
      VIR_FROM_DOMAIN,
      'Memory size must be specified via <memory> or in the <numa> configuration',
    );
  }
  if (def.currentMemory === 0 || def.currentMemory > def.memory) def.currentMemory = def.memory;

  if (def.vcpu.count === 0) {
    throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, 'CPU IDs in <numa> exceed the <vcpu> count');
  }
  if (def.vcpu.current !== undefined && def.vcpu.current > def.vcpu.count) {
    throw virError(
      VIR_ERR_CONFIG_UNSUPPORTED,
      VIR_FROM_DOMAIN,
      'maximum vCPU count must not be less than current vCPU count',
    );
  }

  const deviceBoot = hasDeviceBoot(def);
  if (deviceBoot && def.os.boot.length > 0) {
    throw virError(
      VIR_ERR_CONFIG_UNSUPPORTED,
      VIR_FROM_DOMAIN,
      'per-device boot elements cannot be used together with os/boot elements',
    );
  }
  if (def.os.type === 'hvm' && def.os.boot.length === 0 && !deviceBoot && !def.bootloader) def.os.boot = ['hd'];

  for (const dev of allDevices(def)) postParseDevice(dev);
  assignChrPorts(def.devices.serials);
  assignChrPorts(def.devices.parallels);
  consoleCompat(def);
  assignControllerIndexes(def);
  addImplicitControllers(def);
  videoDefaults(def);
}

/** virDomainDeviceDefValidateInternal for the rules virtnode implements. */
export function validateDevice(dev: DomainDeviceDef): void {
  if (dev.kind === 'interface') validateNetTeaming(dev as NetDef);
  else if (dev.kind === 'hostdev') validateHostdevTeaming(dev as HostdevDef);
}

/**
 * virDomainDefValidate: the driver's domain callback, then per device the driver's device callback
 * and the generic device rules, then the generic domain rules (unique aliases).
 */
export function validateDomain(def: DomainDef, opts: DomainXMLOptions = {}): void {
  opts.validate?.(def);
  const seen = new Set<string>();
  for (const dev of allDevices(def)) {
    opts.validateDevice?.(dev, def);
    validateDevice(dev);
    const alias = 'info' in dev ? dev.info.alias : undefined;
    // The first console of a serial target stands for serial 0 and shares its alias (libvirt
    // iterates it only with VIR_DOMAIN_DEVICE_ITERATE_ALL_CONSOLES).
    if (dev === def.devices.consoles[0] && isSerialConsole(def.devices.consoles[0]) && def.devices.serials.length > 0) continue;
    if (alias !== undefined) {
      if (seen.has(alias)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, `non unique alias detected: ${alias}`);
      seen.add(alias);
    }
  }
}
