// DomainDef -> libvirt 9.0's canonical domain XML (virDomainDefFormatInternal): element and
// attribute order, defaults written out, two-space indentation, live vs inactive output.
import { VIR_DOMAIN_XML_INACTIVE, VIR_DOMAIN_XML_MIGRATABLE, VIR_DOMAIN_XML_SECURE } from '../constants';
import { pciAddressXmlAttrs } from '../util/pci';
import type {
  AttrList,
  ChrDef,
  ControllerDef,
  DeviceAddress,
  DeviceInfo,
  DiskDef,
  DomainDef,
  DomainDeviceDef,
  GenericElement,
  GraphicsDef,
  HostdevDef,
  InputDef,
  NetDef,
  SimpleDeviceDef,
  TeamingInfo,
} from './domain-def';
import { type Attrs, escapeXML, textOf, type XmlElement, XmlWriter } from './xml';

interface FormatCtx {
  inactive: boolean;
  secure: boolean;
  migratable: boolean;
}

// Read once: ctxOf runs per document, and an imported binding may be a getter call per read.
const XML_INACTIVE = VIR_DOMAIN_XML_INACTIVE;
const XML_SECURE = VIR_DOMAIN_XML_SECURE;
const XML_MIGRATABLE = VIR_DOMAIN_XML_MIGRATABLE;

function ctxOf(flags: number): FormatCtx {
  return {
    // MIGRATABLE does not imply INACTIVE (virDomainDefFormatConvertXMLFlags); what it drops is
    // driver-specific (the QEMU driver removes its implicit devices) and done by the driver.
    inactive: (flags & XML_INACTIVE) !== 0,
    secure: (flags & XML_SECURE) !== 0,
    migratable: (flags & XML_MIGRATABLE) !== 0,
  };
}

/** Interface names libvirt generates itself and leaves out of inactive XML. */
const GENERATED_IFNAME_PREFIXES = ['vnet', 'macvtap', 'macvlan'];

export function formatAddress(w: XmlWriter, addr: DeviceAddress, withType = true): void {
  const list: Array<[string, string | undefined]> = withType ? [['type', addr.type]] : [];
  if (addr.pci) list.push(...pciAddressXmlAttrs(addr.pci));
  else list.push(...addr.attrs);
  if (addr.children?.length) {
    w.element('address', list, (c) => {
      for (const k of addr.children!) c.node(k);
    });
  } else {
    w.empty('address', list);
  }
}

function formatInfo(w: XmlWriter, info: DeviceInfo, ctx: FormatCtx): void {
  if (info.bootOrder !== undefined) w.empty('boot', [['order', info.bootOrder], ['loadparm', info.loadparm]]);
  if (info.alias !== undefined && (!ctx.inactive || info.alias.startsWith('ua-'))) {
    w.empty('alias', [['name', info.alias]]);
  }
  if (info.masterStartport !== undefined) w.empty('master', [['startport', info.masterStartport]]);
  if (info.rom?.length) w.empty('rom', info.rom);
  if (info.acpiIndex !== undefined) w.empty('acpi', [['index', info.acpiIndex]]);
  if (info.address) formatAddress(w, info.address);
}

function generic(w: XmlWriter, name: string, g: GenericElement | undefined): void {
  if (!g) return;
  if (g.children.length === 0) {
    w.empty(name, g.attrs);
    return;
  }
  w.open(name, g.attrs);
  for (const k of g.children) w.node(k);
  w.close(name);
}

/** Writes `extra` elements whose names come before `upTo` in `order`, removing them from the queue. */
class ExtraQueue {
  /** Shared by every element without extras, which is most of them: it never changes. */
  private static readonly none = new ExtraQueue([], []);

  private items: XmlElement[];

  private constructor(
    items: XmlElement[],
    private readonly order: readonly string[],
  ) {
    this.items = items.length > 1 ? [...items].sort((a, b) => this.rank(a.name) - this.rank(b.name)) : items;
  }

  static of(items: XmlElement[], order: readonly string[]): ExtraQueue {
    return items.length === 0 ? ExtraQueue.none : new ExtraQueue(items, order);
  }

  private rank(name: string): number {
    const i = this.order.indexOf(name);
    return i < 0 ? this.order.length : i;
  }

  /** Flushes every pending element ranked before `name`. */
  before(w: XmlWriter, name: string): void {
    if (this.items.length === 0) return;
    const limit = this.rank(name);
    const keep: XmlElement[] = [];
    for (const el of this.items) {
      if (this.rank(el.name) < limit) w.node(el);
      else keep.push(el);
    }
    this.items = keep;
  }

  rest(w: XmlWriter): void {
    if (this.items.length === 0) return;
    for (const el of this.items) if (this.rank(el.name) < this.order.length) w.node(el);
    this.items = [];
  }
}

/** HTTP cookies of network disks are secrets: written only with VIR_DOMAIN_XML_SECURE. */
function withoutCookies(el: XmlElement): XmlElement {
  const kids = el.children.filter((c) => (c as XmlElement).name !== 'cookies');
  return {
    ...el,
    children: kids.map((c) => ((c as XmlElement).name !== undefined ? withoutCookies(c as XmlElement) : c)),
  };
}

const DISK_CHILD_ORDER = [
  'driver', 'auth', 'source', 'backingStore', 'backenddomain', 'geometry', 'blockio', 'mirror', 'target',
  'iotune', 'readonly', 'shareable', 'transient', 'serial', 'wwn', 'vendor', 'product', 'encryption',
] as const;

function formatDisk(w: XmlWriter, d: DiskDef, ctx: FormatCtx): void {
  // snapshot='no' goes without saying for read-only disks.
  const attrs = d.readonly ? d.attrs.filter(([k, v]) => k !== 'snapshot' || v !== 'no') : d.attrs;
  w.open('disk', [['type', d.type], ['device', d.device], ...attrs]);
  const q = ExtraQueue.of(d.extra, DISK_CHILD_ORDER);
  generic(w, 'driver', d.driver);
  q.before(w, 'source');
  if (d.source) {
    const src = d.source;
    w.element(
      'source',
      src.attrs,
      (b) => {
        for (const k of src.children) if (ctx.secure || k.name !== 'cookies') b.node(k);
      },
      true,
    );
  }
  if (d.backingStore) w.node(ctx.secure ? d.backingStore : withoutCookies(d.backingStore));
  q.before(w, 'target');
  w.empty('target', [
    ['dev', d.target.dev],
    ['bus', d.target.bus],
    ['tray', d.target.tray],
    ['removable', d.target.removable],
    ['rotation_rate', d.target.rotationRate],
  ]);
  q.before(w, 'readonly');
  if (d.readonly) w.empty('readonly');
  if (d.shareable) w.empty('shareable');
  if (d.transient) w.empty('transient', d.transient);
  w.leaf('serial', d.serial);
  w.leaf('wwn', d.wwn);
  w.leaf('vendor', d.vendor);
  w.leaf('product', d.product);
  q.rest(w);
  formatInfo(w, d.info, ctx);
  w.close('disk');
}

function formatController(w: XmlWriter, c: ControllerDef, ctx: FormatCtx): void {
  const attrs: Attrs = [['type', c.type], ['index', c.index < 0 ? undefined : c.index], ['model', c.model], ...c.attrs];
  const info = c.info;
  const hasInfo = info.alias !== undefined || info.address !== undefined || info.masterStartport !== undefined ||
    info.bootOrder !== undefined || info.rom !== undefined || info.acpiIndex !== undefined;
  if (c.modelName === undefined && !c.target && !c.driver && c.extra.length === 0 && !hasInfo) {
    w.empty('controller', attrs);
    return;
  }
  w.open('controller', attrs);
  if (c.modelName !== undefined) w.empty('model', [['name', c.modelName]]);
  if (c.target) generic(w, 'target', c.target);
  if (c.driver) generic(w, 'driver', c.driver);
  for (const e of c.extra) w.node(e);
  formatInfo(w, info, ctx);
  w.close('controller');
}

/** virDomainNetTeamingInfoFormat */
export function formatTeaming(w: XmlWriter, t: TeamingInfo | undefined): void {
  if (!t) return;
  w.empty('teaming', [['type', t.type], ['persistent', t.persistent]]);
}

const NET_CHILD_ORDER = [
  'source', 'vlan', 'virtualport', 'bandwidth', 'port', 'ip', 'route', 'script', 'downscript', 'backenddomain',
  'target', 'guest', 'model', 'driver', 'backend', 'filterref', 'tune', 'teaming', 'link', 'mtu', 'coalesce',
] as const;

function formatInterface(w: XmlWriter, n: NetDef, ctx: FormatCtx): void {
  const attrs: Attrs = [
    ['type', n.type],
    ['managed', n.type === 'hostdev' && n.managed ? 'yes' : undefined],
    ['trustGuestRxFilters', n.trustGuestRxFilters],
  ];
  w.open('interface', attrs);
  if (n.mac !== undefined) w.empty('mac', [['address', n.mac], ...(n.macAttrs ?? [])]);
  const q = ExtraQueue.of(n.extra, NET_CHILD_ORDER);
  if (n.type === 'hostdev') {
    if (n.driver) generic(w, 'driver', n.driver);
    if (n.hostdevAddress) {
      w.open('source');
      formatAddress(w, n.hostdevAddress);
      w.close('source');
    }
  } else if (n.source) {
    generic(w, 'source', n.source);
  }
  q.before(w, 'target');
  if (n.target && !(ctx.inactive && GENERATED_IFNAME_PREFIXES.some((p) => n.target!.dev.startsWith(p)))) {
    w.empty('target', [['dev', n.target.dev], ['managed', n.target.managed]]);
  }
  q.before(w, 'model');
  if (n.model !== undefined) w.empty('model', [['type', n.model]]);
  if (n.type !== 'hostdev' && n.driver) generic(w, 'driver', n.driver);
  q.before(w, 'teaming');
  formatTeaming(w, n.teaming);
  if (n.linkState !== undefined) w.empty('link', [['state', n.linkState]]);
  if (n.mtu !== undefined) w.empty('mtu', [['size', n.mtu]]);
  q.rest(w);
  formatInfo(w, n.info, ctx);
  w.close('interface');
}

function formatHostdev(w: XmlWriter, h: HostdevDef, ctx: FormatCtx): void {
  const attrs: Attrs = [
    ['mode', h.mode],
    ['type', h.type],
    ['managed', h.mode === 'subsystem' ? (h.managed ? 'yes' : 'no') : undefined],
    ...h.attrs,
  ];
  w.open('hostdev', attrs);
  generic(w, 'driver', h.driver);
  w.element(
    'source',
    // A missing USB device is a fact about one run, not part of the definition.
    ctx.inactive ? h.sourceAttrs.filter(([k]) => k !== 'missing') : h.sourceAttrs,
    (s) => {
      if (h.pciAddress) s.empty('address', pciAddressXmlAttrs(h.pciAddress));
      for (const c of h.sourceChildren) s.node(c);
    },
  );
  formatTeaming(w, h.teaming);
  if (h.readonly) w.empty('readonly');
  if (h.shareable) w.empty('shareable');
  for (const e of h.extra) w.node(e);
  formatInfo(w, h.info, ctx);
  w.close('hostdev');
}

function formatChr(w: XmlWriter, c: ChrDef, ctx: FormatCtx): void {
  const pty = c.type === 'pty';
  const attrs: Attrs = [['type', c.type], ['tty', pty && !ctx.inactive && c.kind === 'console' ? c.tty : undefined]];
  w.open(c.kind, attrs);
  // A UNIX socket without a path is one the driver picks at start: nothing to write yet.
  const sources = c.type === 'unix' ? c.sources.filter((s) => s.attrs.has('path')) : c.sources;
  if (!(pty && ctx.inactive)) for (const s of sources) w.node(s);
  if (c.protocol !== undefined) w.empty('protocol', [['type', c.protocol]]);
  if (c.log) w.empty('log', c.log);
  generic(w, 'target', c.target);
  for (const e of c.extra) w.node(e);
  formatInfo(w, c.info, ctx);
  w.close(c.kind);
}

function formatInput(w: XmlWriter, i: InputDef, ctx: FormatCtx): void {
  w.element('input', [['type', i.type], ['bus', i.bus], ['model', i.model]], (b) => {
    generic(b, 'driver', i.driver);
    generic(b, 'source', i.source);
    formatInfo(b, i.info, ctx);
  });
}

function formatGraphics(w: XmlWriter, g: GraphicsDef, ctx: FormatCtx): void {
  const list: Array<[string, string | number | undefined]> = [['type', g.type]];
  const first = g.listens[0];
  const listenType = first?.find(([k]) => k === 'type')?.[1];
  const firstAddress = first?.find(([k]) => k === 'address')?.[1];
  const firstSocket = first?.find(([k]) => k === 'socket')?.[1];
  if (g.type === 'vnc' || g.type === 'spice' || g.type === 'rdp') {
    if (listenType === 'socket') {
      if (g.type === 'vnc' && firstSocket !== undefined) list.push(['socket', firstSocket]);
    } else if (listenType === 'address' || listenType === 'network') {
      const hidePorts = g.autoport === true && ctx.inactive;
      if (g.port !== undefined && g.port > 0 && !hidePorts) list.push(['port', g.port]);
      else if (g.autoport && g.type === 'vnc') list.push(['port', -1]);
      if (g.tlsPort !== undefined && g.tlsPort > 0 && !hidePorts) list.push(['tlsPort', g.tlsPort]);
      list.push(['autoport', g.autoport ? 'yes' : 'no']);
      if (g.websocket !== undefined) list.push(['websocket', g.websocket]);
      if (firstAddress !== undefined) list.push(['listen', firstAddress]);
    }
  }
  for (const [k, v] of g.attrs) if (k !== 'passwd' || ctx.secure) list.push([k, v]);
  w.element('graphics', list, (b) => {
    for (const l of g.listens) b.empty('listen', l);
    for (const c of g.children) b.node(c);
  });
}

/** Where a device's info goes when the XML did not place it: memballoon's after its <stats>. */
function defaultInfoPos(d: SimpleDeviceDef): number {
  if (d.kind !== 'memballoon') return d.children.length;
  const at = d.children.findIndex((c) => c.name !== 'stats');
  return at < 0 ? d.children.length : at;
}

/** Devices libvirt writes with an end tag even when they have no children. */
const ALWAYS_OPEN = new Set(['redirdev']);

function formatSimple(w: XmlWriter, d: SimpleDeviceDef, ctx: FormatCtx): void {
  const pos = d.infoPos ?? defaultInfoPos(d);
  const body = (b: XmlWriter): void => {
    for (let i = 0; i < d.children.length; i++) {
      if (i === pos) formatInfo(b, d.info, ctx);
      b.node(d.children[i]);
    }
    if (pos >= d.children.length) formatInfo(b, d.info, ctx);
  };
  if (ALWAYS_OPEN.has(d.kind)) {
    w.open(d.kind, d.attrs);
    body(w);
    w.close(d.kind);
  } else {
    w.element(d.kind, d.attrs, body, true);
  }
}

/** Writes one device element at the writer's depth. */
export function formatDevice(w: XmlWriter, dev: DomainDeviceDef, ctx: FormatCtx): void {
  switch (dev.kind) {
    case 'disk':
      return formatDisk(w, dev as DiskDef, ctx);
    case 'controller':
      return formatController(w, dev as ControllerDef, ctx);
    case 'interface':
      return formatInterface(w, dev as NetDef, ctx);
    case 'hostdev':
      return formatHostdev(w, dev as HostdevDef, ctx);
    case 'serial':
    case 'parallel':
    case 'console':
    case 'channel':
      return formatChr(w, dev as ChrDef, ctx);
    case 'input':
      return formatInput(w, dev as InputDef, ctx);
    case 'graphics':
      return formatGraphics(w, dev as GraphicsDef, ctx);
    default:
      return formatSimple(w, dev as SimpleDeviceDef, ctx);
  }
}

/** A device on its own (virDomainDeviceDefFormat-like), e.g. for events or hotplug. */
export function formatDeviceXML(dev: DomainDeviceDef, flags = 0): string {
  const w = new XmlWriter();
  formatDevice(w, dev, ctxOf(flags));
  return w.toString();
}

function formatList(w: XmlWriter, ctx: FormatCtx, list: readonly DomainDeviceDef[]): void {
  for (let i = 0; i < list.length; i++) formatDevice(w, list[i], ctx);
}

/** <devices>, at the domain's top level (depth 1). */
function formatDevices(w: XmlWriter, def: DomainDef, ctx: FormatCtx): void {
  const d = def.devices;
  w.append('  <devices>\n').indent();
  w.leaf('emulator', d.emulator);
  const each = formatList;
  each(w, ctx, d.disks);
  each(w, ctx, d.controllers);
  each(w, ctx, d.leases);
  each(w, ctx, d.filesystems);
  each(w, ctx, d.interfaces);
  each(w, ctx, d.smartcards);
  each(w, ctx, d.serials);
  each(w, ctx, d.parallels);
  each(w, ctx, d.consoles);
  each(w, ctx, d.channels);
  each(w, ctx, d.inputs);
  each(w, ctx, d.tpms);
  each(w, ctx, d.graphics);
  each(w, ctx, d.sounds);
  each(w, ctx, d.audios);
  each(w, ctx, d.videos);
  each(w, ctx, d.hostdevs);
  each(w, ctx, d.redirdevs);
  each(w, ctx, d.redirfilters);
  each(w, ctx, d.hubs);
  each(w, ctx, d.watchdogs);
  if (d.memballoon) formatDevice(w, d.memballoon, ctx);
  each(w, ctx, d.rngs);
  if (d.nvram) formatDevice(w, d.nvram, ctx);
  each(w, ctx, d.panics);
  each(w, ctx, d.shmems);
  each(w, ctx, d.memories);
  if (d.iommu) formatDevice(w, d.iommu, ctx);
  if (d.vsock) formatDevice(w, d.vsock, ctx);
  each(w, ctx, d.cryptos);
  w.unindent().append('  </devices>\n');
}

/** libvirt's virDomainFeature enum order. */
export const FEATURE_ORDER = [
  'acpi', 'apic', 'pae', 'hap', 'viridian', 'privnet', 'hyperv', 'kvm', 'pvspinlock', 'capabilities', 'pmu',
  'vmport', 'gic', 'smm', 'ioapic', 'hpt', 'vmcoreinfo', 'htm', 'nested-hv', 'msrs', 'ccf-assist', 'xen', 'cfpc',
  'sbbc', 'ibs', 'tcg', 'async-teardown',
] as const;

const OS_EXTRA_ORDER = ['type', 'firmware', 'init', 'loader', 'nvram', 'kernel', 'acpi', 'boot', 'bootmenu', 'bios', 'smbios'];

/** <os>, at the domain's top level (depth 1). */
function formatOs(w: XmlWriter, def: DomainDef): void {
  const os = def.os;
  const firmware = os.firmware === undefined ? '' : ` firmware='${escapeXML(os.firmware)}'`;
  const arch = os.arch === undefined ? '' : ` arch='${escapeXML(os.arch)}'`;
  const machine = os.machine === undefined ? '' : ` machine='${escapeXML(os.machine)}'`;
  w.append(`  <os${firmware}>\n    <type${arch}${machine}>${os.type}</type>\n`).indent();
  const q = ExtraQueue.of(os.extra, OS_EXTRA_ORDER);
  q.before(w, 'init');
  w.leaf('init', os.init);
  if (os.initargs) for (const a of os.initargs) w.leaf('initarg', a);
  q.before(w, 'loader');
  if (os.loader) {
    if (os.loader.path !== undefined) w.leaf('loader', os.loader.path, os.loader.attrs);
    else w.empty('loader', os.loader.attrs);
  }
  if (os.nvram) {
    const nv = os.nvram;
    if (nv.children.length) {
      w.element('nvram', nv.attrs, (b) => {
        for (const c of nv.children) b.node(c);
      });
    } else if (nv.path !== undefined) {
      w.leaf('nvram', nv.path, nv.attrs);
    } else {
      w.empty('nvram', nv.attrs);
    }
  }
  w.leaf('kernel', os.kernel);
  w.leaf('initrd', os.initrd);
  w.leaf('cmdline', os.cmdline);
  w.leaf('dtb', os.dtb);
  w.leaf('root', os.root);
  q.before(w, 'boot');
  if (!def.bootloader) for (const b of os.boot) w.append(`    <boot dev='${b}'/>\n`);
  if (os.bootmenu) w.empty('bootmenu', os.bootmenu);
  q.rest(w);
  w.unindent().append('  </os>\n');
}

function formatFeatures(w: XmlWriter, features: Map<string, XmlElement> | undefined): void {
  if (!features || features.size === 0) return;
  w.open('features');
  for (const name of FEATURE_ORDER) {
    const f = features.get(name);
    if (!f) continue;
    if (name === 'hyperv' && f.children.every((c) => (c as XmlElement).name === undefined)) {
      // libvirt always writes <hyperv> with an end tag
      w.open('hyperv', [...f.attrs]);
      w.close('hyperv');
    } else {
      w.node(f);
    }
  }
  w.close('features');
}

function libxmlEscape(text: string, inAttr: boolean): string {
  let out = '';
  for (const ch of text) {
    switch (ch) {
      case '<':
        out += '&lt;';
        break;
      case '>':
        out += '&gt;';
        break;
      case '&':
        out += '&amp;';
        break;
      case '"':
        out += inAttr ? '&quot;' : ch;
        break;
      case '\r':
        out += '&#13;';
        break;
      case '\n':
        out += inAttr ? '&#10;' : ch;
        break;
      case '\t':
        out += inAttr ? '&#9;' : ch;
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/**
 * <metadata> content is written by libxml2 (xmlNodeDump) in libvirt: double-quoted attributes,
 * two-space indentation, text-only elements on one line.
 */
function formatForeign(w: XmlWriter, el: XmlElement): void {
  let attrs = '';
  for (const [k, v] of el.attrs) attrs += ` ${k}="${libxmlEscape(v, true)}"`;
  const kids = el.children.filter((c): c is XmlElement => (c as XmlElement).name !== undefined);
  if (kids.length === 0) {
    const text = textOf(el) ?? '';
    if (text === '') w.raw(`<${el.name}${attrs}/>`);
    else w.raw(`<${el.name}${attrs}>${libxmlEscape(text, false)}</${el.name}>`);
    return;
  }
  w.raw(`<${el.name}${attrs}>`);
  const inner = new XmlWriter(1);
  for (const k of kids) formatForeign(inner, k);
  for (const line of inner.toString().split('\n')) if (line !== '') w.raw(line);
  w.raw(`</${el.name}>`);
}

function formatMetadata(w: XmlWriter, metadata: XmlElement | undefined): void {
  if (!metadata) return;
  w.open('metadata');
  for (const c of metadata.children) if ((c as XmlElement).name !== undefined) formatForeign(w, c as XmlElement);
  w.close('metadata');
}

function nodeIf(w: XmlWriter, el: XmlElement | undefined): void {
  if (el) w.node(el);
}

/**
 * virDomainDefFormat. `live.id` is written on the root unless the XML is inactive.
 *
 * The elements every domain has are written as literal lines with their indentation, in as few
 * string pieces as possible; the rest goes through the writer at depth 1. Enum values (the domain
 * type, vcpu placement, OS type, boot devices, lifecycle actions) and the canonical UUID cannot
 * hold markup and are written unescaped, as libvirt writes them.
 */
export function formatDomainXML(def: DomainDef, flags = 0, live?: { id?: number }): string {
  const ctx = ctxOf(flags);
  const w = new XmlWriter(1);
  let rootAttrs = '';
  if (!ctx.inactive && live?.id !== undefined && live.id >= 0) rootAttrs += ` id='${live.id}'`;
  for (const [k, v] of def.namespaces) rootAttrs += ` ${k}='${escapeXML(v)}'`;
  w.append(`<domain type='${def.type}'${rootAttrs}>\n  <name>${escapeXML(def.name)}</name>\n  <uuid>${def.uuid}</uuid>\n`);
  if (def.genid !== undefined) {
    if (def.genid === '') w.empty('genid');
    else w.leaf('genid', def.genid);
  }
  w.leaf('title', def.title);
  w.leaf('description', def.description);
  formatMetadata(w, def.metadata);
  if (def.maxMemory) w.append(`  <maxMemory slots='${def.maxMemory.slots}' unit='KiB'>${def.maxMemory.kib}</maxMemory>\n`);
  const dumpCore = def.memoryDumpCore === undefined ? '' : ` dumpCore='${escapeXML(def.memoryDumpCore)}'`;
  w.append(
    `  <memory${dumpCore} unit='KiB'>${def.memory}</memory>\n  <currentMemory unit='KiB'>${def.currentMemory}</currentMemory>\n`,
  );
  nodeIf(w, def.blkiotune);
  nodeIf(w, def.memtune);
  nodeIf(w, def.memoryBacking);
  const vcpu = def.vcpu;
  let vcpuAttrs = '';
  if (vcpu.cpuset !== undefined) vcpuAttrs += ` cpuset='${escapeXML(vcpu.cpuset)}'`;
  if (vcpu.current !== undefined && vcpu.current !== vcpu.count) vcpuAttrs += ` current='${vcpu.current}'`;
  w.append(`  <vcpu placement='${vcpu.placement}'${vcpuAttrs}>${vcpu.count}</vcpu>\n`);
  nodeIf(w, def.vcpus);
  nodeIf(w, def.iothreads);
  nodeIf(w, def.iothreadids);
  nodeIf(w, def.cputune);
  nodeIf(w, def.numatune);
  nodeIf(w, def.resource);
  for (const s of def.sysinfo) w.node(s);
  w.leaf('bootloader', def.bootloader);
  w.leaf('bootloader_args', def.bootloaderArgs);
  formatOs(w, def);
  nodeIf(w, def.idmap);
  formatFeatures(w, def.features);
  nodeIf(w, def.cpu);
  w.node(def.clock);
  const lockfailure = def.onLockfailure === undefined ? '' : `  <on_lockfailure>${def.onLockfailure}</on_lockfailure>\n`;
  w.append(
    `  <on_poweroff>${def.onPoweroff}</on_poweroff>\n  <on_reboot>${def.onReboot}</on_reboot>\n  <on_crash>${def.onCrash}</on_crash>\n${lockfailure}`,
  );
  nodeIf(w, def.pm);
  nodeIf(w, def.perf);
  formatDevices(w, def, ctx);
  for (const s of def.seclabels) w.node(s);
  nodeIf(w, def.keywrap);
  nodeIf(w, def.launchSecurity);
  for (const n of def.namespaced) w.node(n);
  w.append('</domain>\n');
  return w.toString();
}

export type { FormatCtx };
export { ctxOf as formatContext };
export type { AttrList };
