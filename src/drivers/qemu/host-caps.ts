// The QEMU driver's capability documents (libvirt 9.0): `virConnectGetCapabilities` (the host
// and, per emulator binary, the guests it can run: virQEMUCapsInit) and
// `virConnectGetDomainCapabilities` (what one binary, machine type and virtualization type
// support: virQEMUCapsFillDomainCaps + virDomainCapsFormat). Pure builders: the caller probes the
// binaries (QemuCaps) and gathers the host facts; nothing here touches the system.
import { XmlWriter } from '../../conf/xml';
import { VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, virError } from '../../error';
import type { QemuCaps, QemuCpuModel, QemuMachineType } from './capabilities';

/** A host CPU of a NUMA cell (virCapsHostNUMACellCPU). */
export interface HostCellCpu {
  id: number;
  socketId: number;
  dieId: number;
  coreId: number;
  /** The thread siblings as libvirt writes a set ('0,4'). */
  siblings: string;
}

/** A host NUMA cell (virCapsHostNUMACell). */
export interface HostCell {
  id: number;
  /** KiB */
  memory: number;
  /** Free pages per size: size in KiB, count. */
  pages: Array<{ size: number; count: number }>;
  /** Distances to every cell, by id (omitted when the host reports none). */
  distances?: Array<{ id: number; value: number }>;
  cpus: HostCellCpu[];
}

/** What the host is (virCapsHost), gathered by the caller from sysfs, cpuid and the security drivers. */
export interface QemuHostFacts {
  /** The host's UUID (SMBIOS system UUID, else the machine-id), if known. */
  uuid?: string;
  arch: string;
  /** The host CPU model and vendor as libvirt's CPU driver names them, and its features. */
  cpu?: {
    model?: string;
    vendor?: string;
    microcode?: number;
    signature?: { family: number; model: number; stepping: number };
    topology?: { sockets: number; dies: number; cores: number; threads: number };
    features: string[];
  };
  /** Page sizes in KiB, the normal size first. */
  pageSizes: number[];
  /** Host suspend targets the kernel offers: 'suspend_mem', 'suspend_disk', 'suspend_hybrid'. */
  powerManagement: string[];
  /** Whether the host has an IOMMU in use (/sys/kernel/iommu_groups is not empty). */
  iommu: boolean;
  /** URI transports for migration (libvirt's QEMU driver: tcp and rdma). */
  migrationTransports: string[];
  /** null: no NUMA description at all. */
  cells: HostCell[] | null;
  /** The host's level 3+ cache banks (virCapabilitiesInitCaches): size in bytes, type 'both'/'data'/'code'. */
  caches?: Array<{ id: number; level: number; type: string; size: number; cpus: string }>;
  /** Security models in libvirt's order; DAC carries the base labels per domain type. */
  secModels: Array<{ model: string; doi: string; baseLabels?: Array<{ type: string; label: string }> }>;
}

/** One emulator binary and its probed capabilities. */
export interface QemuEmulator {
  binary: string;
  caps: QemuCaps;
}

/** virArch word sizes for the architectures QEMU emulates. */
const WORDSIZE: Record<string, number> = {
  i686: 32, x86_64: 64, aarch64: 64, armv7l: 32, ppc64: 64, ppc64le: 64, s390x: 64, riscv64: 64, mips64: 64,
};

function isX86(arch: string): boolean {
  return arch === 'x86_64' || arch === 'i686';
}

/** virFormatIntPretty: a byte count in the largest binary unit that divides it exactly. */
function prettySize(bytes: number): [number, string] {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes;
  let i = 0;
  while (value !== 0 && value % 1024 === 0 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return [value, units[i]];
}

function writeHost(w: XmlWriter, host: QemuHostFacts): void {
  w.open('host');
  if (host.uuid !== undefined) w.leaf('uuid', host.uuid);
  w.open('cpu');
  w.leaf('arch', host.arch);
  const cpu = host.cpu;
  if (cpu?.model !== undefined) w.leaf('model', cpu.model);
  if (cpu?.vendor !== undefined) w.leaf('vendor', cpu.vendor);
  if (cpu?.microcode !== undefined) w.empty('microcode', [['version', cpu.microcode]]);
  if (cpu?.signature) {
    w.empty('signature', [['family', cpu.signature.family], ['model', cpu.signature.model], ['stepping', cpu.signature.stepping]]);
  }
  if (cpu?.topology) {
    const t = cpu.topology;
    w.empty('topology', [['sockets', t.sockets], ['dies', t.dies], ['cores', t.cores], ['threads', t.threads]]);
  }
  for (const f of cpu?.features ?? []) w.empty('feature', [['name', f]]);
  for (const size of host.pageSizes) w.empty('pages', [['unit', 'KiB'], ['size', size]]);
  w.close('cpu');
  if (host.powerManagement.length > 0) {
    w.open('power_management');
    for (const p of host.powerManagement) w.empty(p);
    w.close('power_management');
  } else {
    w.empty('power_management');
  }
  w.empty('iommu', [['support', host.iommu ? 'yes' : 'no']]);
  w.open('migration_features');
  w.empty('live');
  if (host.migrationTransports.length > 0) {
    w.open('uri_transports');
    for (const t of host.migrationTransports) w.leaf('uri_transport', t);
    w.close('uri_transports');
  }
  w.close('migration_features');
  if (host.cells) {
    w.open('topology');
    w.open('cells', [['num', host.cells.length]]);
    for (const cell of host.cells) {
      w.open('cell', [['id', cell.id]]);
      w.leaf('memory', cell.memory, [['unit', 'KiB']]);
      for (const p of cell.pages) w.leaf('pages', p.count, [['unit', 'KiB'], ['size', p.size]]);
      if (cell.distances && cell.distances.length > 0) {
        w.open('distances');
        for (const d of cell.distances) w.empty('sibling', [['id', d.id], ['value', d.value]]);
        w.close('distances');
      }
      w.open('cpus', [['num', cell.cpus.length]]);
      for (const c of cell.cpus) {
        w.empty('cpu', [['id', c.id], ['socket_id', c.socketId], ['die_id', c.dieId], ['core_id', c.coreId], ['siblings', c.siblings]]);
      }
      w.close('cpus');
      w.close('cell');
    }
    w.close('cells');
    w.close('topology');
  }
  if (host.caches && host.caches.length > 0) {
    w.open('cache');
    for (const b of host.caches) {
      const [size, unit] = prettySize(b.size);
      w.empty('bank', [['id', b.id], ['level', b.level], ['type', b.type], ['size', size], ['unit', unit], ['cpus', b.cpus]]);
    }
    w.close('cache');
  }
  for (const sec of host.secModels) {
    w.open('secmodel');
    w.leaf('model', sec.model);
    w.leaf('doi', sec.doi);
    for (const b of sec.baseLabels ?? []) w.leaf('baselabel', b.label, [['type', b.type]]);
    w.close('secmodel');
  }
  w.close('host');
}

/**
 * The guests one binary runs for one guest architecture (virQEMUCapsInitGuestFromBinary): its
 * machine types, the domain types (qemu with TCG, kvm with KVM) and the guest features, which
 * libvirt writes in its feature enum's order.
 */
function writeGuest(w: XmlWriter, guestArch: string, emu: QemuEmulator): void {
  const caps = emu.caps;
  w.open('guest');
  w.leaf('os_type', 'hvm');
  w.open('arch', [['name', guestArch]]);
  w.leaf('wordsize', WORDSIZE[guestArch] ?? 64);
  w.leaf('emulator', emu.binary);
  for (const m of caps.guestMachines()) {
    const attrs: Array<[string, string | number]> = [];
    if (m.canonical !== undefined) attrs.push(['canonical', m.canonical]);
    attrs.push(['maxCpus', m.maxCpus]);
    if (m.deprecated) attrs.push(['deprecated', 'yes']);
    w.leaf('machine', m.name, attrs);
  }
  for (const t of caps.guestDomainTypes()) w.empty('domain', [['type', t]]);
  w.close('arch');
  w.open('features');
  if (guestArch === 'i686') {
    w.empty('pae');
    w.empty('nonpae');
  }
  if (isX86(guestArch)) {
    w.empty('acpi', [['default', 'on'], ['toggle', 'yes']]);
    w.empty('apic', [['default', 'on'], ['toggle', 'no']]);
  }
  w.empty('cpuselection');
  w.empty('deviceboot');
  w.empty('disksnapshot', [['default', 'on'], ['toggle', 'no']]);
  w.close('features');
  w.close('guest');
}

/**
 * virConnectGetCapabilities for QEMU: the host, then a <guest> per emulator and guest
 * architecture. An x86_64 binary also serves i686 guests when the host has no
 * qemu-system-i386 of its own, as libvirt does.
 */
export function qemuCapabilitiesXML(host: QemuHostFacts, emulators: QemuEmulator[]): string {
  const w = new XmlWriter();
  w.open('capabilities');
  w.raw('');
  writeHost(w, host);
  w.raw('');
  const archs = new Set(emulators.map((e) => e.caps.arch));
  const guests: Array<[string, QemuEmulator]> = [];
  for (const emu of emulators) {
    guests.push([emu.caps.arch, emu]);
    if (emu.caps.arch === 'x86_64' && !archs.has('i686')) guests.push(['i686', emu]);
  }
  const order = ['i686', 'x86_64'];
  guests.sort((a, b) => (order.indexOf(a[0]) + 1 || 99) - (order.indexOf(b[0]) + 1 || 99));
  for (const [arch, emu] of guests) {
    writeGuest(w, arch, emu);
    w.raw('');
  }
  w.close('capabilities');
  return w.toString().replace(/^ +$/gm, '');
}

// ---------------------------------------------------------------------------------------------
// Domain capabilities

/** What the host adds to a binary's domain capabilities. */
export interface QemuDomainCapsHost {
  /** Firmware images found in the QEMU firmware descriptors (the <loader> values). */
  firmwareLoaders: string[];
  /** Whether the auto-selectable firmware includes EFI (the `firmware` enum). */
  efi: boolean;
  /** Whether VFIO is usable for PCI host devices (the 'vfio' pciBackend). */
  vfio: boolean;
  /** The host CPU as host-model would expand it, when known. */
  hostModel?: { model: string; vendor?: string; features: Array<{ policy: string; name: string }> };
}

/** The query arguments of virConnectGetDomainCapabilities after defaults. */
export interface DomainCapsQuery {
  emulatorbin: string | null;
  arch: string | null;
  machine: string | null;
  virttype: string | null;
}

function writeEnum(w: XmlWriter, name: string, values: string[]): void {
  if (values.length === 0) {
    w.empty('enum', [['name', name]]);
    return;
  }
  w.open('enum', [['name', name]]);
  for (const v of values) w.leaf('value', v);
  w.close('enum');
}

function supported(yes: boolean): Array<[string, string]> {
  return [['supported', yes ? 'yes' : 'no']];
}

/** virDomainVirtType's names (the domain types libvirt knows). */
const VIRT_TYPES = new Set(['none', 'qemu', 'kqemu', 'kvm', 'xen', 'lxc', 'uml', 'openvz', 'test', 'vmware', 'hyperv', 'vbox', 'phyp', 'parallels', 'bhyve', 'vz', 'hvf']);

/** virArch's names. */
export const VIR_ARCHES = new Set([
  'alpha', 'armv6l', 'armv7l', 'armv7b', 'aarch64', 'cris', 'i686', 'ia64', 'lm32', 'loongarch64', 'm68k', 'microblaze',
  'microblazeel', 'mips', 'mipsel', 'mips64', 'mips64el', 'openrisc', 'parisc', 'parisc64', 'ppc', 'ppcle', 'ppc64',
  'ppc64le', 'ppcemb', 'riscv32', 'riscv64', 's390', 's390x', 'sh4', 'sh4eb', 'sparc', 'sparc64', 'unicore32', 'x86_64',
  'xtensa', 'xtensaeb',
]);

/** The families within which one emulator serves several architectures (x86, PPC, ARM, S390). */
function archFamily(arch: string): string {
  if (isX86(arch)) return 'x86';
  if (arch.startsWith('ppc')) return 'ppc';
  if (arch === 'aarch64' || arch.startsWith('arm')) return 'arm';
  if (arch.startsWith('s390')) return 's390';
  return arch;
}

/** The machine type a domain-capabilities query means: the one named (aliases resolved), else the default. */
function pickMachine(caps: QemuCaps, virtType: string, machine: string | null): QemuMachineType {
  const machines = caps.machines(virtType);
  if (machine === null) {
    const def = caps.defaultMachine(virtType);
    if (def) return def;
    throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `the emulator '${caps.data.binary}' does not have a default machine type`);
  }
  const found = machines.find((m) => m.name === machine || m.alias === machine);
  if (!found) {
    throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `the machine '${machine}' is not supported by emulator '${caps.data.binary}'`);
  }
  return found;
}

function usableModels(models: QemuCpuModel[]): QemuCpuModel[] {
  return models.filter((m) => m.name !== 'host' && m.name !== 'max' && m.name !== 'base');
}

/**
 * virConnectGetDomainCapabilities for QEMU (virQEMUCapsFillDomainCaps): what `emu`'s binary
 * offers a domain of `virttype` on the chosen machine type. `virttype` 'kvm' needs KVM.
 */
export function qemuDomainCapabilitiesXML(emu: QemuEmulator, query: DomainCapsQuery, host: QemuDomainCapsHost): string {
  const caps = emu.caps;
  // virQEMUCapsCacheLookupDefault's checks, in its order.
  if (query.virttype !== null && !VIRT_TYPES.has(query.virttype)) {
    throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `unknown virttype: ${query.virttype}`);
  }
  if (query.arch !== null && !VIR_ARCHES.has(query.arch)) {
    throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `unknown architecture: ${query.arch}`);
  }
  const arch = query.arch ?? caps.arch;
  if (archFamily(arch) !== archFamily(caps.arch)) {
    if (query.emulatorbin === null) {
      throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `unable to find any emulator to serve '${arch}' architecture`);
    }
    throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `architecture from emulator '${caps.arch}' doesn't match given architecture '${arch}'`);
  }
  const virtType = query.virttype ?? (caps.has('kvm') ? 'kvm' : 'qemu');
  if (virtType === 'kvm' && !caps.has('kvm')) {
    throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `KVM is not supported by '${emu.binary}' on this host`);
  }
  // libvirt answers any other known domain type (xen, lxc, ...) with QEMU's TCG data under that name.
  const accel = virtType === 'kvm' ? 'kvm' : 'qemu';
  const machine = pickMachine(caps, accel, query.machine);
  const q35 = machine.name.includes('q35');
  const w = new XmlWriter();
  w.open('domainCapabilities');
  w.leaf('path', emu.binary);
  w.leaf('domain', virtType);
  w.leaf('machine', machine.name);
  w.leaf('arch', arch);
  w.empty('vcpu', [['max', machine.maxCpus]]);
  w.empty('iothreads', supported(true));

  w.open('os', supported(true));
  writeEnum(w, 'firmware', host.efi ? ['efi'] : []);
  w.open('loader', supported(true));
  for (const l of host.firmwareLoaders) w.leaf('value', l);
  writeEnum(w, 'type', ['rom', 'pflash']);
  writeEnum(w, 'readonly', ['yes', 'no']);
  writeEnum(w, 'secure', q35 ? ['yes', 'no'] : ['no']);
  w.close('loader');
  w.close('os');

  w.open('cpu');
  const kvm = accel === 'kvm';
  w.open('mode', [['name', 'host-passthrough'], ...supported(kvm)]);
  if (kvm) writeEnum(w, 'hostPassthroughMigratable', ['on', 'off']);
  w.close('mode');
  w.open('mode', [['name', 'maximum'], ...supported(true)]);
  writeEnum(w, 'maximumMigratable', ['on', 'off']);
  w.close('mode');
  if (host.hostModel) {
    w.open('mode', [['name', 'host-model'], ...supported(true)]);
    w.leaf('model', host.hostModel.model, [['fallback', 'forbid']]);
    if (host.hostModel.vendor !== undefined) w.leaf('vendor', host.hostModel.vendor);
    for (const f of host.hostModel.features) w.empty('feature', [['policy', f.policy], ['name', f.name]]);
    w.close('mode');
  } else {
    w.empty('mode', [['name', 'host-model'], ...supported(false)]);
  }
  const models = usableModels(caps.cpuModels(accel));
  if (models.length > 0) {
    w.open('mode', [['name', 'custom'], ...supported(true)]);
    for (const m of models) {
      const attrs: Array<[string, string]> = [['usable', m.usable]];
      if (m.deprecated) attrs.push(['deprecated', 'yes']);
      attrs.push(['vendor', 'unknown']);
      w.leaf('model', m.name, attrs);
    }
    w.close('mode');
  } else {
    w.empty('mode', [['name', 'custom'], ...supported(false)]);
  }
  w.close('cpu');

  w.open('memoryBacking', supported(true));
  writeEnum(w, 'sourceType', ['file', 'anonymous', ...(caps.has('memory-backend-memfd') ? ['memfd'] : [])]);
  w.close('memoryBacking');

  w.open('devices');
  w.open('disk', supported(true));
  writeEnum(w, 'diskDevice', ['disk', 'cdrom', 'floppy', 'lun']);
  writeEnum(w, 'bus', [...(q35 ? [] : ['ide']), 'fdc', 'scsi', 'virtio', 'usb', 'sata']);
  writeEnum(w, 'model', ['virtio', 'virtio-transitional', 'virtio-non-transitional']);
  w.close('disk');
  w.open('graphics', supported(true));
  writeEnum(w, 'type', [
    ...(caps.has('sdl') ? ['sdl'] : []), ...(caps.has('vnc') ? ['vnc'] : []), ...(caps.has('spice') ? ['spice'] : []),
    ...(caps.has('egl-headless') ? ['egl-headless'] : []), ...(caps.has('display-dbus') ? ['dbus'] : []),
  ]);
  w.close('graphics');
  w.open('video', supported(true));
  writeEnum(w, 'modelType', ['vga', 'cirrus', 'vmvga', 'qxl', 'virtio', 'none', 'bochs', 'ramfb']);
  w.close('video');
  w.open('hostdev', supported(true));
  writeEnum(w, 'mode', ['subsystem']);
  writeEnum(w, 'startupPolicy', ['default', 'mandatory', 'requisite', 'optional']);
  writeEnum(w, 'subsysType', ['usb', 'pci', 'scsi']);
  writeEnum(w, 'capsType', []);
  writeEnum(w, 'pciBackend', host.vfio && caps.has('vfio-pci') ? ['default', 'vfio'] : []);
  w.close('hostdev');
  w.open('rng', supported(true));
  writeEnum(w, 'model', ['virtio', 'virtio-transitional', 'virtio-non-transitional']);
  writeEnum(w, 'backendModel', ['random', 'egd', 'builtin']);
  w.close('rng');
  w.open('filesystem', supported(true));
  writeEnum(w, 'driverType', ['path', 'handle', 'virtiofs']);
  w.close('filesystem');
  const tpmModels = caps.data.tpmModels.filter((m) => m === 'tpm-tis' || m === 'tpm-crb');
  w.open('tpm', supported(tpmModels.length > 0));
  if (tpmModels.length > 0) {
    writeEnum(w, 'model', tpmModels);
    writeEnum(w, 'backendModel', [...caps.data.tpmTypes.filter((t) => t === 'passthrough' || t === 'emulator'), 'external']);
    writeEnum(w, 'backendVersion', ['1.2', '2.0']);
  }
  w.close('tpm');
  w.open('redirdev', supported(true));
  writeEnum(w, 'bus', ['usb']);
  w.close('redirdev');
  w.open('channel', supported(true));
  writeEnum(w, 'type', ['pty', 'unix', ...(caps.has('spice') ? ['spicevmc'] : [])]);
  w.close('channel');
  w.open('crypto', supported(true));
  writeEnum(w, 'model', ['virtio']);
  writeEnum(w, 'type', ['qemu']);
  writeEnum(w, 'backendModel', ['builtin']);
  w.close('crypto');
  w.close('devices');

  w.open('features');
  w.empty('gic', supported(false));
  w.empty('vmcoreinfo', supported(isX86(arch)));
  w.empty('genid', supported(true));
  w.empty('backingStoreInput', supported(true));
  w.empty('backup', supported(true));
  w.empty('sev', supported(false));
  w.empty('sgx', supported(false));
  w.close('features');
  w.close('domainCapabilities');
  return w.toString();
}
