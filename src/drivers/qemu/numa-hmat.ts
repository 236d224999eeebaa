// The guest's Heterogeneous Memory Attribute Table (ACPI HMAT): per-node memory-side caches and
// the latency/bandwidth between initiator and target nodes, as libvirt's <cpu><numa> describes
// them (<cell><cache>, <interconnects>) and qemuBuildNumaHMATCommandLine hands them to QEMU.
import { parseMemoryKiB, parseScaledBytes } from '../../conf/units';
import { attr, child, children, type XmlElement } from '../../conf/xml';
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, VIR_FROM_QEMU, virError } from '../../error';

export interface HmatInterconnect {
  kind: 'latency' | 'bandwidth';
  initiator: number;
  target: number;
  /** Cache level the figure is for; 0: the memory itself. */
  cache: number;
  /** access, read or write. */
  access: string;
  /** Latency in nanoseconds, bandwidth in KiB/s. */
  value: number;
}

export interface HmatCache {
  level: number;
  /** none, direct or full. */
  associativity: string;
  /** none, writeback or writethrough. */
  policy: string;
  sizeKiB: number;
  lineBytes: number;
}

function xmlError(message: string): never {
  throw virError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, message);
}

function uintAttr(el: XmlElement, name: string, where: string): number {
  const v = attr(el, name);
  if (v === undefined) xmlError(`Missing '${name}' attribute in ${where}`);
  if (!/^[0-9]+$/.test(v) || Number(v) > 0xffffffff) xmlError(`Invalid '${name}' attribute value '${v}' in ${where}`);
  return Number(v);
}

function enumAttr(el: XmlElement, name: string, values: readonly string[], where: string): string {
  const v = attr(el, name);
  if (v === undefined) xmlError(`Missing '${name}' attribute in ${where}`);
  if (!values.includes(v)) xmlError(`Invalid '${name}' attribute value '${v}' in ${where}`);
  return v;
}

/** virDomainNumaDefNodeCacheParseXML: the <cache> elements of one <cell>. */
export function cellCaches(cell: XmlElement): HmatCache[] {
  return children(cell, 'cache').map((c) => {
    const size = child(c, 'size');
    const line = child(c, 'line');
    if (!size) xmlError('missing cache size');
    if (!line) xmlError('missing cache line');
    const sizeKiB = parseMemoryKiB(attr(size, 'value') ?? '', attr(size, 'unit'), './size/@value');
    const lineBytes = Number(parseScaledBytes(attr(line, 'value') ?? '', attr(line, 'unit') ?? 'B', 1n, './line/@value'));
    return {
      level: uintAttr(c, 'level', 'NUMA cell cache'),
      associativity: enumAttr(c, 'associativity', ['none', 'direct', 'full'], 'NUMA cell cache'),
      policy: enumAttr(c, 'policy', ['none', 'writeback', 'writethrough'], 'NUMA cell cache'),
      sizeKiB,
      lineBytes,
    };
  });
}

/** virDomainNumaDefParseXML's <interconnects>: each <latency> and <bandwidth>, in order. */
export function numaInterconnects(numa: XmlElement | undefined, cells: XmlElement[]): HmatInterconnect[] {
  const el = numa ? child(numa, 'interconnects') : undefined;
  if (!el) return [];
  return children(el).map((ic) => {
    if (ic.name !== 'latency' && ic.name !== 'bandwidth') xmlError(`unsupported element <${ic.name}> in <interconnects>`);
    const where = `NUMA interconnect <${ic.name}>`;
    const initiator = uintAttr(ic, 'initiator', where);
    const target = uintAttr(ic, 'target', where);
    const cache = attr(ic, 'cache') === undefined ? 0 : uintAttr(ic, 'cache', where);
    const access = enumAttr(ic, 'type', ['access', 'read', 'write'], where);
    const value = ic.name === 'latency'
      ? uintAttr(ic, 'value', where)
      : parseMemoryKiB(attr(ic, 'value') ?? xmlError(`Missing 'value' attribute in ${where}`), attr(ic, 'unit'), './@value');
    const out: HmatInterconnect = { kind: ic.name as HmatInterconnect['kind'], initiator, target, cache, access, value };
    validateInterconnect(out, cells);
    return out;
  });
}

/** virDomainNumaDefValidate's checks on one interconnect. */
function validateInterconnect(ic: HmatInterconnect, cells: XmlElement[]): void {
  for (const node of [ic.initiator, ic.target]) {
    if (node >= cells.length) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, `'${node}' is out of range of NUMA nodes`);
  }
  if (attr(cells[ic.initiator], 'cpus') === undefined) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, `NUMA nodes without CPUs can't be initiator. NUMA node ${ic.initiator} doesn't have any CPUs`);
  }
  if (ic.cache > 0 && !cellCaches(cells[ic.target]).some((c) => c.level === ic.cache)) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, `'cache' refers to a non-existent NUMA node cache`);
  }
}

/** Whether the guest has an HMAT: some interconnect (as numaInterconnects gives them) or cell cache. */
export function hasHmat(cells: XmlElement[], interconnects: HmatInterconnect[]): boolean {
  return interconnects.length > 0 || cells.some((c) => children(c, 'cache').length > 0);
}

/**
 * virDomainNumaGetNodeInitiator: a node with CPUs initiates its own accesses; otherwise the
 * initiator with the lowest latency to it, failing that the one with the highest bandwidth; -1
 * when nothing says.
 */
export function nodeInitiator(cells: XmlElement[], interconnects: HmatInterconnect[], node: number): number {
  if (attr(cells[node], 'cpus') !== undefined) return node;
  let latency: HmatInterconnect | undefined;
  let bandwidth: HmatInterconnect | undefined;
  for (const ic of interconnects) {
    if (ic.target !== node) continue;
    if (ic.kind === 'latency' && (!latency || ic.value < latency.value)) latency = ic;
    if (ic.kind === 'bandwidth' && ic.value > (bandwidth?.value ?? 0)) bandwidth = ic;
  }
  return latency?.initiator ?? bandwidth?.initiator ?? -1;
}

const HIERARCHY = ['memory', 'first-level', 'second-level', 'third-level'];
const ASSOCIATIVITY: Record<string, string> = { none: 'none', direct: 'direct', full: 'complex' };
const POLICY: Record<string, string> = { none: 'none', writeback: 'write-back', writethrough: 'write-through' };

/** qemuBuildNumaHMATCommandLine: the `-numa hmat-lb` and `-numa hmat-cache` values. */
export function hmatNumaArgs(cells: XmlElement[], interconnects: HmatInterconnect[]): string[] {
  const out: string[] = [];
  for (const ic of interconnects) {
    const hierarchy = HIERARCHY[ic.cache];
    if (hierarchy === undefined) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported HMAT cache level '${ic.cache}'`);
    const figure = ic.kind === 'latency' ? `latency,latency=${ic.value}` : `bandwidth,bandwidth=${ic.value}K`;
    out.push(`hmat-lb,initiator=${ic.initiator},target=${ic.target},hierarchy=${hierarchy},data-type=${ic.access}-${figure}`);
  }
  cells.forEach((cell, i) => {
    for (const c of cellCaches(cell)) {
      let arg = `hmat-cache,node-id=${i},size=${c.sizeKiB}K,level=${c.level},associativity=${ASSOCIATIVITY[c.associativity]},policy=${POLICY[c.policy]}`;
      if (c.lineBytes > 0) arg += `,line=${c.lineBytes}`;
      out.push(arg);
    }
  });
  return out;
}
