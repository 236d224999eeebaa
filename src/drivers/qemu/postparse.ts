// The QEMU driver's post-parse step (libvirt 9.0 qemuDomainDefPostParse + qemuDomainAssignAddresses)
// and its QEMU-specific validation (qemu_validate.c): what a definition gains between parsing and
// `virsh dumpxml --inactive`, and the rules the driver adds on top of the generic ones.
import type {
  ControllerDef,
  DeviceInfo,
  DiskDef,
  DomainDef,
  DomainXMLOptions,
  HostdevDef,
  InputDef,
  NetDef,
  SimpleDeviceDef,
} from '../../conf/domain';
import {
  allDevices,
  parseDomainElement,
  postParseDomain,
  validateDomain,
  VIR_DOMAIN_DEF_PARSE_ABI_UPDATE,
  VIR_DOMAIN_DEF_PARSE_INACTIVE,
  VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE,
} from '../../conf/domain';
import { attr, child, children, parseXML, textOf, type XmlElement, type XmlNode } from '../../conf/xml';
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, VIR_FROM_QEMU, virError } from '../../error';
import { formatPciAddress, type PciAddress } from '../../util/pci';
import type { QemuCaps } from './capabilities';
import { nvramDirOf, nvramPathIn, type QemuDriverConfig } from './config';
import { memoryAlias } from './memory';

/** A synthetic element, as if parsed: attributes in the order given. */
export function makeElement(name: string, attrs: Array<[string, string]> = [], kids: XmlNode[] = []): XmlElement {
  return { name, attrs: new Map(attrs), children: kids, line: 0 };
}

export function isQ35(def: DomainDef): boolean {
  const m = def.os.machine ?? '';
  return m === 'q35' || m.startsWith('pc-q35');
}

export function isI440fx(def: DomainDef): boolean {
  const m = def.os.machine ?? '';
  return m === 'pc' || m.startsWith('pc-i440fx') || m.startsWith('pc-0') || m.startsWith('pc-1');
}

function isX86(def: DomainDef): boolean {
  const a = def.os.arch ?? 'x86_64';
  return a === 'x86_64' || a === 'i686';
}

/** The <model type=> of a video, sound, watchdog ... kept as parsed. */
export function modelOf(dev: SimpleDeviceDef): XmlElement | undefined {
  return dev.children.find((c) => c.name === 'model');
}

export function simpleAttr(dev: SimpleDeviceDef, name: string): string | undefined {
  return dev.attrs.find(([k]) => k === name)?.[1];
}

/** virDomainControllerInsert: before the first controller of the same type with a higher index, else last. */
function insertController(def: DomainDef, ctrl: ControllerDef): void {
  const list = def.devices.controllers;
  const at = list.findIndex((c) => c.type === ctrl.type && c.index > ctrl.index);
  if (at >= 0) list.splice(at, 0, ctrl);
  else list.push(ctrl);
}

function findController(def: DomainDef, type: string, index: number): ControllerDef | undefined {
  return def.devices.controllers.find((c) => c.type === type && c.index === index);
}

function addController(def: DomainDef, type: string, index: number, model?: string): ControllerDef {
  const existing = findController(def, type, index);
  if (existing) return existing;
  const ctrl: ControllerDef = { kind: 'controller', type, index, attrs: [], extra: [], info: {} };
  if (model !== undefined) ctrl.model = model;
  insertController(def, ctrl);
  return ctrl;
}

function driveController(disk: DiskDef): number | undefined {
  const a = disk.info.address;
  if (a?.type !== 'drive') return undefined;
  const c = a.attrs.find(([k]) => k === 'controller');
  return c ? Number(c[1]) : 0;
}

/** virDomainDiskDefAssignAddress for the buses whose drive address follows from the target name. */
function assignDriveAddress(disk: DiskDef): void {
  if (disk.info.address) return;
  const idx = diskIndex(disk.target.dev);
  if (idx < 0) return;
  let attrs: Array<[string, string]> | undefined;
  switch (disk.target.bus) {
    case 'ide':
      attrs = [['controller', String(Math.floor(idx / 4))], ['bus', String(Math.floor((idx % 4) / 2))], ['target', '0'], ['unit', String(idx % 2)]];
      break;
    case 'sata':
      attrs = [['controller', String(Math.floor(idx / 6))], ['bus', '0'], ['target', '0'], ['unit', String(idx % 6)]];
      break;
    case 'fdc':
      attrs = [['controller', '0'], ['bus', '0'], ['target', '0'], ['unit', String(idx)]];
      break;
    case 'scsi':
      attrs = [['controller', String(Math.floor(idx / 7))], ['bus', '0'], ['target', '0'], ['unit', String(idx % 7)]];
      break;
  }
  if (attrs) disk.info.address = { type: 'drive', attrs };
}

/** virDiskNameToIndex: 'hda' -> 0, 'vdb' -> 1, 'sdaa' -> 26. */
export function diskIndex(dev: string): number {
  const m = /^(?:fd|hd|vd|sd|xvd|ubd)([a-z]+)\d*$/.exec(dev);
  if (!m) return -1;
  let idx = 0;
  for (const ch of m[1]) idx = idx * 26 + (ch.charCodeAt(0) - 96);
  return idx - 1;
}

/** virDomainDefPostParse: controllers without an index get the next free one of their type. */
function assignControllerIndexes(def: DomainDef): void {
  const list = def.devices.controllers;
  for (const c of list) {
    if (c.index >= 0) continue;
    if (c.type === 'usb' && c.model === 'none' && !list.some((x) => x !== c && x.type === 'usb' && x.index === 0)) {
      c.index = 0;
      continue;
    }
    // Index 0 of the PCI controllers is the root bus's, whether or not it is written yet.
    let idx = c.type === 'pci' && c.model !== 'pci-root' && c.model !== 'pcie-root' ? 1 : 0;
    while (list.some((x) => x.type === c.type && x.index === idx)) idx++;
    c.index = idx;
  }
  // USB companions come after their EHCI master of the same index.
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c.type !== 'usb' || c.info.masterStartport === undefined) continue;
    const m = list.findIndex((x, j) => j > i && x.type === 'usb' && x.index === c.index && x.info.masterStartport === undefined);
    if (m > i) list.splice(i, 0, ...list.splice(m, 1));
  }
}

function defaultControllers(def: DomainDef, caps: QemuCaps): void {
  const d = def.devices;
  assignControllerIndexes(def);
  // qemuDomainDefAddDefaultDevices: USB, the q35 SATA controller, the PCI root.
  if (isX86(def) && isQ35(def)) {
    if (!d.controllers.some((c) => c.type === 'usb')) addController(def, 'usb', 0, caps.has('qemu-xhci') ? 'qemu-xhci' : 'ich9-ehci1');
    addController(def, 'sata', 0);
    addController(def, 'pci', 0, 'pcie-root');
  } else if (isX86(def) && isI440fx(def)) {
    if (!d.controllers.some((c) => c.type === 'usb')) addController(def, 'usb', 0, 'piix3-uhci');
    addController(def, 'pci', 0, 'pci-root');
  }
  for (const c of d.controllers) {
    if (c.type === 'usb' && c.model === undefined) c.model = isQ35(def) ? 'qemu-xhci' : 'piix3-uhci';
    if (c.type === 'scsi' && c.model === undefined) c.model = 'lsilogic';
    if (c.type === 'pci' && c.index === 0 && c.model === undefined) c.model = isQ35(def) ? 'pcie-root' : 'pci-root';
  }
  // virDomainDefAddImplicitDevices: the controllers the disks and channels refer to, type by
  // type (SCSI, floppy, IDE, SATA).
  for (const disk of d.disks) assignDriveAddress(disk);
  const diskBusRank = (disk: DiskDef): number => ['scsi', 'fdc', 'ide', 'sata'].indexOf(disk.target.bus ?? '');
  for (const disk of [...d.disks].sort((x, y) => diskBusRank(x) - diskBusRank(y))) {
    const bus = disk.target.bus;
    const ctrl = driveController(disk);
    if (ctrl === undefined) continue;
    if (bus === 'ide' && isQ35(def)) continue;
    if (bus === 'ide' || bus === 'sata' || bus === 'scsi' || bus === 'fdc') {
      const c = addController(def, bus, ctrl);
      if (bus === 'scsi' && c.model === undefined) c.model = 'lsilogic';
    }
  }
  for (const c of [...d.channels, ...d.consoles]) {
    if (targetType(c.target?.attrs) !== 'virtio') continue;
    const a = c.info.address;
    addController(def, 'virtio-serial', a?.type === 'virtio-serial' ? Number(a.attrs.find(([k]) => k === 'controller')?.[1] ?? '0') : 0);
  }
}

/** qemuDomainChrDefPostParse: x86 serial ports are ISA serial ports unless told otherwise. */
function defaultSerials(def: DomainDef): void {
  if (!isX86(def)) return;
  const con = def.devices.consoles[0];
  if (con && def.devices.serials.length > 0 && con.target && targetType(con.target.attrs) === undefined) {
    con.target.attrs.unshift(['type', 'serial']);
  }
  for (const s of def.devices.serials) {
    const target = s.target ?? { attrs: [], children: [] };
    if (targetType(target.attrs) === undefined) target.attrs.unshift(['type', 'isa-serial']);
    const type = targetType(target.attrs)!;
    const model = type === 'isa-serial' ? 'isa-serial' : type === 'pci-serial' ? 'pci-serial' : type === 'usb-serial' ? 'usb-serial' : type === 'isa-debug' ? 'isa-debugcon' : undefined;
    if (model && !target.children.some((c) => c.name === 'model')) target.children.push(makeElement('model', [['name', model]]));
    s.target = target;
  }
}

function targetType(attrs: Array<[string, string]> | undefined): string | undefined {
  return attrs?.find(([k]) => k === 'type')?.[1];
}

function defaultInputs(def: DomainDef): void {
  if (!isX86(def) || def.os.type !== 'hvm') return;
  addPs2Input(def, 'mouse');
  addPs2Input(def, 'keyboard');
}

/** A PS/2 input of `type`, unless the definition has one. */
function addPs2Input(def: DomainDef, type: string): void {
  if (def.devices.inputs.some((i) => i.type === type && i.bus === 'ps2')) return;
  const input: InputDef = { kind: 'input', type, bus: 'ps2', info: {} };
  def.devices.inputs.push(input);
}

const VIDEO_DEFAULTS: Record<string, Array<[string, string]>> = {
  cirrus: [['vram', '16384'], ['heads', '1']],
  vga: [['vram', '16384'], ['heads', '1']],
  vmvga: [['vram', '16384'], ['heads', '1']],
  qxl: [['ram', '65536'], ['vram', '65536'], ['vgamem', '16384'], ['heads', '1']],
  virtio: [['heads', '1']],
  bochs: [['vram', '16384'], ['heads', '1']],
};

function defaultVideos(def: DomainDef): void {
  def.devices.videos.forEach((video, i) => {
    let model = modelOf(video);
    if (!model) {
      model = makeElement('model', [['type', 'cirrus']]);
      video.children.unshift(model);
    }
    const type = attr(model, 'type') ?? 'cirrus';
    const ordered = new Map<string, string>(model.attrs);
    ordered.set('type', type);
    for (const [k, v] of VIDEO_DEFAULTS[type] ?? []) if (!ordered.has(k)) ordered.set(k, v);
    if (i === 0 && type !== 'none' && !ordered.has('primary')) ordered.set('primary', 'yes');
    model.attrs = reorder(ordered, ['type', 'ram', 'vram', 'vram64', 'vgamem', 'heads', 'primary']);
  });
}

function reorder(map: Map<string, string>, order: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of order) if (map.has(k)) out.set(k, map.get(k)!);
  for (const [k, v] of map) if (!out.has(k)) out.set(k, v);
  return out;
}

function defaultDisks(def: DomainDef): void {
  for (const disk of def.devices.disks) {
    if (disk.device === 'cdrom') disk.readonly = true;
    // A volume's format is the pool's to say, when the domain starts.
    const volume = disk.type === 'volume';
    if (!disk.driver) disk.driver = { attrs: volume ? [['name', 'qemu']] : [['name', 'qemu'], ['type', 'raw']], children: [] };
    else {
      if (!disk.driver.attrs.some(([k]) => k === 'name')) disk.driver.attrs.unshift(['name', 'qemu']);
      if (!volume && !disk.driver.attrs.some(([k]) => k === 'type')) {
        const at = disk.driver.attrs.findIndex(([k]) => k === 'name');
        disk.driver.attrs.splice(at + 1, 0, ['type', 'raw']);
      }
    }
    // Encryption without an engine is QEMU's own (LUKS in a block layer), whether the
    // <encryption> sits in the <disk>, in its <source> or in a backing image's <source>.
    const encs = [disk.extra.find((e) => e.name === 'encryption') ?? disk.source?.children.find((e) => e.name === 'encryption')];
    for (let bs = disk.backingStore; bs; bs = child(bs, 'backingStore')) {
      const src = child(bs, 'source');
      encs.push(src && child(src, 'encryption'));
    }
    for (const enc of encs) if (enc && !enc.attrs.has('engine')) enc.attrs.set('engine', 'qemu');
  }
}

/** qemuDomainDefSetDefaultCPU: a custom CPU without a model gets the machine type's default one. */
function defaultCpu(def: DomainDef, caps: QemuCaps): void {
  if (!isX86(def) || !def.os.machine) return;
  const cpu = def.cpu;
  if (cpu && ((attr(cpu, 'mode') ?? 'custom') !== 'custom' || cpu.children.some((c) => 'name' in c && c.name === 'model'))) return;
  const model = caps.machineDefaultCpu(def.type, def.os.machine);
  if (!model) return;
  const modelEl = makeElement('model', [['fallback', 'forbid']], [{ text: model }]);
  if (!cpu) {
    def.cpu = makeElement('cpu', [['mode', 'custom'], ['match', 'exact'], ['check', 'none']], [modelEl]);
    return;
  }
  const attrs = new Map<string, string>([['mode', 'custom'], ['match', 'exact'], ['check', 'none']]);
  for (const [k, v] of cpu.attrs) attrs.set(k, v);
  cpu.attrs = attrs;
  cpu.children.unshift(modelEl);
}

/** The order libvirt writes <cpu>'s attributes in (virCPUDefFormatBuf). */
const CPU_ATTR_ORDER = ['mode', 'match', 'check', 'migratable', 'deprecated_features'];

/**
 * qemuDomainDefCPUPostParse: a host-passthrough CPU is migratable unless it says otherwise, when
 * QEMU lets libvirt choose (else, on x86, it is not). Without a check policy, CPUs taken from the
 * host or from QEMU's largest are not checked against the host, a host-model one partially, and
 * a named custom model not at all for a plain QEMU (TCG) guest; a KVM guest's keeps the default.
 */
function cpuModeDefaults(def: DomainDef, caps: QemuCaps): void {
  const cpu = def.cpu;
  if (!cpu) return;
  const mode = attr(cpu, 'mode') ?? 'custom';
  if (mode === 'custom' && !cpu.children.some((c) => 'name' in c && c.name === 'model')) return;
  const attrs = new Map(cpu.attrs);
  if (mode === 'host-passthrough' && !attrs.has('migratable')) {
    if (caps.has('cpu.migratable')) attrs.set('migratable', 'on');
    else if (isX86(def)) attrs.set('migratable', 'off');
  }
  if (!attrs.has('check')) {
    if (mode === 'host-passthrough' || mode === 'maximum') attrs.set('check', 'none');
    else if (mode === 'host-model') attrs.set('check', 'partial');
    else if (mode === 'custom' && def.type === 'qemu') attrs.set('check', 'none');
  }
  const ordered = new Map<string, string>();
  for (const k of CPU_ATTR_ORDER) if (attrs.has(k)) ordered.set(k, attrs.get(k)!);
  for (const [k, v] of attrs) if (!ordered.has(k)) ordered.set(k, v);
  cpu.attrs = ordered;
}

/** qemuDomainDefPostParse: machine, emulator, CPU model and the devices QEMU always has. */
export function qemuDomainDefPostParse(def: DomainDef, caps: QemuCaps, config: QemuDriverConfig = {}): void {
  if (!def.devices.emulator && caps.data.binary) def.devices.emulator = caps.data.binary;
  if (!def.os.arch) def.os.arch = caps.arch;
  if (!def.os.machine) def.os.machine = caps.defaultMachine(def.type)?.name;
  // qemuCanonicalizeMachine: an alias ('pc', 'q35') is stored as the versioned machine it names
  // today, so that the guest keeps that machine when a newer QEMU moves the alias.
  if (def.os.machine) def.os.machine = caps.canonicalMachine(def.type, def.os.machine);
  defaultCpu(def, caps);
  cpuModeDefaults(def, caps);
  defaultControllers(def, caps);
  defaultInputs(def);
  if (!def.devices.memballoon) {
    def.devices.memballoon = { kind: 'memballoon', attrs: [['model', 'virtio']], children: [], info: {} };
  }
  defaultAudio(def, config);
}

/**
 * qemuDomainDefAddDefaultAudioBackend: the last display decides. SPICE carries the guest's audio;
 * VNC (unless qemu.conf lets it use the host's), and no display at all (likewise) get the silent
 * backend; SDL and the allowed cases take the host's QEMU_AUDIO_DRV, and get nothing without it;
 * displays without audio of their own (egl-headless, ...) leave the guest without.
 */
function defaultAudio(def: DomainDef, config: QemuDriverConfig): void {
  if (def.devices.audios.length > 0) return;
  const graphics = def.devices.graphics;
  let add = false;
  let passthrough = false;
  let type = 'none';
  for (const g of graphics) {
    if (g.type === 'vnc') {
      passthrough = config.vncAllowHostAudio === true;
      if (!passthrough) type = 'none';
      add = true;
    } else if (g.type === 'spice') {
      passthrough = false;
      type = 'spice';
      add = true;
    } else if (g.type === 'sdl') {
      passthrough = true;
      add = true;
    }
  }
  if (graphics.length === 0) {
    passthrough = config.nogfxAllowHostAudio === true;
    if (!passthrough) type = 'none';
    add = true;
  }
  if (add && passthrough) {
    const env = config.audioEnv?.QEMU_AUDIO_DRV;
    if (env === undefined) add = false;
    else if (env === 'pa') type = 'pulseaudio';
    else if (AUDIO_TYPES.has(env)) type = env;
    else throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unknown QEMU_AUDIO_DRV setting ${env}`);
  }
  if (!add) return;
  const attrs: Array<[string, string]> = [['id', '1'], ['type', type]];
  const sdlDriver = config.audioEnv?.SDL_AUDIODRIVER;
  if (type === 'sdl' && sdlDriver !== undefined) {
    if (!SDL_AUDIO_DRIVERS.has(sdlDriver)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unknown SDL_AUDIODRIVER setting ${sdlDriver}`);
    attrs.push(['driver', sdlDriver]);
  }
  def.devices.audios.push({ kind: 'audio', attrs, children: [], info: {} });
}

/**
 * qemuDomainRecheckInternalPaths: a VNC socket an old libvirt generated inside the driver's own
 * directory is dropped from an inactive definition; the display listens on an address again.
 */
function recheckInternalPaths(def: DomainDef, config: QemuDriverConfig): void {
  const libDir = config.libDir ?? '/var/lib/libvirt/qemu';
  for (const g of def.devices.graphics) {
    if (g.type !== 'vnc') continue;
    g.listens = g.listens.map((l) => {
      const get = (k: string): string | undefined => l.find(([n]) => n === k)?.[1];
      if (get('type') !== 'socket' || get('autoGenerated') === 'yes') return l;
      const socket = get('socket');
      return socket !== undefined && socket.startsWith(libDir) ? [['type', 'address']] : l;
    });
  }
}

/** virDomainAudioType and virDomainAudioSDLDriver names. */
const AUDIO_TYPES = new Set(['none', 'alsa', 'coreaudio', 'jack', 'oss', 'pulseaudio', 'sdl', 'spice', 'file', 'dbus']);
const SDL_AUDIO_DRIVERS = new Set(['esd', 'alsa', 'arts', 'pulseaudio']);

/** qemuDomainDefNVRAMPostParse: a read-only pflash loader gets a per-domain variable store. */
function defaultNvram(def: DomainDef, config: QemuDriverConfig): void {
  const loader = def.os.loader;
  const get = (k: string): string | undefined => loader?.attrs.find(([n]) => n === k)?.[1];
  if (!loader || get('type') !== 'pflash' || get('readonly') !== 'yes') return;
  def.os.nvram ??= { attrs: [], children: [] };
  if (!def.os.nvram.path && !def.os.nvram.attrs.some(([k]) => k === 'type')) def.os.nvram.path = nvramPathIn(nvramDirOf(config), def.name);
}

/** The per-device defaults (qemuDomainDeviceDefPostParse) and addresses (qemuDomainAssignAddresses). */
export function qemuDomainDevicesPostParse(def: DomainDef, caps: QemuCaps, config: QemuDriverConfig = {}): void {
  defaultNvram(def, config);
  defaultControllers(def, caps);
  defaultSerials(def);
  defaultDisks(def);
  for (const net of def.devices.interfaces) {
    // vDPA devices are virtio devices; other NICs default to the RTL8139 on x86.
    if (net.model === undefined && net.type === 'vdpa') net.model = 'virtio';
    else if (net.model === undefined && net.type !== 'hostdev' && isX86(def)) net.model = 'rtl8139';
  }
  defaultVideos(def);
  // qemuDomainVsockDefPostParse: the default vsock model is virtio.
  const vsock = def.devices.vsock;
  if (vsock && !vsock.attrs.some(([k]) => k === 'model')) vsock.attrs.unshift(['model', 'virtio']);
  // qemuDomainDevicePanicDefPostParse: a panic device's model follows the platform.
  for (const panic of def.devices.panics) {
    if (panic.attrs.some(([k]) => k === 'model')) continue;
    const arch = def.os.arch ?? '';
    const model = arch.startsWith('ppc64') && (def.os.machine ?? '').startsWith('pseries') ? 'pseries' : arch.startsWith('s390') ? 's390' : 'isa';
    panic.attrs.unshift(['model', model]);
  }
  assignVirtioSerialPorts(def);
  assignSpaprVioAddresses(def);
  assignPciAddresses(def);
}

/**
 * qemuDomainAssignSpaprVIOAddresses for the ibmvscsi controller: the first register from 0x2000
 * (in steps of 0x1000) no other sPAPR VIO device uses.
 */
function assignSpaprVioAddresses(def: DomainDef): void {
  // Nothing to place (every non-pSeries guest): no walk over the devices.
  if (!def.devices.controllers.some((c) => c.type === 'scsi' && c.model === 'ibmvscsi' && !c.info.address)) return;
  const regOf = (a: DeviceInfo['address']): number | undefined =>
    a?.type === 'spapr-vio' ? Number(a.attrs.find(([k]) => k === 'reg')?.[1]) : undefined;
  const used = new Set<number>();
  for (const dev of allDevices(def)) {
    const reg = 'info' in dev ? regOf(dev.info.address) : undefined;
    if (reg !== undefined) used.add(reg);
  }
  for (const c of def.devices.controllers) {
    if (c.type !== 'scsi' || c.model !== 'ibmvscsi' || c.info.address) continue;
    let reg = 0x2000;
    while (used.has(reg)) reg += 0x1000;
    used.add(reg);
    c.info.address = { type: 'spapr-vio', attrs: [['reg', `0x${reg.toString(16).padStart(8, '0')}`]] };
  }
}

/**
 * qemuDomainAssignUSBAddresses for a new domain (define, create, start): USB devices without an
 * address take the first free port, walking the USB controllers by index and each one's ports
 * from 1, in libvirt's device order (host devices, disks, CCID controllers, inputs, USB serials,
 * USB sound cards, redirected devices). Hubs are not added for a full bus: what no port fits
 * takes the next port of bus 0, past its end.
 */
export function assignUsbPorts(def: DomainDef): void {
  const d = def.devices;
  const root = d.controllers.find((c) => c.type === 'usb' && c.index === 0);
  if (!root || root.model === 'none') return;
  const infos: DeviceInfo[] = [];
  for (const h of d.hostdevs) if (h.mode === 'subsystem' && h.type === 'usb') infos.push(h.info);
  for (const disk of d.disks) if (disk.target.bus === 'usb') infos.push(disk.info);
  for (const c of d.controllers) if (c.type === 'ccid') infos.push(c.info);
  for (const i of d.inputs) if (i.bus === 'usb') infos.push(i.info);
  for (const s of d.serials) if (targetType(s.target?.attrs) === 'usb-serial') infos.push(s.info);
  for (const snd of d.sounds) if (simpleAttr(snd, 'model') === 'usb') infos.push(snd.info);
  for (const r of d.redirdevs) if (simpleAttr(r, 'bus') === 'usb') infos.push(r.info);
  if (infos.every((info) => info.address)) return;
  const used = new Set<string>();
  for (const info of infos) {
    const a = info.address;
    if (a?.type !== 'usb') continue;
    used.add(`${a.attrs.find(([k]) => k === 'bus')?.[1] ?? '0'}:${a.attrs.find(([k]) => k === 'port')?.[1] ?? ''}`);
  }
  const buses = new Map<number, number>();
  for (const c of d.controllers) {
    if (c.type !== 'usb' || c.model === 'none' || buses.has(c.index)) continue;
    buses.set(c.index, usbControllerPorts(c));
  }
  const byIndex = [...buses].sort((x, y) => x[0] - y[0]);
  const free = (): [number, number] | undefined => {
    for (const [bus, ports] of byIndex) {
      for (let port = 1; port <= ports; port++) if (!used.has(`${bus}:${port}`)) return [bus, port];
    }
    return undefined;
  };
  for (const info of infos) {
    if (info.address) continue;
    let next = free();
    if (!next) {
      let port = 1;
      while (used.has(`0:${port}`)) port++;
      next = [0, port];
    }
    used.add(`${next[0]}:${next[1]}`);
    info.address = { type: 'usb', attrs: [['bus', String(next[0])], ['port', String(next[1])]] };
  }
}

/** The ports a USB controller model has (its ports attribute, for the xHCI ones, when set). */
function usbControllerPorts(c: ControllerDef): number {
  const ports = Number(c.attrs.find(([k]) => k === 'ports')?.[1]);
  switch (c.model) {
    case 'piix3-uhci':
    case 'piix4-uhci':
    case 'vt82c686b-uhci':
    case 'ich9-uhci1':
    case 'ich9-uhci2':
    case 'ich9-uhci3':
      return 2;
    case 'pci-ohci':
      return 3;
    case 'ehci':
    case 'ich9-ehci1':
      return 6;
    case 'nec-xhci':
      return ports > 0 ? ports : 4;
    case 'qemu-xhci':
      return ports > 0 ? ports : 15;
    case 'qusb1':
    case 'qusb2':
      return 4;
    default:
      return 8;
  }
}

/** Both halves, for callers whose generic post-parse already ran (parseDomainXML's hook). */
export function qemuDomainPostParse(def: DomainDef, caps: QemuCaps): void {
  qemuDomainDefPostParse(def, caps);
  qemuDomainDevicesPostParse(def, caps);
}

/**
 * virDomainDefParseString for the QEMU driver, in libvirt's order: parse, the driver's domain
 * defaults, the generic post-parse (implicit controllers, console compatibility), the driver's
 * device defaults and addresses, then validation.
 */
export function qemuParseDomainXML(
  xml: string,
  caps: QemuCaps,
  parseFlags = VIR_DOMAIN_DEF_PARSE_INACTIVE,
  config: QemuDriverConfig = {},
  uuidSource?: DomainXMLOptions['generateUUID'],
): DomainDef {
  const opts = qemuDomainXMLOptions(caps, config);
  if (uuidSource) opts.generateUUID = uuidSource;
  const root = parseXML(xml, '(domain_definition)', VIR_FROM_DOMAIN);
  const def = parseDomainElement(root, opts, parseFlags);
  qemuDomainDefPostParse(def, caps, config);
  if (parseFlags & VIR_DOMAIN_DEF_PARSE_INACTIVE) recheckInternalPaths(def, config);
  postParseDomain(def, parseFlags);
  qemuDomainDevicesPostParse(def, caps, config);
  // A new definition has its USB ports settled now, as a start would.
  if (parseFlags & VIR_DOMAIN_DEF_PARSE_ABI_UPDATE) assignUsbPorts(def);
  if (!(parseFlags & VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE)) validateDomain(def, opts);
  return def;
}

/** Channels on a virtio-serial bus without an address get the next port (from 1) of controller 0. */
function assignVirtioSerialPorts(def: DomainDef): void {
  const used = new Map<string, Set<number>>();
  const all = [...def.devices.channels, ...def.devices.consoles].filter((c) => targetType(c.target?.attrs) === 'virtio');
  for (const c of all) {
    const a = c.info.address;
    if (a?.type !== 'virtio-serial') continue;
    const key = `${a.attrs.find(([k]) => k === 'controller')?.[1] ?? '0'}:${a.attrs.find(([k]) => k === 'bus')?.[1] ?? '0'}`;
    const port = a.attrs.find(([k]) => k === 'port')?.[1];
    if (port !== undefined) {
      if (!used.has(key)) used.set(key, new Set());
      used.get(key)!.add(Number(port));
    }
  }
  for (const c of all) {
    if (c.info.address || c.kind === 'console') continue;
    const ports = used.get('0:0') ?? new Set<number>();
    used.set('0:0', ports);
    let port = 1;
    while (ports.has(port)) port++;
    ports.add(port);
    c.info.address = { type: 'virtio-serial', attrs: [['controller', '0'], ['bus', '0'], ['port', String(port)]] };
  }
}

// ---------------------------------------------------------------------------------------------
// PCI addresses (qemuDomainAssignPCIAddresses), for the i440fx and q35 root buses.

class PciSlots {
  private used = new Set<string>();

  constructor(private firstSlot: number) {}

  reserve(a: PciAddress): void {
    this.used.add(`${a.bus}:${a.slot}`);
  }

  isFree(bus: number, slot: number): boolean {
    return !this.used.has(`${bus}:${slot}`);
  }

  next(): PciAddress {
    for (let slot = this.firstSlot; slot <= 0x1f; slot++) {
      if (this.isFree(0, slot)) {
        const a = { domain: 0, bus: 0, slot, function: 0 };
        this.reserve(a);
        return a;
      }
    }
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'No more available PCI slots');
  }
}

function pciOf(info: DeviceInfo): PciAddress | undefined {
  return info.address?.type === 'pci' ? info.address.pci : undefined;
}

function setPci(info: DeviceInfo, a: PciAddress): void {
  info.address = { type: 'pci', pci: a, attrs: [] };
}

const NON_PCI_NET_MODELS = new Set(['usb-net', 'spapr-vlan']);
const PCI_SOUND_MODELS = new Set(['ich6', 'ich7', 'ich9', 'ac97', 'es1370']);
const PCI_VIDEO_MODELS = new Set(['cirrus', 'vga', 'qxl', 'vmvga', 'virtio', 'bochs']);

/** Whether a controller occupies a PCI slot of its own. */
function controllerNeedsPci(def: DomainDef, c: ControllerDef): boolean {
  switch (c.type) {
    case 'pci':
      return c.index !== 0;
    case 'usb':
      return c.model !== 'none' && !(c.model === 'piix3-uhci' && c.index === 0 && isI440fx(def)) && c.model !== 'qusb1' && c.model !== 'qusb2';
    case 'ide':
      return false;
    case 'sata':
      return !(isQ35(def) && c.index === 0);
    case 'fdc':
    case 'ccid':
    case 'xenbus':
    case 'isa':
      return false;
    case 'scsi':
      return c.model !== 'ibmvscsi';
    default:
      return true;
  }
}

export function hostdevNeedsPci(h: HostdevDef): boolean {
  if (h.mode !== 'subsystem') return false;
  // scsi_host: a vhost-scsi-pci device, a virtio one (PCI Express on q35).
  return h.type === 'pci' || h.type === 'scsi_host' || (h.type === 'mdev' && h.attrs.some(([k, v]) => k === 'model' && v === 'vfio-pci'));
}

/**
 * qemuDomainAssignAddresses again at a start, for devices that lost theirs since the definition
 * was parsed (domxml-to-native's replacement NICs): free slots and free root ports first, and
 * on q35 only as many new root ports as they need, without the spare one a definition gets.
 */
export function qemuAssignMissingPciAddresses(def: DomainDef): void {
  assignPciAddresses(def, false);
}

function assignPciAddresses(def: DomainDef, hotplugSpare = true): void {
  if (!isI440fx(def) && !isQ35(def)) return;
  const d = def.devices;
  const slots = new PciSlots(isQ35(def) ? 1 : 2);
  const q35 = isQ35(def);
  slots.reserve({ domain: 0, bus: 0, slot: 0, function: 0 });
  if (!q35) slots.reserve({ domain: 0, bus: 0, slot: 1, function: 0 });
  const taken = new Set<number>();
  for (const dev of allDevices(def)) {
    const a = 'info' in dev ? pciOf(dev.info) : undefined;
    if (!a) continue;
    const key = ((a.domain * 256 + a.bus) * 32 + a.slot) * 8 + a.function;
    // A serial console is the first serial port again, address included.
    if (taken.has(key) && dev.kind !== 'console') {
      throw virError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, `Attempted double use of PCI Address ${formatPciAddress(a)}`);
    }
    taken.add(key);
    slots.reserve(a);
  }

  // Fixed places: the PIIX3 functions on i440fx, the ICH9 ones on q35, the primary video.
  for (const c of d.controllers) {
    if (c.info.address) continue;
    if (!q35 && c.type === 'ide' && c.index === 0) setPci(c.info, { domain: 0, bus: 0, slot: 1, function: 1 });
    if (!q35 && c.type === 'usb' && c.index === 0 && c.model === 'piix3-uhci') setPci(c.info, { domain: 0, bus: 0, slot: 1, function: 2 });
    if (q35 && c.type === 'sata' && c.index === 0) setPci(c.info, { domain: 0, bus: 0, slot: 0x1f, function: 2 });
  }
  const primary = d.videos[0];
  if (primary && !primary.info.address && PCI_VIDEO_MODELS.has(attr(modelOf(primary), 'type') ?? '')) {
    const slot = q35 ? 1 : 2;
    if (slots.isFree(0, slot)) {
      const a = { domain: 0, bus: 0, slot, function: 0 };
      slots.reserve(a);
      setPci(primary.info, a);
    }
  }
  if (q35) {
    for (const s of d.sounds) {
      if (!s.info.address && simpleAttr(s, 'model') === 'ich9' && slots.isFree(0, 0x1b)) {
        const a = { domain: 0, bus: 0, slot: 0x1b, function: 0 };
        slots.reserve(a);
        setPci(s.info, a);
      }
    }
  }

  // The devices that need an address, in libvirt's assignment order.
  const wanted: DeviceInfo[] = [];
  const want = (info: DeviceInfo): void => {
    if (!info.address) wanted.push(info);
  };
  // Conventional PCI devices: on q35 they go behind a pcie-pci-bridge.
  const conventional = new Set<DeviceInfo>();
  for (const fs of d.filesystems) want(fs.info);
  for (const n of d.interfaces) {
    if (n.type === 'hostdev' || NON_PCI_NET_MODELS.has(n.model ?? '')) continue;
    if (LEGACY_PCI_NET_MODELS.has(n.model ?? 'rtl8139')) conventional.add(n.info);
    want(n.info);
  }
  for (const s of d.sounds) if (PCI_SOUND_MODELS.has(simpleAttr(s, 'model') ?? '')) want(s.info);
  for (const c of d.controllers) if (c.type !== 'pci' && controllerNeedsPci(def, c)) want(c.info);
  for (const disk of d.disks) if (disk.target.bus === 'virtio') want(disk.info);
  for (const n of d.interfaces) if (n.type === 'hostdev') want(n.info);
  for (const h of d.hostdevs) if (hostdevNeedsPci(h)) want(h.info);
  const balloon = d.memballoon;
  if (balloon && simpleAttr(balloon, 'model')?.startsWith('virtio')) want(balloon.info);
  for (const r of d.rngs) if (simpleAttr(r, 'model')?.startsWith('virtio')) want(r.info);
  for (const w of d.watchdogs) {
    if (simpleAttr(w, 'model') !== 'i6300esb') continue;
    conventional.add(w.info);
    want(w.info);
  }
  for (const v of d.videos) if (PCI_VIDEO_MODELS.has(attr(modelOf(v), 'type') ?? '')) want(v.info);
  for (const i of d.inputs) if (i.bus === 'virtio') want(i.info);
  if (d.vsock) want(d.vsock.info);

  if (!q35) {
    for (const c of d.controllers) if (c.type === 'pci' && controllerNeedsPci(def, c) && !c.info.address) setPci(c.info, slots.next());
    const usb2Ctrls = d.controllers.filter((c) => c.type === 'usb' && USB2_FUNCTIONS[c.model ?? ''] !== undefined);
    const usb2 = new Map(usb2Ctrls.map((c) => [c.info, c]));
    for (const info of wanted) {
      const companion = usb2.get(info);
      if (companion) setPci(info, usb2CompanionAddress(companion, usb2Ctrls, slots));
      else setPci(info, slots.next());
    }
  } else {
    assignQ35(def, slots, wanted, conventional, hotplugSpare);
  }
  pciControllerDefaults(def);
  markMultifunction(def);
}

/** The QEMU device each PCI controller model is by default (<model name=>). */
const PCI_MODEL_NAMES: Record<string, string> = {
  'pci-bridge': 'pci-bridge',
  'dmi-to-pci-bridge': 'i82801b11-bridge',
  'pci-expander-bus': 'pxb',
  'pcie-expander-bus': 'pxb-pcie',
  'pcie-to-pci-bridge': 'pcie-pci-bridge',
};

/**
 * The end of qemuDomainAssignPCIAddresses for the controller models the q35 placement does not
 * settle itself: each gets its QEMU device name, and a pci-bridge its chassis number (its index).
 */
function pciControllerDefaults(def: DomainDef): void {
  for (const c of def.devices.controllers) {
    if (c.type !== 'pci' || c.model === undefined) continue;
    const name = PCI_MODEL_NAMES[c.model];
    if (name) c.modelName ??= name;
    if (c.model === 'pci-bridge') {
      const target = c.target ?? { attrs: [], children: [] };
      if (!target.attrs.some(([k]) => k === 'chassisNr')) target.attrs.unshift(['chassisNr', String(c.index)]);
      target.attrs = orderTargetAttrs(target.attrs);
      c.target = target;
    }
  }
}

/** The function of each USB2 controller in the slot it shares with its companions. */
const USB2_FUNCTIONS: Record<string, number> = { 'ich9-ehci1': 7, 'ich9-uhci1': 0, 'ich9-uhci2': 1, 'ich9-uhci3': 2 };

/**
 * qemuDomainAssignDevicePCISlots for USB2: an EHCI controller and its UHCI companions (same
 * index) are functions of one slot, the slot of whichever already has an address or else the
 * next free one; the first UHCI is function 0, multifunction.
 */
function usb2CompanionAddress(ctrl: ControllerDef, usb2: ControllerDef[], slots: PciSlots): PciAddress {
  const placed = usb2.find((c) => c !== ctrl && c.index === ctrl.index && pciOf(c.info));
  const base = placed ? pciOf(placed.info)! : slots.next();
  const fn = USB2_FUNCTIONS[ctrl.model!];
  return { domain: base.domain, bus: base.bus, slot: base.slot, function: fn, ...(fn === 0 ? { multifunction: 'on' } : {}) };
}

/** virDomainPCIAddressSetAllMulti: function 0 of a slot with other functions in use is multifunction. */
function markMultifunction(def: DomainDef): void {
  const infos: DeviceInfo[] = [];
  for (const dev of allDevices(def)) if ('info' in dev) infos.push(dev.info);
  const multi = new Set<string>();
  for (const info of infos) {
    const a = pciOf(info);
    if (a && a.function > 0) multi.add(`${a.domain}:${a.bus}:${a.slot}`);
  }
  for (const info of infos) {
    const a = pciOf(info);
    if (a && a.function === 0 && a.multifunction === undefined && multi.has(`${a.domain}:${a.bus}:${a.slot}`)) a.multifunction = 'on';
  }
}

const LEGACY_PCI_NET_MODELS = new Set(['rtl8139', 'e1000']);

/**
 * q35: every endpoint sits alone on a pcie-root-port; libvirt adds the root ports it needs plus
 * one spare for hotplug, packed as the functions of the first free slots of pcie.0.
 */
/** A PCI controller's <target> attributes in the order libvirt writes them. */
const TARGET_ATTR_ORDER = ['chassisNr', 'chassis', 'port', 'busNr', 'index', 'hotplug', 'memReserve'];

function orderTargetAttrs(attrs: Array<[string, string]>): Array<[string, string]> {
  return [...attrs].sort((x, y) => targetAttrRank(x[0]) - targetAttrRank(y[0]));
}

function targetAttrRank(k: string): number {
  const i = TARGET_ATTR_ORDER.indexOf(k);
  return i < 0 ? TARGET_ATTR_ORDER.length : i;
}

/** The PCI controller models virtnode places on q35 besides pcie-root. */
const Q35_PCI_MODELS = new Set(['pcie-root-port', 'pcie-switch-upstream-port', 'pcie-switch-downstream-port', 'pcie-to-pci-bridge']);

/** PCIe ports a device (or a switch's upstream port) can sit in: root ports and switch downstream ports. */
function isPciePort(c: ControllerDef): boolean {
  return c.type === 'pci' && (c.model === 'pcie-root-port' || c.model === 'pcie-switch-downstream-port');
}

function assignQ35(def: DomainDef, slots: PciSlots, wanted: DeviceInfo[], conventional: Set<DeviceInfo>, hotplugSpare: boolean): void {
  const ctrls = def.devices.controllers;
  for (const c of ctrls) {
    if (c.type === 'pci' && c.index > 0 && !Q35_PCI_MODELS.has(c.model ?? '')) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `PCI controller model '${c.model}' on q35 is not supported yet`);
    }
  }
  const occupied = new Set<number>();
  for (const dev of allDevices(def)) {
    const a = 'info' in dev ? pciOf(dev.info) : undefined;
    if (a && a.bus > 0) occupied.add(a.bus);
  }
  const freePorts = (): ControllerDef[] => ctrls.filter((c) => isPciePort(c) && !occupied.has(c.index));
  // Switches first, in index order: an upstream port takes the first free port, each downstream
  // port the next slot of the first upstream port with one free.
  for (const c of ctrls) {
    if (c.type !== 'pci' || c.info.address) continue;
    if (c.model === 'pcie-switch-upstream-port') {
      const port = freePorts()[0];
      if (!port) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'No more available PCI slots');
      occupied.add(port.index);
      setPci(c.info, { domain: 0, bus: port.index, slot: 0, function: 0 });
    } else if (c.model === 'pcie-switch-downstream-port') {
      let placed = false;
      for (const up of ctrls) {
        if (up.type !== 'pci' || up.model !== 'pcie-switch-upstream-port') continue;
        const used = new Set(ctrls.filter((x) => pciOf(x.info)?.bus === up.index).map((x) => pciOf(x.info)!.slot));
        for (const dev of allDevices(def)) {
          const a = 'info' in dev ? pciOf(dev.info) : undefined;
          if (a && a.bus === up.index) used.add(a.slot);
        }
        for (let slot = 0; slot < 32 && !placed; slot++) {
          if (used.has(slot)) continue;
          setPci(c.info, { domain: 0, bus: up.index, slot, function: 0 });
          placed = true;
        }
        if (placed) break;
      }
      if (!placed) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'No more available PCI slots');
    }
  }
  for (const c of ctrls) {
    if (c.type !== 'pci') continue;
    if (c.model === 'pcie-switch-upstream-port') c.modelName ??= 'x3130-upstream';
    if (c.model === 'pcie-switch-downstream-port') {
      c.modelName ??= 'xio3130-downstream';
      const a = pciOf(c.info)!;
      const target = c.target ?? { attrs: [], children: [] };
      if (!target.attrs.some(([k]) => k === 'chassis')) target.attrs.unshift(['chassis', String(c.index)]);
      if (!target.attrs.some(([k]) => k === 'port')) target.attrs.push(['port', `0x${a.slot.toString(16)}`]);
      target.attrs = orderTargetAttrs(target.attrs);
      c.target = target;
    }
  }
  // New controllers get indexes in the order the devices ask for them (libvirt's first pass):
  // a PCIe device a root port unless one is free; the first conventional PCI device a root port
  // and then a pcie-pci-bridge, whose slots (from 1) take every conventional device; at the end
  // a spare root port for hotplug unless one is left free.
  const express = wanted.filter((info) => !conventional.has(info));
  const legacy = wanted.filter((info) => conventional.has(info));
  let bridge = ctrls.find((c) => c.type === 'pci' && c.model === 'pcie-to-pci-bridge');
  const nextIndex = (): number => {
    let index = 1;
    while (ctrls.some((c) => c.type === 'pci' && c.index === index)) index++;
    return index;
  };
  const addController = (model: string): ControllerDef => {
    const c: ControllerDef = { kind: 'controller', type: 'pci', index: nextIndex(), model, attrs: [], extra: [], info: {} };
    insertController(def, c);
    return c;
  };
  let spareFree = freePorts().length;
  const claimPort = (): void => {
    if (spareFree > 0) spareFree--;
    else addController('pcie-root-port');
  };
  for (const info of wanted) {
    if (!conventional.has(info)) claimPort();
    else if (!bridge) {
      claimPort();
      bridge = addController('pcie-to-pci-bridge');
    }
  }
  if (hotplugSpare && wanted.length > 0 && spareFree === 0) addController('pcie-root-port');
  // Root ports without an address: the free functions of pcie.0 slots that are empty or hold only
  // root ports, lowest slot first.
  const ports = ctrls.filter((c) => c.type === 'pci' && c.model === 'pcie-root-port');
  const unaddressed = ports.filter((c) => !c.info.address);
  const taken = new Map<number, Array<{ fn: number; rootPort: boolean; mfOff: boolean }>>();
  for (const dev of allDevices(def)) {
    const a = 'info' in dev ? pciOf(dev.info) : undefined;
    if (!a || a.bus !== 0) continue;
    const list = taken.get(a.slot) ?? [];
    list.push({ fn: a.function, rootPort: dev.kind === 'controller' && (dev as ControllerDef).model === 'pcie-root-port', mfOff: a.multifunction === 'off' });
    taken.set(a.slot, list);
  }
  const positions: PciAddress[] = [];
  for (let slot = 1; slot <= 0x1f && positions.length < unaddressed.length; slot++) {
    const used = taken.get(slot) ?? [];
    if (used.length === 0 && !slots.isFree(0, slot)) continue;
    if (used.some((u) => !u.rootPort || u.mfOff)) continue;
    for (let fn = 0; fn < 8; fn++) if (!used.some((u) => u.fn === fn)) positions.push({ domain: 0, bus: 0, slot, function: fn });
  }
  unaddressed.forEach((c, i) => {
    const a = positions[i];
    if (!a) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'No more available PCI slots');
    slots.reserve(a);
    setPci(c.info, a);
  });
  for (const c of ports) {
    c.modelName ??= 'pcie-root-port';
    const a = pciOf(c.info)!;
    const target = c.target ?? { attrs: [], children: [] };
    if (!target.attrs.some(([k]) => k === 'chassis')) target.attrs.unshift(['chassis', String(c.index)]);
    if (!target.attrs.some(([k]) => k === 'port')) target.attrs.push(['port', `0x${((a.slot << 3) + a.function).toString(16)}`]);
    target.attrs = orderTargetAttrs(target.attrs);
    c.target = target;
  }
  // The bridge (a controller, placed before the devices) and then each PCIe device take the first
  // root port still free, in controller order; conventional devices the bridge's free slots.
  const free = freePorts();
  const takePort = (info: DeviceInfo): void => {
    const port = free.shift();
    if (!port) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'No more available PCI slots');
    occupied.add(port.index);
    setPci(info, { domain: 0, bus: port.index, slot: 0, function: 0 });
  };
  if (bridge) {
    bridge.modelName ??= 'pcie-pci-bridge';
    if (!bridge.info.address) takePort(bridge.info);
  }
  express.forEach(takePort);
  if (legacy.length > 0) {
    const used = new Set<number>();
    for (const dev of allDevices(def)) {
      const a = 'info' in dev ? pciOf(dev.info) : undefined;
      if (a && a.bus === bridge!.index) used.add(a.slot);
    }
    let slot = 1;
    for (const info of legacy) {
      while (used.has(slot)) slot++;
      if (slot > 31) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'No more available PCI slots');
      used.add(slot);
      setPci(info, { domain: 0, bus: bridge!.index, slot, function: 0 });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validation (qemuValidateDomainDeviceDefNetwork and friends).

const VIRTIO_NET_MODELS = new Set(['virtio', 'virtio-transitional', 'virtio-non-transitional']);

function validateNet(net: NetDef): void {
  const t = net.teaming;
  if (!t) return;
  if (t.type === 'persistent' && !VIRTIO_NET_MODELS.has(net.model ?? '')) {
    throw virError(
      VIR_ERR_CONFIG_UNSUPPORTED,
      VIR_FROM_QEMU,
      `virtio-net teaming persistent interface must be <model type='virtio'/>, not '${net.model ?? '(null)'}'`,
    );
  }
  if (t.type === 'transient' && net.type !== 'hostdev' && net.type !== 'network') {
    throw virError(
      VIR_ERR_CONFIG_UNSUPPORTED,
      VIR_FROM_QEMU,
      `virtio-net teaming transient interface must be type='hostdev', not '${net.type}'`,
    );
  }
}

/** qemuValidateDomainDef: the QEMU-specific rules virtnode implements. */
export function qemuValidateDomain(def: DomainDef, caps: QemuCaps, config?: QemuDriverConfig): void {
  const machine = def.os.machine;
  if (machine !== undefined && machine !== 'none' && caps.machines(def.type).length > 0 && !caps.findMachine(def.type, machine)) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `Emulator '${def.devices.emulator}' does not support machine type '${machine}'`);
  }
  validateIothreadUsers(def);
  for (const net of def.devices.interfaces) validateNet(net);
  for (const w of def.devices.watchdogs) {
    if (simpleAttr(w, 'model') === 'diag288' && !def.os.arch?.startsWith('s390')) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'diag288 model of watchdog is allowed for s390 and s390x only');
    }
  }
  // qemu.conf decides whether SPICE may listen with TLS; known where the driver's config is.
  if (config) {
    for (const g of def.devices.graphics) {
      if (g.type === 'spice' && (g.tlsPort ?? 0) > 0 && !config.spiceTLS) {
        throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'spice TLS port set in XML configuration, but TLS is disabled in qemu.conf');
      }
    }
  }
}

/** Disks and controllers may only name IOThreads the domain has (<iothreadids>, else 1..count). */
function validateIothreadUsers(def: DomainDef): void {
  const listed = def.iothreadids ? children(def.iothreadids, 'iothread').map((c) => Number(attr(c, 'id'))) : [];
  const count = Number(textOf(def.iothreads) ?? 0) || 0;
  const ids = new Set(listed);
  for (let id = 1; ids.size < count; id++) ids.add(id);
  const check = (driver: { attrs: Array<[string, string]> } | undefined, what: string): void => {
    const id = driver?.attrs.find(([k]) => k === 'iothread')?.[1];
    if (id !== undefined && !ids.has(Number(id))) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `${what} iothread '${id}' not defined in iothreadid`);
    }
  };
  for (const disk of def.devices.disks) check(disk.driver, 'Disk');
  for (const c of def.devices.controllers) check(c.driver, 'controller');
}

/** The DomainXMLOptions of the QEMU driver for a binary with capabilities `caps`. */
export function qemuDomainXMLOptions(caps: QemuCaps, config?: QemuDriverConfig): DomainXMLOptions {
  return {
    userAliases: true,
    postParse: (def) => qemuDomainPostParse(def, caps),
    validate: (def) => qemuValidateDomain(def, caps, config),
  };
}

// ---------------------------------------------------------------------------------------------
// Aliases (qemuAssignDeviceAliases), assigned when a domain starts: never in inactive XML.

function nextIndex(used: Set<string>, prefix: string): number {
  let max = -1;
  for (const a of used) {
    if (!a.startsWith(prefix)) continue;
    const n = Number(a.slice(prefix.length));
    if (Number.isInteger(n) && n > max) max = n;
  }
  return max + 1;
}

function driveAttr(info: DeviceInfo, name: string): string {
  return info.address?.attrs.find(([k]) => k === name)?.[1] ?? '0';
}

function diskAlias(def: DomainDef, disk: DiskDef): string | undefined {
  const i = disk.info;
  switch (disk.target.bus) {
    case 'ide':
      return `ide${driveAttr(i, 'controller')}-${driveAttr(i, 'bus')}-${driveAttr(i, 'unit')}`;
    case 'sata':
      return `sata${driveAttr(i, 'controller')}-${driveAttr(i, 'bus')}-${driveAttr(i, 'unit')}`;
    case 'fdc':
      return `fdc${driveAttr(i, 'controller')}-${driveAttr(i, 'bus')}-${driveAttr(i, 'unit')}`;
    case 'scsi': {
      const ctrl = def.devices.controllers.find((c) => c.type === 'scsi' && c.index === Number(driveAttr(i, 'controller')));
      if ((ctrl?.model ?? 'lsilogic') === 'lsilogic') return `scsi${driveAttr(i, 'controller')}-${driveAttr(i, 'bus')}-${driveAttr(i, 'unit')}`;
      return `scsi${driveAttr(i, 'controller')}-${driveAttr(i, 'bus')}-${driveAttr(i, 'target')}-${driveAttr(i, 'unit')}`;
    }
    case 'virtio':
      return `virtio-disk${diskIndex(disk.target.dev)}`;
    case 'usb':
      return `usb-disk${diskIndex(disk.target.dev)}`;
    default:
      return undefined;
  }
}

function controllerAlias(c: ControllerDef, q35: boolean): string {
  if (c.type === 'pci') return c.model === 'pcie-root' ? 'pcie.0' : `pci.${c.index}`;
  if (c.type === 'usb') return c.index === 0 ? 'usb' : `usb${c.index}`;
  if (c.type === 'ide' && c.index === 0) return 'ide';
  if (c.type === 'sata' && c.index === 0 && q35) return 'ide';
  return `${c.type}${c.index}`;
}

/** Sets `info.alias` on every device that has none yet, as libvirt does at start. */
export function qemuAssignDeviceAliases(def: DomainDef): void {
  const d = def.devices;
  const used = new Set<string>();
  for (const dev of allDevices(def)) if ('info' in dev && dev.info.alias) used.add(dev.info.alias);
  // The next free index per prefix, found once by scanning and then counted up.
  const next = new Map<string, number>();
  const give = (info: DeviceInfo, prefix: string): void => {
    if (info.alias) return;
    const n = next.get(prefix) ?? nextIndex(used, prefix);
    next.set(prefix, n + 1);
    info.alias = `${prefix}${n}`;
    used.add(info.alias);
  };
  for (const disk of d.disks) {
    if (disk.info.alias) continue;
    const a = diskAlias(def, disk);
    if (a) {
      disk.info.alias = a;
      used.add(a);
    }
  }
  for (const c of d.controllers) {
    if (!c.info.alias) c.info.alias = controllerAlias(c, isQ35(def));
  }
  for (const n of d.interfaces) give(n.info, n.type === 'hostdev' ? 'hostdev' : 'net');
  for (const fs of d.filesystems) give(fs.info, 'fs');
  for (const s of d.sounds) give(s.info, 'sound');
  for (const h of d.hostdevs) give(h.info, 'hostdev');
  for (const r of d.redirdevs) give(r.info, 'redir');
  for (const v of d.videos) give(v.info, 'video');
  for (const s of d.serials) give(s.info, 'serial');
  for (const p of d.parallels) give(p.info, 'parallel');
  for (const c of d.channels) give(c.info, 'channel');
  d.consoles.forEach((c, i) => {
    if (c.info.alias) return;
    if (i === 0 && targetType(c.target?.attrs) === 'serial' && d.serials[0]) c.info.alias = d.serials[0].info.alias;
    else c.info.alias = `console${i}`; // by position, as qemuAssignDeviceChrAlias
  });
  for (const h of d.hubs) give(h.info, 'hub');
  for (const s of d.smartcards) give(s.info, 'smartcard');
  for (const i of d.inputs) give(i.info, 'input');
  for (const w of d.watchdogs) give(w.info, 'watchdog');
  if (d.memballoon && !d.memballoon.info.alias) d.memballoon.info.alias = 'balloon0';
  for (const r of d.rngs) give(r.info, 'rng');
  for (const t of d.tpms) give(t.info, 'tpm');
  for (const s of d.shmems) give(s.info, 'shmem');
  d.memories.forEach((m, i) => {
    if (m.info.alias) return;
    m.info.alias = memoryAlias(m, i);
    used.add(m.info.alias);
  });
  if (d.vsock) give(d.vsock.info, 'vsock');
  if (d.iommu && !d.iommu.info.alias) d.iommu.info.alias = 'iommu0';
  for (const p of d.panics) give(p.info, 'panic');
}
