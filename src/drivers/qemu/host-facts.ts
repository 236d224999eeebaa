// The host facts behind the QEMU driver's capability documents, read from the kernel the way
// libvirt 9.0 gathers them for virQEMUCapsInit / virQEMUDriverCreateCapabilities: the NUMA cells
// with their CPUs, memory, page counts and distances (virCapabilitiesHostNUMAInitReal, or one
// fake cell when the kernel has no node directory), the page sizes (virCapabilitiesInitPages),
// the host UUID (virGetHostUUID), power management targets, IOMMU, and for domain capabilities
// VFIO and the QEMU firmware descriptors. Every path is taken under `root` so that tests can
// build a fake sysfs tree.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseBitmap, formatBitmap } from '../../util/bitmap';
import { type FirmwareDescriptor, fileExists, firmwareDescriptorDirs, firmwareImage, firmwareTargets, loadFirmwareDescriptors } from './firmware';
import type { HostCell, HostCellCpu, QemuDomainCapsHost, QemuHostFacts } from './host-caps';

export interface HostFactsOptions {
  /** Prefix of every kernel and configuration path; '/' for the real host. */
  root?: string;
  /** The host architecture (default: the running kernel's, as libvirt's virArchFromHost). */
  arch?: string;
  /** The user and group QEMU runs as, for the DAC base labels (default: this process's). */
  uid?: number;
  gid?: number;
  /** The system page size in KiB (default 4: x86). */
  pageSizeKiB?: number;
}

/** Node's os.arch() names to libvirt's virArch names. */
function hostArch(): string {
  switch (os.arch()) {
    case 'x64': return 'x86_64';
    case 'ia32': return 'i686';
    case 'arm64': return 'aarch64';
    case 'arm': return 'armv7l';
    case 'ppc64': return os.endianness() === 'LE' ? 'ppc64le' : 'ppc64';
    default: return os.arch();
  }
}

async function readText(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return null;
  }
}

async function readInt(file: string): Promise<number | null> {
  const text = await readText(file);
  if (text === null) return null;
  const n = Number.parseInt(text.trim(), 10);
  return Number.isFinite(n) ? n : null;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch {
    return [];
  }
}

/** A kernel CPU list ('0-3,8,10-11\n') as sorted ids; none when empty (a CPU-less node). */
export function parseCpuList(text: string): number[] {
  return parseBitmap(text.trim()) ?? [];
}

/** A set of ids in any order as libvirt's virBitmapFormat writes it: runs of two or more as 'a-b'. */
export function formatCpuSet(ids: number[]): string {
  return formatBitmap([...new Set(ids)].sort((a, b) => a - b));
}

/** A UUID libvirt accepts (virUUIDIsValid): well formed and not one hex digit repeated. */
function validUuid(text: string): string | null {
  const hex = text.trim().toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) return null;
  if (/^(.)\1*$/.test(hex)) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** virGetHostUUID: the SMBIOS system UUID when the kernel exposes a usable one, else the machine-id. */
export async function hostUuid(root: string): Promise<string | undefined> {
  for (const file of ['sys/devices/virtual/dmi/id/product_uuid', 'sys/class/dmi/id/product_uuid', 'etc/machine-id']) {
    const text = await readText(path.join(root, file));
    const uuid = text === null ? null : validUuid(text);
    if (uuid) return uuid;
  }
  return undefined;
}

/** The kB values of a meminfo file ('MemTotal:  123 kB' or 'Node 0 MemTotal:  123 kB'). */
function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(?:Node \d+ )?([A-Za-z_()]+):\s+(\d+)/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** The huge page sizes in KiB from a hugepages directory ('hugepages-2048kB'). */
async function hugePageSizes(dir: string): Promise<number[]> {
  const sizes: number[] = [];
  for (const name of await listDir(dir)) {
    const m = /^hugepages-(\d+)kB$/.exec(name);
    if (m) sizes.push(Number(m[1]));
  }
  return sizes.sort((a, b) => a - b);
}

interface CpuTopo {
  socketId: number;
  dieId: number;
  coreId: number;
  siblings: number[];
}

/** virCapabilitiesFillCPUInfo: a CPU's socket, die and core ids and its thread siblings. */
async function cpuTopology(cpuDir: string, id: number): Promise<CpuTopo> {
  const topo = path.join(cpuDir, `cpu${id}`, 'topology');
  const siblings = await readText(path.join(topo, 'thread_siblings_list'));
  return {
    socketId: (await readInt(path.join(topo, 'physical_package_id'))) ?? 0,
    dieId: (await readInt(path.join(topo, 'die_id'))) ?? 0,
    coreId: (await readInt(path.join(topo, 'core_id'))) ?? 0,
    siblings: siblings === null ? [id] : parseCpuList(siblings),
  };
}

/** The online CPUs (cpu/online; cpu0 has no 'online' file and is always online). */
async function onlineCpus(cpuDir: string): Promise<number[]> {
  const online = await readText(path.join(cpuDir, 'online'));
  if (online !== null) return parseCpuList(online);
  const present = await readText(path.join(cpuDir, 'present'));
  if (present !== null) return parseCpuList(present);
  return (await listDir(cpuDir)).map((n) => /^cpu(\d+)$/.exec(n)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => a - b);
}

/**
 * virHostCPUGetInfo's topology: sockets per NUMA node, cores per socket, threads per core; when
 * that does not multiply out to the online CPUs, libvirt reports them all as cores of one socket.
 */
function nodeInfoTopology(cpus: Array<{ id: number } & CpuTopo>, nodes: number): { sockets: number; cores: number; threads: number } {
  const packages = new Set(cpus.map((c) => c.socketId));
  const coresPer = new Map<number, Set<string>>();
  let threads = 1;
  for (const c of cpus) {
    let set = coresPer.get(c.socketId);
    if (!set) coresPer.set(c.socketId, (set = new Set()));
    set.add(`${c.dieId}:${c.coreId}`);
    threads = Math.max(threads, c.siblings.length);
  }
  const cores = Math.max(1, ...[...coresPer.values()].map((s) => s.size));
  const sockets = Math.max(1, Math.floor(packages.size / Math.max(1, nodes)));
  if (sockets * cores * threads * Math.max(1, nodes) !== cpus.length) return { sockets: 1, cores: cpus.length, threads: 1 };
  return { sockets, cores, threads };
}

/** The CPU vendor, family/model/stepping and microcode /proc/cpuinfo states for the first CPU. */
async function cpuIdentity(root: string): Promise<Pick<NonNullable<QemuHostFacts['cpu']>, 'vendor' | 'microcode' | 'signature'>> {
  const text = await readText(path.join(root, 'proc', 'cpuinfo'));
  if (text === null) return {};
  const first = text.split(/\n\s*\n/)[0];
  const field = (name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1].trim();
  const vendorId = field('vendor_id');
  const vendor = vendorId === 'GenuineIntel' ? 'Intel' : vendorId === 'AuthenticAMD' ? 'AMD' : vendorId === 'HygonGenuine' ? 'Hygon' : undefined;
  const family = field('cpu family');
  const model = field('model');
  const stepping = field('stepping');
  const microcode = field('microcode');
  const out: Pick<NonNullable<QemuHostFacts['cpu']>, 'vendor' | 'microcode' | 'signature'> = {};
  if (vendor) out.vendor = vendor;
  if (microcode !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(microcode)) out.microcode = Number(microcode);
  if (family !== undefined && model !== undefined && stepping !== undefined && /^\d+$/.test(family + model + stepping)) {
    out.signature = { family: Number(family), model: Number(model), stepping: Number(stepping) };
  }
  return out;
}

/** /sys/power/state mapped to libvirt's suspend targets (mem, disk, and hybrid when both). */
async function powerTargets(root: string): Promise<string[]> {
  const text = await readText(path.join(root, 'sys', 'power', 'state'));
  const states = new Set((text ?? '').trim().split(/\s+/).filter(Boolean));
  const out: string[] = [];
  if (states.has('mem')) out.push('suspend_mem');
  if (states.has('disk')) out.push('suspend_disk');
  if (states.has('mem') && states.has('disk')) out.push('suspend_hybrid');
  return out;
}

/** virHostHasIOMMU: the kernel put devices into IOMMU groups. */
async function hasIommu(root: string): Promise<boolean> {
  return (await listDir(path.join(root, 'sys', 'kernel', 'iommu_groups'))).length > 0;
}

/** The NUMA cells of virCapabilitiesHostNUMAInitReal, or null when the kernel has no node directory. */
async function realCells(root: string, pageKiB: number): Promise<Array<HostCell & { topo: Array<{ id: number } & CpuTopo> }> | null> {
  const nodeDir = path.join(root, 'sys', 'devices', 'system', 'node');
  const cpuDir = path.join(root, 'sys', 'devices', 'system', 'cpu');
  const ids = (await listDir(nodeDir)).map((n) => /^node(\d+)$/.exec(n)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => a - b);
  if (ids.length === 0) return null;
  const cells: Array<HostCell & { topo: Array<{ id: number } & CpuTopo> }> = [];
  for (const id of ids) {
    const dir = path.join(nodeDir, `node${id}`);
    const cpuIds = parseCpuList((await readText(path.join(dir, 'cpulist'))) ?? '');
    const topo = await Promise.all(cpuIds.map(async (c) => ({ id: c, ...(await cpuTopology(cpuDir, c)) })));
    const cpus: HostCellCpu[] = topo.map((c) => ({ id: c.id, socketId: c.socketId, dieId: c.dieId, coreId: c.coreId, siblings: formatCpuSet(c.siblings) }));
    const memory = parseMeminfo((await readText(path.join(dir, 'meminfo'))) ?? '').get('MemTotal') ?? 0;
    // virNumaGetPages: the system pages the cell's memory makes, then each huge page pool.
    const pages = [{ size: pageKiB, count: Math.floor(memory / pageKiB) }];
    for (const size of await hugePageSizes(path.join(dir, 'hugepages'))) {
      pages.push({ size, count: (await readInt(path.join(dir, 'hugepages', `hugepages-${size}kB`, 'nr_hugepages'))) ?? 0 });
    }
    const distances = ((await readText(path.join(dir, 'distance'))) ?? '')
      .trim().split(/\s+/).filter(Boolean).map(Number)
      .map((value, i) => ({ id: ids[i] ?? i, value }))
      .filter((d) => d.value > 0);
    cells.push({ id, memory, pages, distances, cpus, topo });
  }
  return cells;
}

/** virCapabilitiesHostNUMAInitFake: one cell holding every online CPU and all of MemTotal. */
async function fakeCell(root: string): Promise<{ cell: HostCell; topo: Array<{ id: number } & CpuTopo> }> {
  const cpuDir = path.join(root, 'sys', 'devices', 'system', 'cpu');
  const online = await onlineCpus(cpuDir);
  const topo = await Promise.all(online.map(async (c) => ({ id: c, ...(await cpuTopology(cpuDir, c)) })));
  const { sockets, cores, threads } = nodeInfoTopology(topo, 1);
  const cpus: HostCellCpu[] = [];
  const onlineSet = new Set(online);
  let id = 0;
  for (let s = 0; s < sockets; s++) {
    for (let c = 0; c < cores; c++) {
      const siblings = formatCpuSet(Array.from({ length: threads }, (_, t) => id + t));
      for (let t = 0; t < threads; t++, id++) {
        if (onlineSet.has(id)) cpus.push({ id, socketId: s, dieId: 0, coreId: c, siblings });
      }
    }
  }
  const memory = parseMeminfo((await readText(path.join(root, 'proc', 'meminfo'))) ?? '').get('MemTotal') ?? 0;
  return { cell: { id: 0, memory, pages: [], cpus }, topo };
}

/** Kernel cache types to libvirt's (virCacheKernelType -> virCacheType names). */
const CACHE_TYPES: Record<string, string> = { Unified: 'both', Instruction: 'code', Data: 'data' };

/** A sysfs size ('32768K', '1M', '512') in bytes. */
function scaledSize(text: string): number | null {
  const m = /^(\d+)([KMG]?)$/.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * (m[2] === 'K' ? 1024 : m[2] === 'M' ? 1024 ** 2 : m[2] === 'G' ? 1024 ** 3 : 1);
}

/**
 * virCapabilitiesInitCaches: the level 3 and higher caches of the online CPUs, each bank once,
 * ordered by level, then id.
 */
async function cacheBanks(root: string): Promise<NonNullable<QemuHostFacts['caches']>> {
  const cpuDir = path.join(root, 'sys', 'devices', 'system', 'cpu');
  const banks: NonNullable<QemuHostFacts['caches']> = [];
  for (const cpuId of await onlineCpus(cpuDir)) {
    const dir = path.join(cpuDir, `cpu${cpuId}`, 'cache');
    for (const index of (await listDir(dir)).filter((n) => n.startsWith('index'))) {
      const at = (f: string) => path.join(dir, index, f);
      const level = await readInt(at('level'));
      if (level === null || level < 3) continue;
      const id = await readInt(at('id'));
      const type = CACHE_TYPES[((await readText(at('type'))) ?? '').trim()];
      const size = scaledSize((await readText(at('size'))) ?? '');
      const shared = await readText(at('shared_cpu_list'));
      if (id === null || type === undefined || size === null || shared === null) continue;
      const bank = { id, level, type, size, cpus: formatCpuSet(parseCpuList(shared)) };
      if (!banks.some((b) => b.id === bank.id && b.level === bank.level && b.type === bank.type && b.size === bank.size && b.cpus === bank.cpus)) banks.push(bank);
    }
  }
  return banks.sort((a, b) => a.level - b.level || a.id - b.id);
}

/** Everything the <host> element of virConnectGetCapabilities says, read from the host under `root`. */
export async function gatherQemuHostFacts(options: HostFactsOptions = {}): Promise<QemuHostFacts> {
  const root = options.root ?? '/';
  const pageKiB = options.pageSizeKiB ?? 4;
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const gid = options.gid ?? process.getgid?.() ?? 0;
  const real = await realCells(root, pageKiB);
  let cells: HostCell[];
  let topo: Array<{ id: number } & CpuTopo>;
  if (real) {
    cells = real.map(({ topo: _t, ...cell }) => cell);
    topo = real.flatMap((c) => c.topo);
  } else {
    const fake = await fakeCell(root);
    cells = [fake.cell];
    topo = fake.topo;
  }
  const { sockets, cores, threads } = nodeInfoTopology(topo, cells.length);
  const label = `+${uid}:+${gid}`;
  return {
    uuid: await hostUuid(root),
    arch: options.arch ?? hostArch(),
    cpu: { ...(await cpuIdentity(root)), topology: { sockets, dies: 1, cores, threads }, features: [] },
    pageSizes: [pageKiB, ...(await hugePageSizes(path.join(root, 'sys', 'kernel', 'mm', 'hugepages')))],
    powerManagement: await powerTargets(root),
    iommu: await hasIommu(root),
    migrationTransports: ['tcp', 'rdma'],
    cells,
    caches: await cacheBanks(root),
    secModels: [
      { model: 'none', doi: '0' },
      { model: 'dac', doi: '0', baseLabels: [{ type: 'kvm', label }, { type: 'qemu', label }] },
    ],
  };
}

/**
 * The firmware descriptors QEMU installs (/usr/share/qemu/firmware), the administrator's
 * (/etc/qemu/firmware) and, for a per-user driver, the user's, all under `root`, as
 * firmware.ts looks them up. Domain capabilities skip a descriptor that does not parse.
 */
export async function readFirmwareDescriptors(root = '/', privileged = true): Promise<FirmwareDescriptor[]> {
  return loadFirmwareDescriptors(firmwareDescriptorDirs(privileged).map((d) => path.join(root, d)), { lenient: true });
}

/**
 * What the host adds to virConnectGetDomainCapabilities for one architecture and machine type:
 * the firmware images whose descriptors target it and that exist, whether one of them is UEFI,
 * and whether VFIO device assignment is possible (an IOMMU and /dev/vfio/vfio).
 */
export async function gatherDomainCapsHost(
  arch: string,
  machine: string | null,
  options: { root?: string; privileged?: boolean; descriptors?: FirmwareDescriptor[] } = {},
): Promise<QemuDomainCapsHost> {
  const root = options.root ?? '/';
  const descriptors = options.descriptors ?? (await readFirmwareDescriptors(root, options.privileged));
  const loaders: string[] = [];
  let efi = false;
  for (const d of descriptors) {
    // A kernel is no <loader>.
    if (d.mapping.device === 'kernel' || !firmwareTargets(d, arch, machine)) continue;
    const image = firmwareImage(d);
    if (!(await fileExists(path.join(root, image)))) continue;
    if (!loaders.includes(image)) loaders.push(image);
    if (d.interfaces.includes('uefi')) efi = true;
  }
  const vfio = (await hasIommu(root)) && (await fileExists(path.join(root, 'dev', 'vfio', 'vfio')));
  return { firmwareLoaders: loaders, efi, vfio };
}
