// Domain XML -> DomainDef, following libvirt 9.0's virDomainDefParseXML: same defaults, same error
// codes and texts. Elements libvirt knows but virtnode does not interpret are kept as parsed.
import {
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_NO_NAME,
  VIR_ERR_NO_TARGET,
  VIR_ERR_XML_DETAIL,
  VIR_ERR_XML_ERROR,
  VIR_FROM_DOMAIN,
  VIR_FROM_XML,
  virError,
} from '../error';
import { normalizeMAC, parseMAC, isMulticastMAC } from '../util/mac';
import type { PciAddress } from '../util/pci';
import { canonicalBitmap } from '../util/bitmap';
import { generateUUID, parseUUID } from '../util/uuid';
import type {
  AttrList,
  ChrDef,
  ControllerDef,
  DeviceAddress,
  DeviceInfo,
  DiskDef,
  DomainDef,
  DomainDevices,
  DomainDeviceDef,
  GenericElement,
  GraphicsDef,
  HostdevDef,
  InputDef,
  NetDef,
  OsDef,
  SimpleDeviceDef,
  TeamingInfo,
  VcpuDef,
} from './domain-def';
import { parseMemoryKiB, parseScaledBytes } from './units';
import { attr, child, children, isElement, textOf, type XmlElement, type XmlNode } from './xml';

/** Parse flags (virDomainDefParseFlags). */
export const VIR_DOMAIN_DEF_PARSE_INACTIVE = 1 << 0;
export const VIR_DOMAIN_DEF_PARSE_STATUS = 1 << 1;
export const VIR_DOMAIN_DEF_PARSE_ABI_UPDATE = 1 << 2;
export const VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE = 1 << 3;

export const USER_ALIAS_PREFIX = 'ua-';
const USER_ALIAS_CHARS = /^[A-Za-z0-9_-]+$/;

export const VIRT_TYPES = new Set([
  'none', 'qemu', 'kqemu', 'kvm', 'xen', 'lxc', 'uml', 'openvz', 'test', 'vmware', 'hyperv', 'vbox',
  'phyp', 'parallels', 'bhyve', 'vz', 'hvf',
]);
export const OS_TYPES = new Set(['hvm', 'xen', 'linux', 'exe', 'uml', 'xenpvh']);
const LIFECYCLE_ACTIONS = new Set(['destroy', 'restart', 'rename-restart', 'preserve']);
const CRASH_ACTIONS = new Set([...LIFECYCLE_ACTIONS, 'coredump-destroy', 'coredump-restart']);
const LOCKFAILURE_ACTIONS = new Set(['default', 'poweroff', 'restart', 'pause', 'ignore']);

/** Driver hooks, like libvirt's virDomainXMLOption. */
export interface DomainXMLOptions {
  /** called after parse, before validation: fill driver defaults (arch, machine, aliases...) */
  postParse?(def: DomainDef, parseFlags: number): void;
  /**
   * driver-specific validation (e.g. QEMU's teaming Q1/Q2). As in libvirt's virDomainDefValidate,
   * the driver's callbacks run before the generic rules: first this domain-level hook, then for each
   * device `validateDevice` followed by the generic device rules (V1-V5), then the generic
   * domain-level rules (unique aliases).
   */
  validate?(def: DomainDef): void;
  /** driver-specific validation of one device (libvirt's deviceValidateCallback); also used for hotplug */
  validateDevice?(dev: DomainDeviceDef, def: DomainDef): void;
  /** keep user aliases ('ua-' prefix) from inactive XML */
  userAliases?: boolean;
  /**
   * keep <backingStore index='N'> from live and status XML (default true, as the QEMU driver,
   * which tracks backing chains, does; libvirt's test driver drops it: pass false there). Inactive
   * XML (define) never keeps it, as Debian's libvirt 9.0 shows.
   */
  backingStoreIndex?: boolean;
  /**
   * the XML namespaces the driver understands (libvirt's xmlopt namespace: the QEMU driver's
   * 'http://libvirt.org/schemas/domain/qemu/1.0', the test driver's
   * 'http://libvirt.org/schemas/domain/test/1.0'); elements of other namespaces are dropped with
   * their declaration. Undefined keeps every namespace.
   */
  xmlNamespaces?: readonly string[];
  /**
   * the source of the UUIDs the parser makes up (a missing <uuid>, an empty <genid>); random
   * version-4 UUIDs by default. libvirt's tests mock the random bytes to get fixed ones.
   */
  generateUUID?(): string;
}

interface Ctx {
  flags: number;
  opts: DomainXMLOptions;
}

/** XPath string(): undefined when absent or empty, as virXPathString. */
function childString(el: XmlElement, name: string): string | undefined {
  const c = child(el, name);
  if (!c) return undefined;
  const t = textOf(c);
  return t === '' ? undefined : t;
}

function attrs(el: XmlElement, skip?: ReadonlySet<string>): AttrList {
  const out: AttrList = [];
  for (const [k, v] of el.attrs) if (!skip?.has(k)) out.push([k, v]);
  return out;
}

function generic(el: XmlElement): GenericElement {
  return { attrs: attrs(el), children: children(el) };
}

function digitValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return 99;
}

/**
 * An unsigned int as virStrToLong_ui reads it: decimal, or with `base0` C's 0x.. hex and 0.. octal.
 * Undefined when the text is not such a number or exceeds UINT_MAX.
 */
function parseUInt(text: string | undefined, base0 = false): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  let i = 0;
  let base = 10;
  if (base0 && t.length > 2 && t.charCodeAt(0) === 48 && (t[1] === 'x' || t[1] === 'X')) {
    base = 16;
    i = 2;
  } else if (base0 && t.length > 1 && t.charCodeAt(0) === 48) {
    base = 8;
    i = 1;
  } else if (t[0] === '+') {
    i = 1;
  }
  if (i >= t.length) return undefined;
  let n = 0;
  for (; i < t.length; i++) {
    const d = digitValue(t.charCodeAt(i));
    if (d >= base) return undefined;
    n = n * base + d;
  }
  return n <= 0xffffffff ? n : undefined;
}

const INFO_NAMES = new Set(['alias', 'address', 'boot', 'rom', 'acpi', 'master']);

function xmlError(msg: string): never {
  throw virError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, msg);
}

function internalError(msg: string): never {
  throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, msg);
}

function unsupported(msg: string): never {
  throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, msg);
}

/** virXMLPropEnum's complaint about a value outside the enum. */
export function invalidEnumValue(attrName: string, element: string, value: string): never {
  throw virError(VIR_ERR_XML_ERROR, VIR_FROM_XML, `Invalid value for attribute '${attrName}' in element '${element}': '${value}'.`);
}

/** virXMLPropUInt's complaint about a value that is not a non-negative integer. */
function invalidUIntValue(attrName: string, element: string, value: string): never {
  throw virError(
    VIR_ERR_XML_ERROR,
    VIR_FROM_XML,
    `Invalid value for attribute '${attrName}' in element '${element}': '${value}'. Expected non-negative integer value`,
  );
}

/** The attribute orders libvirt writes for non-PCI device addresses. */
const ADDRESS_ATTR_ORDER: Record<string, readonly string[]> = {
  drive: ['controller', 'bus', 'target', 'unit'],
  'virtio-serial': ['controller', 'bus', 'port'],
  ccid: ['controller', 'slot'],
  usb: ['bus', 'port'],
  'spapr-vio': ['reg'],
  ccw: ['cssid', 'ssid', 'devno'],
  isa: ['iobase', 'irq'],
  dimm: ['slot', 'base'],
};

/** virPCIDeviceAddressParseXML: numbers in C base-0 notation. */
/** Address fields libvirt fills with 0 when the XML leaves them out. */
const ADDRESS_DEFAULTS: Record<string, Record<string, string>> = {
  drive: { controller: '0', bus: '0', target: '0', unit: '0' },
  'virtio-serial': { controller: '0', bus: '0' },
  ccid: { controller: '0', slot: '0' },
};

function pciField(el: XmlElement, name: string): number {
  const v = el.attrs.get(name);
  if (v === undefined) return 0;
  const n = parseUInt(v, true);
  if (n === undefined) invalidUIntValue(name, 'address', v);
  return n;
}

export function parsePciAddressXml(el: XmlElement): PciAddress {
  const a: PciAddress = {
    domain: pciField(el, 'domain'),
    bus: pciField(el, 'bus'),
    slot: pciField(el, 'slot'),
    function: pciField(el, 'function'),
  };
  const mf = attr(el, 'multifunction');
  if (mf !== undefined) {
    if (mf !== 'on' && mf !== 'off') internalError(`Unknown value '${mf}' for <address> 'multifunction' attribute`);
    a.multifunction = mf;
  }
  return a;
}

export function parseDeviceAddress(el: XmlElement): DeviceAddress | undefined {
  const type = attr(el, 'type');
  if (type === undefined) return undefined;
  if (type === 'pci') {
    const kids = children(el);
    return { type, pci: parsePciAddressXml(el), attrs: [], ...(kids.length ? { children: kids } : {}) };
  }
  const order = ADDRESS_ATTR_ORDER[type];
  const defaults = ADDRESS_DEFAULTS[type];
  const list: AttrList = [];
  if (order) {
    for (const k of order) {
      const v = attr(el, k) ?? defaults?.[k];
      if (v !== undefined) list.push([k, v]);
    }
  } else {
    for (const [k, v] of el.attrs) if (k !== 'type') list.push([k, v]);
  }
  return { type, attrs: list };
}

function parseInfo(ctx: Ctx, el: XmlElement): DeviceInfo {
  const info: DeviceInfo = {};
  for (const c of el.children) {
    if (!isElement(c) || !INFO_NAMES.has(c.name)) continue;
    switch (c.name) {
      case 'alias': {
        if (info.alias !== undefined) break;
        const name = attr(c, 'name');
        if (name === undefined) break;
        const keep =
          !(ctx.flags & VIR_DOMAIN_DEF_PARSE_INACTIVE) ||
          (ctx.opts.userAliases === true && name.startsWith(USER_ALIAS_PREFIX) && USER_ALIAS_CHARS.test(name));
        if (keep) info.alias = name;
        break;
      }
      case 'address':
        if (info.address === undefined) info.address = parseDeviceAddress(c);
        break;
      case 'boot': {
        if (info.bootOrder !== undefined) break;
        const order = attr(c, 'order');
        if (order === undefined) {
          throw virError(VIR_ERR_XML_ERROR, VIR_FROM_XML, "Missing required attribute 'order' in element 'boot'");
        }
        const n = parseUInt(order);
        if (n === undefined) invalidUIntValue('order', 'boot', order);
        if (n === 0) {
          throw virError(VIR_ERR_XML_ERROR, VIR_FROM_XML, "Invalid value for attribute 'order' in element 'boot': Zero is not permitted");
        }
        info.bootOrder = n;
        info.loadparm = attr(c, 'loadparm');
        break;
      }
      case 'rom':
        if (info.rom === undefined) info.rom = orderAttrs(c, ['enabled', 'bar', 'file']);
        break;
      case 'acpi': {
        const idx = parseUInt(attr(c, 'index'));
        if (idx !== undefined) info.acpiIndex = idx;
        break;
      }
      case 'master':
        info.masterStartport = attr(c, 'startport');
        break;
    }
  }
  return info;
}

function orderAttrs(el: XmlElement, order: readonly string[]): AttrList {
  const out: AttrList = [];
  for (const k of order) {
    const v = attr(el, k);
    if (v !== undefined) out.push([k, v]);
  }
  return out;
}

function nonInfoChildren(el: XmlElement, skip?: ReadonlySet<string>): XmlElement[] {
  return children(el).filter((c) => !INFO_NAMES.has(c.name) && !skip?.has(c.name));
}

/** virDomainNetTeamingInfoParseXML (rule P1). */
export function parseTeaming(el: XmlElement): TeamingInfo | undefined {
  const t = child(el, 'teaming');
  if (!t) return undefined;
  const type = attr(t, 'type');
  const persistent = attr(t, 'persistent');
  if (type === undefined && persistent === undefined) return undefined;
  if (type !== 'persistent' && type !== 'transient') {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, `unknown teaming type '${type ?? '(null)'}'`);
  }
  return persistent === undefined ? { type } : { type, persistent };
}

// ---------------------------------------------------------------------------------------------
// devices

const DISK_PREFIXES = ['fd', 'hd', 'vd', 'sd', 'xvd', 'ubd'];

/** virDiskNameToIndex: 'sda' -> 0, 'hdc' -> 2, 'vdaa' -> 26; -1 when the name is not a disk name. */
export function diskNameToIndex(name: string): number {
  const prefix = DISK_PREFIXES.find((p) => name.startsWith(p));
  if (!prefix) return -1;
  let i = prefix.length;
  let idx = 0;
  const start = i;
  while (i < name.length && name.charCodeAt(i) >= 97 && name.charCodeAt(i) <= 122) {
    idx = (idx + (i === start ? 0 : 1)) * 26 + (name.charCodeAt(i) - 97);
    i++;
  }
  if (i === start) return -1;
  while (i < name.length && name.charCodeAt(i) >= 48 && name.charCodeAt(i) <= 57) i++;
  return i === name.length ? idx : -1;
}

const DISK_TARGET_CHILDREN = new Set([
  'driver', 'source', 'backingStore', 'target', 'readonly', 'shareable', 'transient', 'serial', 'wwn',
  'vendor', 'product',
]);

/**
 * virSysinfoSystemParseXML: an SMBIOS system UUID must be the domain's, or becomes it when the
 * definition has no <uuid>.
 */
function smbiosSystemUUID(def: DomainDef, generated: boolean): void {
  for (const sysinfo of def.sysinfo) {
    if (attr(sysinfo, 'type') !== 'smbios') continue;
    const system = child(sysinfo, 'system');
    const text = textOf(system && children(system).find((e) => e.name === 'entry' && attr(e, 'name') === 'uuid'));
    if (text === undefined) continue;
    const uuid = parseUUID(text);
    if (uuid === null) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, `malformed <sysinfo> uuid '${text}'`);
    if (generated) def.uuid = uuid;
    else if (uuid !== def.uuid) throw virError(VIR_ERR_XML_DETAIL, VIR_FROM_DOMAIN, 'UUID mismatch between <uuid> and <sysinfo>');
  }
}

/** virDomainDiskBus in libvirt 9.0. */
const DISK_BUSES = new Set(['ide', 'fdc', 'scsi', 'virtio', 'xen', 'usb', 'uml', 'sata', 'sd']);

function parseDisk(ctx: Ctx, el: XmlElement): DiskDef {
  const device = attr(el, 'device') ?? 'disk';
  // Removable media without a source are empty drives, whatever storage type the XML named.
  const type = !child(el, 'source') && (device === 'cdrom' || device === 'floppy') ? 'file' : (attr(el, 'type') ?? 'file');
  const targetEl = child(el, 'target');
  const dev = attr(targetEl, 'dev');
  const sourceEl = child(el, 'source');
  if (dev === undefined) {
    const desc = sourceDescription(sourceEl);
    throw virError(VIR_ERR_NO_TARGET, VIR_FROM_DOMAIN, desc === '' ? undefined : desc);
  }
  const bus = attr(targetEl, 'bus');
  if (bus !== undefined && !DISK_BUSES.has(bus)) invalidEnumValue('bus', 'target', bus);
  const driverEl = child(el, 'driver');
  const transientEl = child(el, 'transient');
  const disk: DiskDef = {
    kind: 'disk',
    type,
    device,
    attrs: orderAttrs(el, ['model', 'rawio', 'sgio', 'snapshot']),
    target: {
      dev,
      bus,
      // Closed is the default, which libvirt does not write.
      tray: attr(targetEl, 'tray') === 'closed' ? undefined : attr(targetEl, 'tray'),
      removable: attr(targetEl, 'removable'),
      rotationRate: attr(targetEl, 'rotation_rate'),
    },
    readonly: child(el, 'readonly') !== undefined,
    shareable: child(el, 'shareable') !== undefined,
    serial: childString(el, 'serial'),
    wwn: childString(el, 'wwn'),
    vendor: childString(el, 'vendor'),
    product: childString(el, 'product'),
    extra: nonInfoChildren(el, DISK_TARGET_CHILDREN),
    info: parseInfo(ctx, el),
  };
  if (driverEl) disk.driver = diskDriver(driverEl);
  if (sourceEl) disk.source = diskSource(ctx, sourceEl, type);
  const backing = child(el, 'backingStore');
  if (backing) {
    if (ctx.opts.backingStoreIndex === false || ctx.flags & VIR_DOMAIN_DEF_PARSE_INACTIVE) backing.attrs.delete('index');
    normalizeMetadataCache(backing);
    disk.backingStore = backing;
  }
  if (transientEl) disk.transient = attrs(transientEl);
  return disk;
}

const DISK_SOURCE_ATTRS = [
  'protocol', 'name', 'tls', 'tlsHostname', 'query', 'file', 'dev', 'dir', 'pool', 'volume', 'mode', 'type',
  'managed', 'namespace', 'path', 'fdgroup', 'startupPolicy', 'index',
];

/** virStorageSourceNetworkDefaultPort */
const NETWORK_DEFAULT_PORTS: Record<string, string> = {
  nbd: '10809', iscsi: '3260', gluster: '24007', http: '80', https: '443', ftp: '21', ftps: '990', tftp: '69',
  sheepdog: '7000', ssh: '22', vxhs: '9999',
};

/** The <host> of a network source gets the protocol's default port; an iSCSI target gets LUN 0. */
function completeNetworkSource(src: XmlElement, protocol: string | undefined, name: string | undefined): string | undefined {
  if (protocol === undefined) return name;
  const port = NETWORK_DEFAULT_PORTS[protocol];
  for (const host of children(src, 'host')) {
    const transport = attr(host, 'transport');
    if (port !== undefined && !host.attrs.has('port') && transport !== 'unix' && host.attrs.has('name')) {
      host.attrs.set('port', port);
    }
  }
  if (protocol === 'iscsi' && name !== undefined && !name.includes('/')) return `${name}/0`;
  return name;
}

function diskSource(ctx: Ctx, el: XmlElement, type: string): GenericElement {
  const list = orderAttrs(el, DISK_SOURCE_ATTRS).filter(([k]) => k !== 'index' || !(ctx.flags & VIR_DOMAIN_DEF_PARSE_INACTIVE));
  if (type === 'network') {
    const i = list.findIndex(([k]) => k === 'name');
    const name = completeNetworkSource(el, attr(el, 'protocol'), i >= 0 ? list[i][1] : undefined);
    if (i >= 0 && name !== undefined) list[i] = ['name', name];
  }
  return { attrs: list, children: children(el) };
}

/** <driver>: <metadata_cache><max_size> is kept in bytes and written with unit='bytes'. */
const DISK_DRIVER_ATTRS = [
  'name', 'type', 'cache', 'error_policy', 'rerror_policy', 'io', 'ioeventfd', 'event_idx', 'copy_on_read',
  'discard', 'iothread', 'detect_zeroes', 'queues', 'queue_size', 'iommu', 'ats', 'packed', 'page_per_vq',
];

function diskDriver(el: XmlElement): GenericElement {
  normalizeMetadataCache(el);
  reorderAttrs(el, DISK_DRIVER_ATTRS);
  return generic(el);
}

/** Every <metadata_cache><max_size> below `el`, in bytes with unit='bytes'. */
function normalizeMetadataCache(el: XmlElement): void {
  for (const c of children(el)) {
    if (c.name === 'metadata_cache') {
      for (const size of children(c, 'max_size')) {
        const bytes = parseScaledBytes(textOf(size) ?? '', attr(size, 'unit'), 1n, './max_size');
        size.attrs = new Map([['unit', 'bytes']]);
        size.children = [{ text: String(bytes) }];
      }
    } else {
      normalizeMetadataCache(c);
    }
  }
}

function sourceDescription(sourceEl: XmlElement | undefined): string {
  if (!sourceEl) return '';
  return attr(sourceEl, 'file') ?? attr(sourceEl, 'dev') ?? attr(sourceEl, 'dir') ?? attr(sourceEl, 'name') ?? '';
}

const CONTROLLER_TYPES = new Set(['ide', 'fdc', 'scsi', 'sata', 'virtio-serial', 'ccid', 'usb', 'pci', 'xenbus', 'isa']);

function parseController(ctx: Ctx, el: XmlElement): ControllerDef {
  const type = attr(el, 'type') ?? 'ide';
  if (!CONTROLLER_TYPES.has(type)) invalidEnumValue('type', 'controller', type);
  const idxText = attr(el, 'index');
  let index = -1;
  if (idxText !== undefined) {
    const n = Number(idxText);
    if (!/^-?[0-9]+$/.test(idxText.trim()) || n < -1 || n > 0x7fffffff) {
      internalError(`Cannot parse controller index ${idxText}`);
    }
    index = n;
  }
  const modelEl = child(el, 'model');
  const targetEl = child(el, 'target');
  const driverEl = child(el, 'driver');
  const def: ControllerDef = {
    kind: 'controller',
    type,
    index,
    model: attr(el, 'model'),
    attrs: orderAttrs(el, ['ports', 'vectors', 'maxGrantFrames', 'maxEventChannels']),
    modelName: attr(modelEl, 'name'),
    extra: [],
    info: parseInfo(ctx, el),
  };
  if (targetEl) def.target = generic(targetEl);
  if (driverEl) def.driver = generic(driverEl);
  return def;
}

const NET_KNOWN_CHILDREN = new Set(['mac', 'source', 'target', 'model', 'driver', 'teaming', 'link', 'mtu']);
const NET_TYPES = new Set([
  'user', 'ethernet', 'vhostuser', 'server', 'client', 'mcast', 'network', 'bridge', 'internal', 'direct',
  'hostdev', 'udp', 'vdpa', 'null', 'vds',
]);

const NET_SOURCE_ATTRS: Record<string, readonly string[]> = {
  network: ['network', 'portgroup', 'portid', 'bridge'],
  bridge: ['bridge'],
  direct: ['dev', 'mode'],
  vhostuser: ['type', 'path', 'mode'],
  server: ['address', 'port'],
  client: ['address', 'port'],
  mcast: ['address', 'port'],
  udp: ['address', 'port'],
  vdpa: ['dev'],
};

function parseInterface(ctx: Ctx, el: XmlElement): NetDef {
  const type = attr(el, 'type') ?? 'user';
  if (!NET_TYPES.has(type)) invalidEnumValue('type', 'interface', type);
  const net: NetDef = { kind: 'interface', type, extra: [], info: parseInfo(ctx, el) };
  const macEl = child(el, 'mac');
  const mac = attr(macEl, 'address');
  if (mac !== undefined) {
    const bytes = parseMAC(mac);
    if (!bytes) xmlError(`unable to parse mac address '${mac}'`);
    if (isMulticastMAC(bytes)) {
      xmlError(`expected unicast mac address, found multicast '${mac}'`);
    }
    net.mac = normalizeMAC(mac)!;
    const macAttrs = orderAttrs(macEl!, ['type', 'check']);
    if (macAttrs.length) net.macAttrs = macAttrs;
  }
  const trust = attr(el, 'trustGuestRxFilters');
  if (trust !== undefined) net.trustGuestRxFilters = trust;
  const sourceEl = child(el, 'source');
  if (type === 'hostdev') {
    const managed = attr(el, 'managed');
    net.managed = managed === 'yes';
    const addrEl = sourceEl ? child(sourceEl, 'address') : undefined;
    if (addrEl) net.hostdevAddress = parseDeviceAddress(addrEl) ?? { type: 'pci', pci: parsePciAddressXml(addrEl), attrs: [] };
  } else if (sourceEl) {
    const order = NET_SOURCE_ATTRS[type];
    let list = order ? orderAttrs(sourceEl, order) : attrs(sourceEl);
    // The bridge of a network's actual connection is only read back from status XML.
    if (type === 'network' && !(ctx.flags & VIR_DOMAIN_DEF_PARSE_STATUS)) list = list.filter(([k]) => k !== 'bridge');
    net.source = { attrs: list, children: children(sourceEl) };
  }
  const targetEl = child(el, 'target');
  const targetDev = attr(targetEl, 'dev');
  // Names libvirt generates itself (vnetN, macvtapN, macvlanN) are not read back from inactive XML.
  const generated = ['vnet', 'macvtap', 'macvlan'].some((p) => targetDev?.startsWith(p));
  if (targetDev !== undefined && !(generated && ctx.flags & VIR_DOMAIN_DEF_PARSE_INACTIVE)) {
    net.target = { dev: targetDev };
    const managed = attr(targetEl, 'managed');
    if (managed !== undefined) net.target.managed = managed;
  }
  const model = attr(child(el, 'model'), 'type');
  if (model !== undefined) net.model = model;
  const driverEl = child(el, 'driver');
  if (driverEl) net.driver = generic(driverEl);
  const teaming = parseTeaming(el);
  if (teaming) net.teaming = teaming;
  const link = attr(child(el, 'link'), 'state');
  if (link !== undefined) {
    if (link !== 'up' && link !== 'down') unsupported(`unknown interface link state '${link}'`);
    net.linkState = link;
  }
  const mtu = attr(child(el, 'mtu'), 'size');
  if (mtu !== undefined) {
    const n = parseUInt(mtu);
    if (n === undefined) xmlError(`malformed mtu size '${mtu}'`);
    net.mtu = n;
  }
  net.extra = nonInfoChildren(el, NET_KNOWN_CHILDREN);
  for (const ip of net.extra) {
    if (ip.name !== 'ip') continue;
    // virNetDevIPInfoParseXML infers the family from the address.
    const address = ip.attrs.get('address');
    if (address !== undefined && !ip.attrs.has('family')) ip.attrs.set('family', address.includes(':') ? 'ipv6' : 'ipv4');
    reorderAttrs(ip, ['address', 'family', 'prefix', 'peer']);
  }
  return net;
}

function parseHostdev(ctx: Ctx, el: XmlElement): HostdevDef {
  const mode = attr(el, 'mode') ?? 'subsystem';
  if (mode !== 'subsystem' && mode !== 'capabilities') internalError(`unknown hostdev mode '${mode}'`);
  const type = attr(el, 'type');
  if (type === undefined) xmlError('missing source address type');
  const sourceEl = child(el, 'source');
  const def: HostdevDef = {
    kind: 'hostdev',
    mode,
    type,
    managed: attr(el, 'managed') === 'yes',
    attrs: orderAttrs(el, ['model', 'display', 'ramfb', 'sgio', 'rawio']),
    sourceAttrs: sourceEl ? attrs(sourceEl) : [],
    sourceChildren: [],
    readonly: child(el, 'readonly') !== undefined,
    shareable: child(el, 'shareable') !== undefined,
    // libvirt reads nothing else in <hostdev>
    extra: [],
    info: parseInfo(ctx, el),
  };
  const driverEl = child(el, 'driver');
  if (driverEl) def.driver = generic(driverEl);
  if (sourceEl && type === 'scsi' && attr(sourceEl, 'protocol') !== undefined) {
    const i = def.sourceAttrs.findIndex(([k]) => k === 'name');
    const name = completeNetworkSource(sourceEl, attr(sourceEl, 'protocol'), i >= 0 ? def.sourceAttrs[i][1] : undefined);
    if (i >= 0 && name !== undefined) def.sourceAttrs[i] = ['name', name];
  }
  if (sourceEl) {
    for (const c of children(sourceEl)) {
      if (type === 'pci' && c.name === 'address' && !def.pciAddress) def.pciAddress = parsePciAddressXml(c);
      else def.sourceChildren.push(c);
    }
  }
  if (mode === 'subsystem' && sourceEl) checkSubsysSource(ctx, def, sourceEl);
  const teaming = parseTeaming(el);
  if (teaming) def.teaming = teaming;
  return def;
}

const STARTUP_POLICIES = new Set(['mandatory', 'requisite', 'optional']);

/** strtoul in base 0, as virStrToLong_ui reads XML numbers: 0x1f hex, 017 octal, 17 decimal; null if not one. */
export function parseUIntBase0(text: string): number | null {
  const m = /^\s*(?:(0[xX][0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(text);
  if (!m) return null;
  const n = m[1] !== undefined ? Number(m[1]) : m[2] !== undefined ? Number.parseInt(m[2], 8) : Number(m[3]);
  return n > 0xffffffff ? null : n;
}

/** virXMLPropUInt (base 0, as strtoul reads it): the value, or libvirt's complaint. */
function propUInt(el: XmlElement, name: string, required: boolean, nonzero: boolean): number | undefined {
  const text = attr(el, name);
  if (text === undefined) {
    if (required) throw virError(VIR_ERR_XML_ERROR, VIR_FROM_XML, `Missing required attribute '${name}' in element '${el.name}'`);
    return undefined;
  }
  const n = parseUIntBase0(text);
  if (n === null) invalidUIntValue(name, el.name, text);
  if (nonzero && n === 0) throw virError(VIR_ERR_XML_ERROR, VIR_FROM_XML, `Invalid value for attribute '${name}' in element '${el.name}': Zero is not permitted`);
  return n;
}

/**
 * virDomainHostdevDefParseXMLSubsys / virDomainHostdevSubsysUSBDefParseXML: startupPolicy is for
 * USB devices only; a USB source gives vendor and product together (the vendor never 0), and an
 * address with both bus and device. missing='yes' is what a run found, read back from status
 * XML only.
 */
function checkSubsysSource(ctx: Ctx, def: HostdevDef, sourceEl: XmlElement): void {
  const policy = attr(sourceEl, 'startupPolicy');
  if (policy !== undefined) {
    if (!STARTUP_POLICIES.has(policy)) invalidEnumValue('startupPolicy', 'source', policy);
    if (def.type !== 'usb') unsupported('Setting startupPolicy is only allowed for USB devices');
  }
  if (def.type !== 'usb') return;
  if (!(ctx.flags & VIR_DOMAIN_DEF_PARSE_STATUS)) def.sourceAttrs = def.sourceAttrs.filter(([k]) => k !== 'missing');
  const vendor = child(sourceEl, 'vendor');
  const product = child(sourceEl, 'product');
  // The numbers are read as C does (0x hex, leading-0 octal) and written back as libvirt does:
  // IDs as 4 hex digits, the address in decimal.
  const hexId = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;
  if (vendor) {
    vendor.attrs.set('id', hexId(propUInt(vendor, 'id', true, true)!));
    if (!product) internalError('missing product');
  }
  if (product) {
    if (!vendor) internalError('missing vendor');
    product.attrs.set('id', hexId(propUInt(product, 'id', true, false)!));
  }
  const address = child(sourceEl, 'address');
  if (address) {
    address.attrs.set('bus', String(propUInt(address, 'bus', true, false)));
    address.attrs.set('device', String(propUInt(address, 'device', true, false)));
  }
}

const CHR_SOURCE_TYPES = new Set([
  'null', 'vc', 'pty', 'dev', 'file', 'pipe', 'stdio', 'udp', 'tcp', 'unix', 'spicevmc', 'spiceport', 'nmdm',
  'qemu-vdagent', 'dbus',
]);

function parseChr(ctx: Ctx, el: XmlElement, kind: ChrDef['kind']): ChrDef {
  const type = attr(el, 'type') ?? 'null';
  if (!CHR_SOURCE_TYPES.has(type)) unsupported(`unknown type presented to host for character device: ${type}`);
  // A pty's path is runtime state: inactive XML never carries it back in.
  const runtimeOnly = type === 'pty' && (ctx.flags & VIR_DOMAIN_DEF_PARSE_INACTIVE) !== 0;
  const def: ChrDef = {
    kind,
    type,
    sources: runtimeOnly ? [] : children(el, 'source'),
    extra: [],
    info: parseInfo(ctx, el),
  };
  const tty = attr(el, 'tty');
  if (tty !== undefined && !runtimeOnly) def.tty = tty;
  const protocol = attr(child(el, 'protocol'), 'type');
  if (protocol !== undefined && type === 'tcp') def.protocol = protocol;
  const logEl = child(el, 'log');
  if (logEl) def.log = orderAttrs(logEl, ['file', 'append']);
  const targetEl = child(el, 'target');
  if (targetEl) {
    def.target = generic(targetEl);
    // The guest agent's connection state is runtime information, never read from inactive XML.
    if (kind === 'channel' && ctx.flags & VIR_DOMAIN_DEF_PARSE_INACTIVE) def.target.attrs = def.target.attrs.filter(([k]) => k !== 'state');
  }
  return def;
}

function parseInput(ctx: Ctx, el: XmlElement): InputDef {
  const type = attr(el, 'type');
  if (type === undefined) xmlError('missing input device type');
  const def: InputDef = { kind: 'input', type, bus: attr(el, 'bus'), model: attr(el, 'model'), info: parseInfo(ctx, el) };
  const sourceEl = child(el, 'source');
  if (sourceEl) def.source = generic(sourceEl);
  const driverEl = child(el, 'driver');
  if (driverEl) def.driver = generic(driverEl);
  return def;
}

const GRAPHICS_TYPES = new Set(['sdl', 'vnc', 'rdp', 'desktop', 'spice', 'egl-headless', 'dbus']);
const GRAPHICS_HANDLED = new Set(['type', 'port', 'tlsPort', 'autoport', 'websocket', 'socket', 'listen']);

function parsePort(el: XmlElement, name: string): number | undefined {
  const v = attr(el, name);
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  if (!/^-?[0-9]+$/.test(v.trim())) xmlError(`cannot parse ${name} ${v}`);
  return n;
}

function parseGraphics(el: XmlElement): GraphicsDef {
  const type = attr(el, 'type');
  if (type === undefined) xmlError('missing graphics device type');
  if (!GRAPHICS_TYPES.has(type)) invalidEnumValue('type', 'graphics', type);
  const g: GraphicsDef = {
    kind: 'graphics',
    type,
    listens: [],
    attrs: attrs(el, GRAPHICS_HANDLED),
    children: children(el).filter((c) => c.name !== 'listen'),
  };
  for (const l of children(el, 'listen')) g.listens.push(orderAttrs(l, ['type', 'address', 'network', 'socket', 'autoGenerated']));
  if (type !== 'vnc' && type !== 'spice' && type !== 'rdp') {
    g.attrs = attrs(el, new Set(['type']));
    return g;
  }
  let port = parsePort(el, 'port');
  const tlsPort = type === 'spice' ? parsePort(el, 'tlsPort') : undefined;
  const autoportAttr = attr(el, 'autoport');
  let autoport = autoportAttr === 'yes';
  if (port === -1) {
    autoport = true;
    port = 0;
  }
  // VNC without a port picks one itself; SPICE only does when told to (autoport='yes' or port -1).
  if (type === 'vnc' && autoportAttr === undefined && (port ?? 0) <= 0) autoport = true;
  g.autoport = autoport;
  if (port !== undefined && port > 0) g.port = port;
  if (tlsPort !== undefined && tlsPort > 0) g.tlsPort = tlsPort;
  const websocket = type === 'vnc' ? parsePort(el, 'websocket') : undefined;
  if (websocket !== undefined) g.websocket = websocket;
  const socket = type === 'vnc' ? attr(el, 'socket') : undefined;
  const listenAttr = attr(el, 'listen');
  if (g.listens.length === 0) {
    // Legacy syntax: the listen attribute (or the socket) stands for the first <listen>.
    if (socket !== undefined) g.listens.push([['type', 'socket'], ['socket', socket]]);
    else if (listenAttr !== undefined) g.listens.push([['type', 'address'], ['address', listenAttr]]);
    else g.listens.push([['type', 'address']]);
  } else if (listenAttr !== undefined) {
    const first = g.listens[0];
    const addr = first.find(([k]) => k === 'address')?.[1];
    if (first[0]?.[1] === 'address' && addr === undefined) first.push(['address', listenAttr]);
    else if (addr !== undefined && addr !== listenAttr) {
      xmlError(`graphics 'listen' attribute '${listenAttr}' must match 'address' attribute of first listen element (found '${addr}')`);
    }
  }
  // virDomainDefPostParseGraphics: SPICE with no port and no automatic port listens nowhere.
  const first = g.listens[0];
  if (type === 'spice' && first?.[0]?.[1] === 'address' && !g.port && !g.tlsPort && !g.autoport) {
    g.listens[0] = [['type', 'none']];
  }
  return g;
}

const FILESYSTEM_ATTRS = ['type', 'accessmode', 'model', 'multidevs', 'fmode', 'dmode'];

/** Defaults and canonical forms libvirt applies to devices virtnode keeps as parsed. */
/** A TCP character device always has a protocol: libvirt writes raw, its default, after the sources. */
function withTcpProtocol(kids: XmlNode[]): XmlNode[] {
  if (kids.some((c) => isElement(c) && c.name === 'protocol')) return kids;
  let at = 0;
  kids.forEach((c, i) => {
    if (isElement(c) && c.name === 'source') at = i + 1;
  });
  const protocol: XmlElement = { name: 'protocol', attrs: new Map([['type', 'raw']]), children: [], line: 0 };
  return [...kids.slice(0, at), protocol, ...kids.slice(at)];
}

/**
 * virDomainIOThreadIDDefArrayInit: when <iothreadids> lists some of the <iothreads> count, the
 * rest are the lowest ids not listed, and written after the listed ones; more ids than the count
 * raise the count. Without <iothreadids> all are implicit and none is written.
 */
function fillIothreadIds(def: DomainDef): void {
  const list = def.iothreadids;
  if (!list) return;
  const listed = children(list, 'iothread');
  const count = Number(textOf(def.iothreads) ?? 0);
  if (listed.length > count) {
    def.iothreads = { name: 'iothreads', attrs: def.iothreads?.attrs ?? new Map(), children: [{ text: String(listed.length) }], line: 0 };
    return;
  }
  const ids = new Set(listed.map((c) => Number(attr(c, 'id'))));
  for (let id = 1, n = listed.length; n < count; id++) {
    if (ids.has(id)) continue;
    list.children.push({ name: 'iothread', attrs: new Map([['id', String(id)]]), children: [], line: 0 });
    n++;
  }
}

function normalizeSimple(def: SimpleDeviceDef): void {
  switch (def.kind) {
    case 'filesystem': {
      const map = new Map(def.attrs);
      const type = map.get('type') ?? 'mount';
      map.set('type', type);
      if (type === 'mount' && !map.has('accessmode') && def.children.every((c) => c.name !== 'driver' || attr(c, 'type') !== 'virtiofs')) {
        map.set('accessmode', 'passthrough');
      }
      for (const k of ['fmode', 'dmode']) {
        const v = map.get(k);
        if (v !== undefined && /^[0-7]+$/.test(v)) map.set(k, Number.parseInt(v, 8).toString(8).padStart(4, '0'));
      }
      def.attrs = [];
      for (const k of FILESYSTEM_ATTRS) if (map.has(k)) def.attrs.push([k, map.get(k)!]);
      break;
    }
    case 'redirdev':
      if (def.attrs.find(([n]) => n === 'type')?.[1] !== 'tcp') def.children = def.children.filter((c) => c.name !== 'protocol');
      else def.children = withTcpProtocol(def.children) as XmlElement[];
      break;
    case 'rng':
      for (const b of def.children) {
        if (b.name === 'backend' && attr(b, 'type') !== 'tcp') b.children = b.children.filter((c) => !isElement(c) || c.name !== 'protocol');
        else if (b.name === 'backend') b.children = withTcpProtocol(b.children);
      }
      break;
  }
}

/** The child elements libvirt reads for each device kind virtnode keeps as parsed; others are ignored. */
const SIMPLE_CHILDREN: Record<string, ReadonlySet<string>> = {
  lease: new Set(['lockspace', 'key', 'target']),
  filesystem: new Set([
    'driver', 'binary', 'source', 'target', 'readonly', 'space_hard_limit', 'space_soft_limit', 'idmap',
  ]),
  smartcard: new Set(['certificate', 'database', 'source', 'protocol']),
  tpm: new Set(['backend']),
  sound: new Set(['codec', 'audio', 'driver']),
  audio: new Set(['input', 'output']),
  video: new Set(['driver', 'model']),
  redirdev: new Set(['source', 'protocol']),
  redirfilter: new Set(['usbdev']),
  hub: new Set([]),
  watchdog: new Set([]),
  memballoon: new Set(['stats', 'driver']),
  rng: new Set(['rate', 'backend', 'driver']),
  nvram: new Set([]),
  panic: new Set([]),
  shmem: new Set(['model', 'size', 'server', 'msi']),
  memory: new Set(['source', 'target']),
  iommu: new Set(['driver']),
  vsock: new Set(['cid', 'driver']),
  crypto: new Set(['backend']),
};

/** virDomainWatchdogModel and virDomainWatchdogAction in libvirt 9.0. */
const WATCHDOG_MODELS = new Set(['i6300esb', 'ib700', 'diag288']);
const WATCHDOG_ACTIONS = new Set(['reset', 'shutdown', 'poweroff', 'pause', 'dump', 'none', 'inject-nmi']);

/** virDomainWatchdogDefParseXML: a known model and action, the rest as any simple device. */
function parseWatchdog(ctx: Ctx, el: XmlElement): SimpleDeviceDef {
  const model = attr(el, 'model');
  if (model === undefined) internalError('watchdog must contain model name');
  if (!WATCHDOG_MODELS.has(model)) unsupported(`unknown watchdog model '${model}'`);
  const action = attr(el, 'action');
  if (action !== undefined && !WATCHDOG_ACTIONS.has(action)) unsupported(`unknown watchdog action '${action}'`);
  const def = parseSimple(ctx, el);
  // The action defaults to reset, and is always written out.
  if (action === undefined) def.attrs.splice(def.attrs.findIndex(([k]) => k === 'model') + 1, 0, ['action', 'reset']);
  return def;
}

function parseSimple(ctx: Ctx, el: XmlElement): SimpleDeviceDef {
  const kids: XmlElement[] = [];
  const known = SIMPLE_CHILDREN[el.name];
  let infoPos: number | undefined;
  for (const c of el.children) {
    if (!isElement(c)) continue;
    if (INFO_NAMES.has(c.name)) infoPos ??= kids.length;
    else if (!known || known.has(c.name)) kids.push(c);
  }
  const def: SimpleDeviceDef = { kind: el.name, attrs: attrs(el), children: kids, info: parseInfo(ctx, el) };
  if (infoPos !== undefined && infoPos < kids.length) def.infoPos = infoPos;
  normalizeSimple(def);
  return def;
}

/** A definition's devices until they are parsed; never handed out. */
const NO_DEVICES_YET: DomainDevices = Object.freeze(emptyDevices());

function emptyDevices(): DomainDevices {
  return {
    disks: [], controllers: [], leases: [], filesystems: [], interfaces: [], smartcards: [], serials: [],
    parallels: [], consoles: [], channels: [], inputs: [], tpms: [], graphics: [], sounds: [], audios: [],
    videos: [], hostdevs: [], redirdevs: [], redirfilters: [], hubs: [], watchdogs: [], rngs: [], panics: [],
    shmems: [], memories: [], cryptos: [],
  };
}

/** One device element; undefined for elements libvirt ignores. */
function parseDevice(ctx: Ctx, el: XmlElement): DomainDeviceDef | undefined {
  switch (el.name) {
    case 'disk':
      return parseDisk(ctx, el);
    case 'controller':
      return parseController(ctx, el);
    case 'interface':
      return parseInterface(ctx, el);
    case 'hostdev':
      return parseHostdev(ctx, el);
    case 'serial':
    case 'parallel':
    case 'console':
    case 'channel':
      return parseChr(ctx, el, el.name);
    case 'input':
      return parseInput(ctx, el);
    case 'graphics':
      return parseGraphics(el);
    case 'lease':
    case 'filesystem':
    case 'smartcard':
    case 'tpm':
    case 'sound':
    case 'audio':
    case 'video':
    case 'redirdev':
    case 'redirfilter':
    case 'hub':
    case 'memballoon':
    case 'rng':
    case 'nvram':
    case 'panic':
    case 'shmem':
    case 'memory':
    case 'iommu':
    case 'vsock':
    case 'crypto':
      return parseSimple(ctx, el);
    case 'watchdog':
      return parseWatchdog(ctx, el);
    default:
      return undefined;
  }
}

/**
 * virDomainDiskInsert: a disk goes after the last disk on its bus, or before the first disk on its
 * bus with a higher target index.
 */
export function insertDisk(devices: DomainDevices, disk: DiskDef): void {
  const disks = devices.disks;
  const idx = diskNameToIndex(disk.target.dev);
  let at = -1;
  for (let i = disks.length - 1; i >= 0; i--) {
    if (disks[i].target.bus !== disk.target.bus) continue;
    if (diskNameToIndex(disks[i].target.dev) > idx) at = i;
    else if (at === -1) at = i + 1;
  }
  if (at < 0) disks.push(disk);
  else disks.splice(at, 0, disk);
}

/**
 * virDomainControllerInsert: after the last controller of the same type, before the first one of
 * that type with a higher index, and a USB master before its companions of the same index.
 */
export function insertController(devices: DomainDevices, ctrl: ControllerDef): void {
  const list = devices.controllers;
  let at = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const cur = list[i];
    if (cur.type !== ctrl.type) continue;
    if (ctrl.index < 0) {
      if (at === -1) at = i + 1;
      continue;
    }
    if (cur.index > ctrl.index) at = i;
    else if (cur.index === ctrl.index && ctrl.info.masterStartport === undefined && cur.info.masterStartport !== undefined) at = i;
    else if (at === -1) at = i + 1;
  }
  if (at < 0) list.push(ctrl);
  else list.splice(at, 0, ctrl);
}

/** Adds a parsed device to the list it belongs to. */
export function addDevice(devices: DomainDevices, dev: DomainDeviceDef): void {
  switch (dev.kind) {
    case 'disk':
      insertDisk(devices, dev as DiskDef);
      return;
    case 'controller':
      // libvirt's parser sorts only USB controllers (masters before companions); others keep
      // document order.
      if ((dev as ControllerDef).type === 'usb') insertController(devices, dev as ControllerDef);
      else devices.controllers.push(dev as ControllerDef);
      return;
    case 'interface':
      devices.interfaces.push(dev as NetDef);
      return;
    case 'hostdev':
      devices.hostdevs.push(dev as HostdevDef);
      return;
    case 'serial':
      devices.serials.push(dev as ChrDef);
      return;
    case 'parallel':
      devices.parallels.push(dev as ChrDef);
      return;
    case 'console':
      devices.consoles.push(dev as ChrDef);
      return;
    case 'channel':
      devices.channels.push(dev as ChrDef);
      return;
    case 'input':
      devices.inputs.push(dev as InputDef);
      return;
    case 'graphics':
      devices.graphics.push(dev as GraphicsDef);
      return;
  }
  const simple = dev as SimpleDeviceDef;
  switch (simple.kind) {
    case 'memballoon':
      devices.memballoon = simple;
      return;
    case 'nvram':
      devices.nvram = simple;
      return;
    case 'iommu':
      devices.iommu = simple;
      return;
    case 'vsock':
      devices.vsock = simple;
      return;
  }
  const lists: Record<string, SimpleDeviceDef[]> = {
    lease: devices.leases,
    filesystem: devices.filesystems,
    smartcard: devices.smartcards,
    tpm: devices.tpms,
    sound: devices.sounds,
    audio: devices.audios,
    video: devices.videos,
    redirdev: devices.redirdevs,
    redirfilter: devices.redirfilters,
    hub: devices.hubs,
    watchdog: devices.watchdogs,
    rng: devices.rngs,
    panic: devices.panics,
    shmem: devices.shmems,
    memory: devices.memories,
    crypto: devices.cryptos,
  };
  lists[simple.kind]?.push(simple);
}

function parseDevices(ctx: Ctx, el: XmlElement | undefined): DomainDevices {
  const devices = emptyDevices();
  if (!el) return devices;
  for (const c of el.children) {
    if (!isElement(c)) continue;
    if (c.name === 'emulator') {
      if (devices.emulator === undefined) devices.emulator = textOf(c) || undefined;
      continue;
    }
    const dev = parseDevice(ctx, c);
    if (dev) addDevice(devices, dev);
  }
  return devices;
}

// ---------------------------------------------------------------------------------------------
// top level

const OS_TYPED = new Set(['type', 'boot', 'bootmenu', 'loader', 'nvram', 'kernel', 'initrd', 'cmdline', 'dtb', 'root', 'init', 'initarg']);

function parseOs(el: XmlElement | undefined): OsDef {
  const typeEl = el ? child(el, 'type') : undefined;
  const type = typeEl ? textOf(typeEl) : undefined;
  if (!type) xmlError('an os <type> must be specified');
  if (!OS_TYPES.has(type)) unsupported(`unknown OS type '${type}'`);
  const os: OsDef = { type, boot: [], extra: [] };
  const arch = attr(typeEl, 'arch');
  if (arch !== undefined) os.arch = arch;
  const machine = attr(typeEl, 'machine');
  if (machine !== undefined) os.machine = machine;
  const osEl = el!;
  const firmware = attr(osEl, 'firmware');
  if (firmware !== undefined) os.firmware = firmware;
  for (const b of children(osEl, 'boot')) {
    const dev = attr(b, 'dev');
    if (dev === undefined) internalError('missing boot device');
    if (!['fd', 'hd', 'cdrom', 'network'].includes(dev)) invalidEnumValue('dev', 'boot', dev);
    if (os.boot.length < 4) os.boot.push(dev);
  }
  const bootmenu = child(osEl, 'bootmenu');
  if (bootmenu) os.bootmenu = orderAttrs(bootmenu, ['enable', 'timeout']);
  const loader = child(osEl, 'loader');
  if (loader) os.loader = { attrs: orderAttrs(loader, ['readonly', 'secure', 'type', 'format', 'stateless']), path: textOf(loader) || undefined };
  const nvram = child(osEl, 'nvram');
  if (nvram) {
    os.nvram = {
      attrs: orderAttrs(nvram, ['template', 'templateFormat', 'type', 'format']),
      path: children(nvram).length ? undefined : textOf(nvram) || undefined,
      children: children(nvram),
    };
  }
  os.kernel = childString(osEl, 'kernel');
  os.initrd = childString(osEl, 'initrd');
  os.cmdline = childString(osEl, 'cmdline');
  os.dtb = childString(osEl, 'dtb');
  os.root = childString(osEl, 'root');
  os.init = childString(osEl, 'init');
  const initargs = children(osEl, 'initarg').map((a) => textOf(a) ?? '');
  if (initargs.length) os.initargs = initargs;
  os.extra = children(osEl).filter((c) => !OS_TYPED.has(c.name));
  for (const fw of os.extra) {
    if (fw.name !== 'firmware') continue;
    const features = children(fw, 'feature');
    for (const f of features) f.attrs = new Map(orderAttrs(f, ['enabled', 'name']));
    // Enrolled keys only make sense with secure boot, which they imply.
    const enrolled = features.find((f) => attr(f, 'name') === 'enrolled-keys');
    if (attr(enrolled, 'enabled') === 'yes' && !features.some((f) => attr(f, 'name') === 'secure-boot')) {
      features.push({ name: 'feature', attrs: new Map([['enabled', 'yes'], ['name', 'secure-boot']]), children: [], line: 0 });
    }
    const rank = (f: XmlElement): number => ['enrolled-keys', 'secure-boot'].indexOf(attr(f, 'name') ?? '');
    fw.children = features.sort((a, b) => rank(a) - rank(b));
  }
  return os;
}

function parseVcpu(el: XmlElement | undefined): VcpuDef {
  const vcpu: VcpuDef = { count: 1, placement: 'static' };
  if (!el) return vcpu;
  const text = textOf(el)!.trim();
  if (text !== '') {
    const n = parseUInt(text);
    if (n === undefined) xmlError('maximum vcpus count must be an integer');
    vcpu.count = n;
  }
  const current = attr(el, 'current');
  if (current !== undefined) {
    const n = parseUInt(current);
    if (n === undefined) xmlError('current vcpus count must be an integer');
    vcpu.current = n;
  }
  const placement = attr(el, 'placement');
  const cpuset = attr(el, 'cpuset');
  if (placement !== undefined) {
    if (placement !== 'static' && placement !== 'auto') invalidEnumValue('placement', 'vcpu', placement);
    vcpu.placement = placement;
  }
  if (cpuset !== undefined && cpuset !== '') vcpu.cpuset = canonicalBitmap(cpuset);
  return vcpu;
}

function parseLifecycle(el: XmlElement, name: string, allowed: ReadonlySet<string>, fallback: string): string;
function parseLifecycle(el: XmlElement, name: string, allowed: ReadonlySet<string>): string | undefined;
function parseLifecycle(el: XmlElement, name: string, allowed: ReadonlySet<string>, fallback?: string): string | undefined {
  const v = childString(el, name);
  if (v === undefined) return fallback;
  if (!allowed.has(v)) unsupported(`unknown ${name} action: ${v}`);
  return v;
}

function parseMemory(root: XmlElement, def: DomainDef): void {
  const mem = child(root, 'memory');
  const memText = mem ? textOf(mem) : undefined;
  if (mem && memText !== '') {
    def.memory = parseMemoryKiB(memText!, attr(mem, 'unit'), './memory[1]');
    const dumpCore = attr(mem, 'dumpCore');
    if (dumpCore !== undefined) def.memoryDumpCore = dumpCore;
  }
  const cur = child(root, 'currentMemory');
  const curText = cur ? textOf(cur) : undefined;
  if (cur && curText !== '') def.currentMemory = parseMemoryKiB(curText!, attr(cur, 'unit'), './currentMemory[1]');
  const max = child(root, 'maxMemory');
  const maxText = max ? textOf(max) : undefined;
  if (max && maxText !== '') {
    const kib = parseMemoryKiB(maxText!, attr(max, 'unit'), './maxMemory[1]');
    const slotsText = attr(max, 'slots');
    const slots = slotsText === undefined ? 0 : parseUInt(slotsText);
    if (slots === undefined) xmlError('Failed to parse memory slot count');
    def.maxMemory = { kib, slots };
  }
}

/** libvirt 9.0's virDomainFeature names. */
const FEATURE_NAMES = new Set([
  'acpi', 'apic', 'pae', 'hap', 'viridian', 'privnet', 'hyperv', 'kvm', 'pvspinlock', 'capabilities', 'pmu',
  'vmport', 'gic', 'smm', 'ioapic', 'hpt', 'vmcoreinfo', 'htm', 'nested-hv', 'msrs', 'ccf-assist', 'xen', 'cfpc',
  'sbbc', 'ibs', 'tcg',
]);

const CLOCK_DEFAULT: XmlElement = { name: 'clock', attrs: new Map([['offset', 'utc']]), children: [], line: 0 };

function reorderAttrs(el: XmlElement, order: readonly string[]): void {
  const out = new Map<string, string>();
  for (const k of order) {
    const v = el.attrs.get(k);
    if (v !== undefined) out.set(k, v);
  }
  for (const [k, v] of el.attrs) if (!out.has(k)) out.set(k, v);
  el.attrs = out;
}

const CPU_CHILD_ORDER = ['model', 'vendor', 'topology', 'cache', 'maxphysaddr', 'feature', 'numa'];

/** virCPUDefParseXML's defaults and virCPUDefFormat's order for the guest <cpu>. */
function normalizeCpu(cpu: XmlElement): void {
  // A <model> without a name says nothing libvirt keeps (e.g. host-model's fallback).
  const kids = children(cpu).filter((c) => c.name !== 'model' || (textOf(c) ?? '').trim() !== '');
  const model = kids.find((c) => c.name === 'model');
  if (model) {
    if (!cpu.attrs.has('mode')) cpu.attrs.set('mode', 'custom');
    if (cpu.attrs.get('mode') === 'custom') {
      if (!cpu.attrs.has('match')) cpu.attrs.set('match', 'exact');
      if (!model.attrs.has('fallback')) model.attrs.set('fallback', 'allow');
    }
    reorderAttrs(model, ['fallback', 'vendor_id']);
  }
  reorderAttrs(cpu, ['mode', 'match', 'check', 'migratable', 'deprecated_features']);
  for (const c of kids) {
    if (c.name === 'topology') {
      if (!c.attrs.has('dies')) c.attrs.set('dies', '1');
      reorderAttrs(c, ['sockets', 'dies', 'clusters', 'cores', 'threads']);
    } else if (c.name === 'feature') {
      if (!c.attrs.has('policy') && cpu.attrs.get('mode') !== 'host-model') c.attrs.set('policy', 'require');
      reorderAttrs(c, ['policy', 'name']);
    } else if (c.name === 'numa') {
      children(c, 'cell').forEach((cell, i) => {
        if (!cell.attrs.has('id')) cell.attrs.set('id', String(i));
        const cpus = cell.attrs.get('cpus');
        if (cpus !== undefined) cell.attrs.set('cpus', canonicalBitmap(cpus));
        const mem = cell.attrs.get('memory');
        if (mem !== undefined) {
          cell.attrs.set('memory', String(parseMemoryKiB(mem, cell.attrs.get('unit'), './@memory')));
          cell.attrs.set('unit', 'KiB');
        }
        reorderAttrs(cell, ['id', 'cpus', 'memory', 'unit', 'memAccess', 'discard']);
      });
      normalizeNumaDistances(children(c, 'cell'));
    }
  }
  const rank = (e: XmlElement): number => {
    const i = CPU_CHILD_ORDER.indexOf(e.name);
    return i < 0 ? CPU_CHILD_ORDER.length : i;
  };
  cpu.children = kids.sort((a, b) => rank(a) - rank(b));
}

/** numa_conf.h: a node's distance to itself, and to a node it cannot reach. */
const LOCAL_DISTANCE = 10;
const UNREACHABLE_DISTANCE = 255;

/**
 * virDomainNumaDefNodeDistanceParseXML over all cells, then virNumaDistanceFormat: each cell that
 * gives <distances> (or is named by one) gets a row with itself at 10, every distance it gives, and
 * the distances other cells give to it that it does not give back (symmetry); rows are written in
 * sibling-id order. The same checks and messages as libvirt's.
 */
function normalizeNumaDistances(cells: XmlElement[]): void {
  const n = cells.length;
  const rows = new Map<number, number[]>();
  const rowOf = (cell: number): number[] => {
    let row = rows.get(cell);
    if (!row) {
      row = new Array<number>(n).fill(0);
      row[cell] = LOCAL_DISTANCE;
      rows.set(cell, row);
    }
    return row;
  };
  const uint = (v: string | undefined, name: string): number => {
    if (v === undefined) throw virError(VIR_ERR_XML_ERROR, VIR_FROM_XML, `Missing required attribute '${name}' in element 'sibling'`);
    if (!/^\d+$/.test(v.trim()) || Number(v) > 0xffffffff) invalidUIntValue(name, 'sibling', v);
    return Number(v);
  };
  cells.forEach((cell, i) => {
    const cur = Number(cell.attrs.get('id') ?? i);
    const distances = child(cell, 'distances');
    if (!distances || cur >= n) return;
    const siblings = children(distances, 'sibling');
    if (siblings.length === 0) xmlError('NUMA distances defined without siblings');
    for (const sibling of siblings) {
      const id = uint(sibling.attrs.get('id'), 'id');
      if (id >= n) xmlError(`'sibling_id ${id}' does not refer to a valid cell within NUMA 'cell id ${cur}'`);
      const value = uint(sibling.attrs.get('value'), 'value');
      if (value < LOCAL_DISTANCE || value > UNREACHABLE_DISTANCE || (id === cur) !== (value === LOCAL_DISTANCE)) {
        xmlError(`'value ${value}' is invalid for 'sibling id ${id}' under NUMA 'cell id ${cur}'`);
      }
      rowOf(cur)[id] = value;
      const back = rowOf(id);
      if (back[cur] === 0) back[cur] = value;
    }
  });
  cells.forEach((cell, i) => {
    const cur = Number(cell.attrs.get('id') ?? i);
    const others = cell.children.filter((k) => !(isElement(k) && k.name === 'distances'));
    const row = rows.get(cur);
    if (!row) {
      cell.children = others;
      return;
    }
    const siblings: XmlNode[] = [];
    row.forEach((value, id) => {
      if (value !== 0) siblings.push({ name: 'sibling', attrs: new Map([['id', String(id)], ['value', String(value)]]), children: [], line: cell.line });
    });
    // <distances> comes before <cache> in libvirt's cell.
    cell.children = [{ name: 'distances', attrs: new Map(), children: siblings, line: cell.line }, ...others.filter(isElement)];
  });
}

/** Rewrites the set-valued attribute `name` of every descendant in libvirt's canonical form. */
function canonicalSets(el: XmlElement | undefined, name: string): void {
  if (!el) return;
  for (const c of el.children) {
    if (!isElement(c)) continue;
    const v = c.attrs.get(name);
    if (v !== undefined) c.attrs.set(name, canonicalBitmap(v));
    canonicalSets(c, name);
  }
}

/** Orders an element's children as libvirt writes them (stable for equal names). */
function sortChildren(el: XmlElement | undefined, order: readonly string[]): XmlElement | undefined {
  if (!el) return el;
  const rank = (n: XmlNode): number => {
    const i = isElement(n) ? order.indexOf(n.name) : -1;
    return i < 0 ? order.length : i;
  };
  el.children = el.children.filter(isElement).sort((a, b) => rank(a) - rank(b));
  return el;
}

/** Parses the <domain> element itself (no post-parse, no validation). */
export function parseDomainElement(root: XmlElement, opts: DomainXMLOptions = {}, flags = VIR_DOMAIN_DEF_PARSE_INACTIVE): DomainDef {
  if (root.name !== 'domain') {
    throw virError(VIR_ERR_XML_ERROR, VIR_FROM_XML, `expecting root element of 'domain', not '${root.name}'`);
  }
  const ctx: Ctx = { flags, opts };
  const type = attr(root, 'type');
  if (type === undefined) internalError('missing domain type attribute');
  if (!VIRT_TYPES.has(type)) unsupported(`invalid domain type ${type}`);
  const name = childString(root, 'name');
  if (name === undefined) throw virError(VIR_ERR_NO_NAME, VIR_FROM_DOMAIN);
  if (name.includes('/')) xmlError(`name ${name} cannot contain '/'`);
  const uuidText = childString(root, 'uuid');
  let uuid: string;
  if (uuidText === undefined) {
    uuid = (opts.generateUUID ?? generateUUID)();
  } else {
    const parsed = parseUUID(uuidText);
    if (parsed === null) internalError('malformed uuid element');
    uuid = parsed;
  }
  const namespaces: AttrList = [];
  for (const [k, v] of root.attrs) {
    if (k.startsWith('xmlns:') && (opts.xmlNamespaces === undefined || opts.xmlNamespaces.includes(v))) namespaces.push([k, v]);
  }
  const prefixes = new Set(namespaces.map(([k]) => k.slice('xmlns:'.length)));

  const def: DomainDef = {
    type,
    namespaces,
    name,
    uuid,
    memory: 0,
    currentMemory: 0,
    vcpu: { count: 1, placement: 'static' },
    sysinfo: [],
    os: { type: 'hvm', boot: [], extra: [] },
    clock: CLOCK_DEFAULT,
    onPoweroff: 'destroy',
    onReboot: 'restart',
    onCrash: 'destroy',
    // Replaced by the parsed devices below: allocating a list set here would only make garbage.
    devices: NO_DEVICES_YET,
    seclabels: [],
    namespaced: [],
  };
  const genid = child(root, 'genid');
  if (genid) {
    const text = textOf(genid)!.trim();
    if (text === '') def.genid = (opts.generateUUID ?? generateUUID)();
    else {
      const g = parseUUID(text);
      if (g === null) internalError('malformed genid element');
      def.genid = g;
    }
  }
  const title = childString(root, 'title');
  if (title !== undefined) {
    if (title.includes('\n')) xmlError("Domain title can't contain newlines");
    def.title = title;
  }
  const description = childString(root, 'description');
  if (description !== undefined) def.description = description;
  const metadata = child(root, 'metadata');
  if (metadata && children(metadata).length) def.metadata = metadata;
  parseMemory(root, def);

  def.blkiotune = child(root, 'blkiotune');
  def.memtune = child(root, 'memtune');
  def.memoryBacking = sortChildren(child(root, 'memoryBacking'), [
    'hugepages', 'nosharepages', 'locked', 'source', 'access', 'allocation', 'discard',
  ]);
  def.vcpu = parseVcpu(child(root, 'vcpu'));
  def.vcpus = child(root, 'vcpus');
  def.iothreads = child(root, 'iothreads');
  def.iothreadids = child(root, 'iothreadids');
  fillIothreadIds(def);
  def.cputune = child(root, 'cputune');
  def.numatune = sortChildren(child(root, 'numatune'), ['memory', 'memnode']);
  canonicalSets(def.numatune, 'nodeset');
  canonicalSets(def.cputune, 'cpuset');
  canonicalSets(def.memoryBacking, 'nodeset');
  def.resource = child(root, 'resource');
  def.sysinfo = children(root, 'sysinfo');
  smbiosSystemUUID(def, uuidText === undefined);
  def.bootloader = childString(root, 'bootloader');
  def.bootloaderArgs = childString(root, 'bootloader_args');
  def.os = parseOs(child(root, 'os'));
  def.idmap = child(root, 'idmap');
  const features = child(root, 'features');
  if (features) {
    def.features = new Map();
    for (const f of children(features)) {
      if (!FEATURE_NAMES.has(f.name)) unsupported(`unexpected feature '${f.name}'`);
      if (f.name === 'hyperv' && !f.attrs.has('mode')) f.attrs = new Map([['mode', 'custom'], ...f.attrs]);
      if (f.name === 'smm') {
        for (const tseg of children(f, 'tseg')) {
          const bytes = parseScaledBytes(textOf(tseg) ?? '', attr(tseg, 'unit'), 1048576n, './features/smm/tseg');
          tseg.attrs = new Map([['unit', 'MiB']]);
          tseg.children = [{ text: String(bytes / 1048576n) }];
        }
      }
      if (!def.features.has(f.name)) def.features.set(f.name, f);
    }
  }
  def.cpu = child(root, 'cpu');
  if (def.cpu) normalizeCpu(def.cpu);
  const clock = child(root, 'clock');
  if (clock) {
    if (!clock.attrs.has('offset')) clock.attrs.set('offset', 'utc');
    def.clock = clock;
  }
  def.onPoweroff = parseLifecycle(root, 'on_poweroff', LIFECYCLE_ACTIONS, 'destroy');
  def.onReboot = parseLifecycle(root, 'on_reboot', LIFECYCLE_ACTIONS, 'restart');
  def.onCrash = parseLifecycle(root, 'on_crash', CRASH_ACTIONS, 'destroy');
  def.onLockfailure = parseLifecycle(root, 'on_lockfailure', LOCKFAILURE_ACTIONS);
  def.pm = child(root, 'pm');
  def.perf = child(root, 'perf');
  def.devices = parseDevices(ctx, child(root, 'devices'));
  def.seclabels = children(root, 'seclabel');
  def.keywrap = child(root, 'keywrap');
  def.launchSecurity = child(root, 'launchSecurity');
  for (const c of children(root)) {
    const colon = c.name.indexOf(':');
    if (colon > 0 && prefixes.has(c.name.slice(0, colon))) def.namespaced.push(c);
  }
  return def;
}

/** Parses a single device element (for attach/detach/update), with the domain's context. */
export function parseDeviceElement(el: XmlElement, opts: DomainXMLOptions = {}, flags = VIR_DOMAIN_DEF_PARSE_INACTIVE): DomainDeviceDef {
  const dev = parseDevice({ flags, opts }, el);
  if (!dev) throw virError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, `unknown device type '${el.name}'`);
  return dev;
}

