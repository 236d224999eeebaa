// Guest memory on the QEMU command line (libvirt 9.0 qemuBuildMemoryBackendProps and friends): the
// backend object behind the system RAM, behind each NUMA cell and behind each memory module
// (dimm, nvdimm, virtio-pmem), with hugepages, memfd, file backing, access mode, discard, host
// NUMA binding and preallocation in a thread context, plus the module devices themselves.
import type { DomainDef, SimpleDeviceDef } from '../../conf/domain';
import { parseMemoryKiB } from '../../conf/units';
import { attr, child, children, textOf, type XmlElement } from '../../conf/xml';
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, virError } from '../../error';
import { parseBitmap } from '../../util/bitmap';
import type { QemuCaps } from './capabilities';

export type MemProps = Array<[string, unknown]>;

/** One hugetlbfs mount the driver may use (qemu.conf hugetlbfs_mount). */
export interface HugetlbfsMount {
  mount: string;
  /** Page size in KiB. */
  sizeKiB: number;
  /** The mount of the host's default huge page size. */
  isDefault?: boolean;
}

/** Host facts the memory backends depend on. */
export interface MemoryEnv {
  hugetlbfs: HugetlbfsMount[];
  /** qemu.conf memory_backing_dir (libvirt's default /var/lib/libvirt/qemu/ram). */
  memoryBackingDir: string;
  /** `<id>-<short name>`, the per-domain directory name (tests: '-1-QEMUGuest1'). */
  domainDirName: string;
  /** The host's normal page size in KiB. */
  systemPageKiB: number;
}

function unsupported(what: string): never {
  throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, what);
}

/** Module sizes are aligned to 2 MiB on x86 (qemuDomainGetMemoryModuleSizeAlignment). */
const MODULE_ALIGN_KIB = 2048;
/** Initial memory and NUMA cells are aligned to 1 MiB. */
const MEM_ALIGN_KIB = 1024;

function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

function scaledKiB(el: XmlElement | undefined, what: string): number {
  if (!el) return 0;
  return parseMemoryKiB(textOf(el) ?? '0', attr(el, 'unit'), what);
}

export function numaCellsOf(def: DomainDef): XmlElement[] {
  const numa = def.cpu ? child(def.cpu, 'numa') : undefined;
  return numa ? children(numa, 'cell') : [];
}

/** A NUMA cell's memory in KiB, aligned to 1 MiB. */
export function cellKiB(cell: XmlElement): number {
  const text = attr(cell, 'memory') ?? '0';
  return alignUp(parseMemoryKiB(text, attr(cell, 'unit'), './@memory'), MEM_ALIGN_KIB);
}

/** A memory module as the command line sees it. */
export interface MemoryModule {
  dev: SimpleDeviceDef;
  model: string;
  access?: string;
  discard?: string;
  sizeKiB: number;
  labelKiB: number;
  targetNode: number;
  pagesizeKiB: number;
  sourceNodes?: number[];
  path?: string;
  pmem: boolean;
  readonly: boolean;
}

export function memoryModule(dev: SimpleDeviceDef): MemoryModule {
  const get = (k: string): string | undefined => dev.attrs.find(([n]) => n === k)?.[1];
  const model = get('model') ?? '';
  if (!['dimm', 'nvdimm', 'virtio-pmem'].includes(model)) unsupported(`memory model '${model}' is not supported yet`);
  for (const [k] of dev.attrs) if (!['model', 'access', 'discard'].includes(k)) unsupported(`memory device attribute '${k}' is not supported yet`);
  const source = dev.children.find((c) => c.name === 'source');
  const target = dev.children.find((c) => c.name === 'target');
  for (const c of dev.children) if (c.name !== 'source' && c.name !== 'target') unsupported(`memory device <${c.name}> is not supported yet`);
  if (!target) unsupported('memory device without <target> is not supported');
  for (const c of children(target)) if (!['size', 'node', 'label', 'readonly'].includes(c.name)) unsupported(`memory target <${c.name}> is not supported yet`);
  for (const c of source ? children(source) : []) if (!['path', 'pmem', 'nodemask', 'pagesize'].includes(c.name)) unsupported(`memory source <${c.name}> is not supported yet`);
  const nodeText = textOf(child(target, 'node'));
  const label = child(target, 'label');
  const labelKiB = label ? scaledKiB(child(label, 'size'), './target/label/size') : 0;
  const nodemask = source ? textOf(child(source, 'nodemask')) : undefined;
  const sourceNodes = nodemask !== undefined ? parseBitmap(nodemask) ?? unsupported(`invalid nodemask '${nodemask}'`) : undefined;
  const path = source ? textOf(child(source, 'path')) : undefined;
  if (model === 'dimm' && path !== undefined) unsupported('dimm with a source path is not supported');
  if (model !== 'dimm' && path === undefined) unsupported(`${model} needs a source path`);
  return {
    dev,
    model,
    access: get('access'),
    discard: get('discard'),
    sizeKiB: alignUp(scaledKiB(child(target, 'size'), './target/size'), MODULE_ALIGN_KIB),
    labelKiB,
    targetNode: nodeText === undefined ? -1 : Number(nodeText),
    pagesizeKiB: source ? scaledKiB(child(source, 'pagesize'), './source/pagesize') : 0,
    sourceNodes,
    path,
    pmem: source ? child(source, 'pmem') !== undefined : false,
    readonly: child(target, 'readonly') !== undefined,
  };
}

/** The guest's initial (non-hotplugged) memory in KiB, aligned as libvirt aligns it at start. */
export function initialMemoryKiB(def: DomainDef): number {
  const cells = numaCellsOf(def);
  if (cells.length > 0) return cells.reduce((sum, c) => sum + cellKiB(c), 0);
  const modules = def.devices.memories.reduce((sum, m) => sum + memoryModule(m).sizeKiB, 0);
  return alignUp(def.memory - modules, MEM_ALIGN_KIB);
}

interface HugePage {
  sizeKiB: number;
  nodes?: number[];
}

function hugepagesOf(def: DomainDef): HugePage[] {
  const hp = def.memoryBacking ? child(def.memoryBacking, 'hugepages') : undefined;
  if (!hp) return [];
  const pages = children(hp, 'page');
  if (pages.length === 0) return [{ sizeKiB: 0 }];
  return pages.map((p) => {
    const ns = attr(p, 'nodeset');
    return {
      sizeKiB: parseMemoryKiB(attr(p, 'size') ?? '0', attr(p, 'unit'), './@size'),
      ...(ns !== undefined ? { nodes: parseBitmap(ns) ?? unsupported(`invalid nodeset '${ns}'`) } : {}),
    };
  });
}

function backingAttr(def: DomainDef, el: string, name: string): string | undefined {
  const e = def.memoryBacking ? child(def.memoryBacking, el) : undefined;
  return e ? attr(e, name) : undefined;
}

/** Refuses <memoryBacking> and <numatune> settings the backends below do not implement. */
export function checkMemorySupported(def: DomainDef): void {
  const mb = def.memoryBacking;
  if (mb) {
    for (const c of children(mb)) {
      if (!['hugepages', 'locked', 'source', 'access', 'allocation', 'discard'].includes(c.name)) unsupported(`<memoryBacking><${c.name}> is not supported yet`);
    }
    const source = backingAttr(def, 'source', 'type');
    if (source !== undefined && source !== 'file' && source !== 'memfd' && source !== 'anonymous') unsupported(`memory source '${source}' is not supported yet`);
    const alloc = backingAttr(def, 'allocation', 'mode');
    if (alloc !== undefined && alloc !== 'immediate' && alloc !== 'ondemand') unsupported(`memory allocation '${alloc}' is not supported yet`);
  }
  const nt = def.numatune;
  if (nt) {
    for (const c of children(nt)) {
      if (c.name !== 'memory' && c.name !== 'memnode') unsupported(`<numatune><${c.name}> is not supported yet`);
      const placement = attr(c, 'placement');
      if (placement !== undefined && placement !== 'static') unsupported(`numatune placement '${placement}' is not supported yet`);
      if (c.name === 'memory' && attr(c, 'nodeset') === undefined && attr(c, 'mode') !== 'restrictive') unsupported('numatune without a nodeset is not supported yet');
    }
  }
  for (const cell of numaCellsOf(def)) {
    for (const k of cell.attrs.keys()) {
      if (!['id', 'cpus', 'memory', 'unit', 'memAccess', 'discard'].includes(k)) unsupported(`NUMA cell attribute '${k}' is not supported yet`);
    }
    if (children(cell).some((c) => c.name !== 'cache' && c.name !== 'distances')) unsupported('NUMA cell settings are not supported yet');
  }
}

/** virDomainNumatuneGetMode + virDomainNumatuneMaybeGetNodeset for one guest node (-1: the whole guest). */
function numatuneFor(def: DomainDef, node: number): { mode: string; nodes?: number[] } {
  const nt = def.numatune;
  const global = nt ? child(nt, 'memory') : undefined;
  const memnode = node >= 0 && nt ? children(nt, 'memnode').find((m) => attr(m, 'cellid') === String(node)) : undefined;
  const el = memnode ?? global;
  const mode = attr(el, 'mode') ?? 'strict';
  const ns = attr(el, 'nodeset');
  return { mode, nodes: ns === undefined ? undefined : parseBitmap(ns) ?? undefined };
}

const POLICY: Record<string, string> = { strict: 'bind', preferred: 'preferred', interleave: 'interleave' };

interface BackendRequest {
  alias: string;
  sizeKiB: number;
  targetNode: number;
  pagesizeKiB: number;
  access?: string;
  discard?: string;
  nvdimmPath?: string;
  pmem?: boolean;
  model?: string;
  sourceNodes?: number[];
  systemMemory: boolean;
}

function hugepageMount(env: MemoryEnv, pagesizeKiB: number): HugetlbfsMount {
  if (env.hugetlbfs.length === 0) {
    throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, 'hugetlbfs filesystem is not mounted or disabled by administrator config');
  }
  const m = env.hugetlbfs.find((h) => h.sizeKiB === pagesizeKiB);
  if (!m) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, `Unable to find any usable hugetlbfs mount for ${pagesizeKiB} KiB`);
  return m;
}

/** qemuBuildMemoryGetPagesize: the huge page size backing `req`, 0 for normal pages. */
function pagesizeFor(def: DomainDef, env: MemoryEnv, req: BackendRequest): number {
  let pagesize = req.pagesizeKiB;
  let use = pagesize !== 0;
  if (pagesize === 0) {
    let master: HugePage | undefined;
    let found: HugePage | undefined;
    for (const hp of hugepagesOf(def)) {
      if (!hp.nodes) {
        master = hp;
        continue;
      }
      if (req.targetNode < 0) continue;
      if (hp.nodes.includes(req.targetNode)) {
        found = hp;
        break;
      }
    }
    const hp = found ?? master;
    if (hp) {
      pagesize = hp.sizeKiB;
      use = true;
    }
  }
  if (pagesize === env.systemPageKiB) return 0;
  if (use && pagesize === 0) {
    const d = env.hugetlbfs.find((h) => h.isDefault) ?? env.hugetlbfs[0];
    if (!d) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, 'hugetlbfs filesystem is not mounted or disabled by administrator config');
    pagesize = d.sizeKiB;
  }
  return use ? pagesize : 0;
}

function cellAttr(def: DomainDef, node: number, name: string): string | undefined {
  if (node < 0) return undefined;
  const cell = numaCellsOf(def).find((c) => attr(c, 'id') === String(node));
  return cell ? attr(cell, name) : undefined;
}

/**
 * qemuBuildMemoryBackendProps: the -object properties of one memory backend, preceded by its
 * thread-context object when preallocation is bound to host nodes.
 */
function backendObjects(def: DomainDef, caps: QemuCaps, env: MemoryEnv, req: BackendRequest): MemProps[] {
  const access = req.access ?? cellAttr(def, req.targetNode, 'memAccess') ?? backingAttr(def, 'access', 'mode');
  const discard = req.discard ?? cellAttr(def, req.targetNode, 'discard') ?? (def.memoryBacking && child(def.memoryBacking, 'discard') ? 'yes' : undefined);
  const source = backingAttr(def, 'source', 'type');
  let prealloc = backingAttr(def, 'allocation', 'mode') === 'immediate';
  const threads = backingAttr(def, 'allocation', 'threads');
  const pagesize = req.nvdimmPath ? 0 : pagesizeFor(def, env, req);
  const useHugepage = pagesize !== 0;
  const share = access === 'shared' ? true : access === 'private' ? false : undefined;
  let type: string;
  const props: MemProps = [['qom-type', ''], ['id', req.alias]];
  let disableCanonical = false;
  if (source === 'memfd' && !req.nvdimmPath) {
    type = 'memory-backend-memfd';
    if (useHugepage) {
      props.push(['hugetlb', true], ['hugetlbsize', pagesize * 1024]);
      prealloc = true;
    }
    props.push(['share', share]);
    disableCanonical = req.systemMemory;
  } else if (useHugepage || req.nvdimmPath || access || source === 'file') {
    let memPath: string;
    if (req.nvdimmPath) {
      memPath = req.nvdimmPath;
      if (!req.pmem && req.model !== 'virtio-pmem') prealloc = true;
    } else if (useHugepage) {
      memPath = `${hugepageMount(env, pagesize).mount}/libvirt/qemu/${env.domainDirName}`;
      prealloc = true;
    } else {
      memPath = `${env.memoryBackingDir}/${env.domainDirName}/${req.alias}`;
    }
    type = 'memory-backend-file';
    disableCanonical = req.systemMemory;
    props.push(['mem-path', memPath]);
    if (!req.nvdimmPath && discard !== undefined) props.push(['discard-data', discard === 'yes']);
    props.push(['share', share]);
  } else {
    type = 'memory-backend-ram';
  }
  props[0][1] = type;
  if (disableCanonical && caps.has('memory-backend-file.x-use-canonical-path-for-ramblock-id')) {
    props.push(['x-use-canonical-path-for-ramblock-id', false]);
  }
  if (prealloc) {
    props.push(['prealloc', true]);
    if (threads !== undefined) props.push(['prealloc-threads', Number(threads)]);
  }
  props.push(['size', req.sizeKiB * 1024]);
  if (req.pmem) props.push(['pmem', true]);
  let nodes = req.sourceNodes;
  let mode = 'strict';
  if (!nodes) {
    const nt = numatuneFor(def, req.targetNode);
    mode = nt.mode;
    if (mode !== 'restrictive') nodes = nt.nodes;
  }
  const out: MemProps[] = [];
  if (nodes) {
    props.push(['host-nodes', nodes], ['policy', POLICY[mode] ?? unsupported(`numatune mode '${mode}' is not supported yet`)]);
    if (prealloc && caps.has('thread-context')) {
      out.push([['qom-type', 'thread-context'], ['id', `tc-${req.alias}`], ['node-affinity', nodes]]);
      props.push(['prealloc-context', `tc-${req.alias}`]);
    }
  }
  out.push(props);
  return out;
}

/** The backend of the machine's default RAM (`-machine memory-backend=<ramId>`), no NUMA. */
export function systemMemoryObjects(def: DomainDef, caps: QemuCaps, env: MemoryEnv, ramId: string): MemProps[] {
  return backendObjects(def, caps, env, { alias: ramId, sizeKiB: initialMemoryKiB(def), targetNode: -1, pagesizeKiB: 0, systemMemory: true });
}

/**
 * Whether the cells can use the legacy `-numa node,mem=` form: the machine type still takes it and
 * no cell needs anything only a backend object gives (huge pages, host binding, access mode, a
 * memory source). Configurations between the two forms (global huge pages via -mem-path) are refused.
 */
export function legacyNumaMem(def: DomainDef, caps: QemuCaps): boolean {
  const machine = caps.findMachine(def.type, def.os.machine ?? 'pc');
  if (!machine?.numaMemSupported) return false;
  const source = backingAttr(def, 'source', 'type');
  if (source === 'file' || source === 'memfd' || backingAttr(def, 'access', 'mode') !== undefined) return false;
  const pages = hugepagesOf(def);
  const nt = def.numatune;
  for (const cell of numaCellsOf(def)) {
    const id = Number(attr(cell, 'id') ?? '0');
    if (attr(cell, 'memAccess') !== undefined) return false;
    if (pages.some((p) => p.nodes?.includes(id))) return false;
    if (nt && children(nt, 'memnode').some((m) => attr(m, 'cellid') === String(id) && attr(m, 'nodeset') !== undefined)) return false;
  }
  // (discard only ever applies to file-backed memory, which the legacy form never is)
  if (pages.length > 0 || def.devices.memories.length > 0) {
    unsupported('huge pages or memory modules with the legacy NUMA memory option are not supported yet');
  }
  return true;
}

/** The backend of one NUMA cell (ram-node<id>). */
export function numaCellObjects(def: DomainDef, caps: QemuCaps, env: MemoryEnv, cell: XmlElement): MemProps[] {
  const id = Number(attr(cell, 'id') ?? '0');
  return backendObjects(def, caps, env, { alias: `ram-node${id}`, sizeKiB: cellKiB(cell), targetNode: id, pagesizeKiB: 0, systemMemory: false });
}

/** qemuBuildMemoryDeviceCommandLine for one module: its backend objects and its -device properties (no address). */
export function memoryDeviceArgs(def: DomainDef, caps: QemuCaps, env: MemoryEnv, dev: SimpleDeviceDef): { objects: MemProps[]; device: MemProps } {
  const m = memoryModule(dev);
  const alias = dev.info.alias;
  if (!alias) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, 'missing alias for memory device');
  const objects = backendObjects(def, caps, env, {
    alias: `mem${alias}`,
    sizeKiB: m.sizeKiB,
    targetNode: m.targetNode,
    pagesizeKiB: m.pagesizeKiB,
    access: m.access,
    discard: m.discard,
    nvdimmPath: m.path,
    pmem: m.pmem,
    model: m.model,
    sourceNodes: m.sourceNodes,
    systemMemory: false,
  });
  const driver = m.model === 'dimm' ? 'pc-dimm' : m.model === 'nvdimm' ? 'nvdimm' : 'virtio-pmem-pci';
  const device: MemProps = [
    ['driver', driver],
    ['node', m.targetNode >= 0 ? m.targetNode : undefined],
    ['label-size', m.labelKiB ? m.labelKiB * 1024 : undefined],
    ['unarmed', m.readonly ? true : undefined],
    ['memdev', `mem${alias}`],
    ['id', alias],
  ];
  return { objects, device };
}

/** Memory module aliases: dimm<slot>, nvdimm<slot>, virtiopmem<n> (qemuAssignDeviceMemoryAlias). */
export function memoryAlias(dev: SimpleDeviceDef, index: number): string {
  const model = dev.attrs.find(([n]) => n === 'model')?.[1];
  const slot = dev.info.address?.attrs.find(([k]) => k === 'slot')?.[1];
  if (model === 'virtio-pmem') return `virtiopmem${index}`;
  const prefix = model === 'nvdimm' ? 'nvdimm' : 'dimm';
  return `${prefix}${slot !== undefined ? Number(slot) : index}`;
}
