// Network XML (<network>) to a typed definition and back, in libvirt 9.0's canonical output form
// (network_conf.c: virNetworkDefParseXML / virNetworkDefFormatBuf). Pure: no I/O.
import {
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_NO_NAME,
  VIR_ERR_XML_DETAIL,
  VIR_ERR_XML_ERROR,
  VIR_FROM_NETWORK,
  VIR_FROM_NONE,
  VIR_FROM_XML,
  virError,
} from '../error';
import { generateUUID, parseUUID } from '../util/uuid';
import { XmlWriter, attr, child, children, escapeXML, isElement, parseXML, textOf, type XmlElement } from './xml';

const FROM = VIR_FROM_NETWORK;

export const NETWORK_FORWARD_MODES = [
  'none',
  'nat',
  'route',
  'open',
  'bridge',
  'private',
  'vepa',
  'passthrough',
  'hostdev',
] as const;
export type NetworkForwardMode = (typeof NETWORK_FORWARD_MODES)[number];

export interface NetworkForwardDef {
  mode: NetworkForwardMode;
  dev?: string;
  managed?: string;
  natAddress?: { start: string; end?: string };
  natPort?: { start: number; end?: number };
  interfaces: string[];
  pfs: string[];
}

export interface NetworkBridgeDef {
  name?: string;
  stp: boolean;
  delay: number;
  macTableManager?: string;
  zone?: string;
}

export interface NetworkDhcpRange {
  start: string;
  end: string;
}

export interface NetworkDhcpHost {
  mac?: string;
  id?: string;
  name?: string;
  ip?: string;
}

export interface NetworkIPDef {
  family?: string;
  address?: string;
  netmask?: string;
  prefix?: number;
  localPtr?: string;
  tftpRoot?: string;
  ranges: NetworkDhcpRange[];
  hosts: NetworkDhcpHost[];
  bootp?: { file: string; server?: string };
  hasDhcp: boolean;
}

export interface NetworkDnsDef {
  enable?: string;
  forwardPlainNames?: string;
  forwarders: Array<{ addr?: string; domain?: string }>;
  txts: Array<{ name: string; value?: string }>;
  srvs: Array<Array<[string, string]>>;
  hosts: Array<{ ip: string; hostnames: string[] }>;
}

export interface NetworkDef {
  name: string;
  uuid: string;
  ipv6?: string;
  trustGuestRxFilters?: string;
  metadata?: XmlElement;
  forward: NetworkForwardDef;
  /** <forward/> present in the document (an empty one means nat). */
  bridge?: NetworkBridgeDef;
  mtu?: number;
  mac?: string;
  domain?: { name: string; localOnly?: string };
  dns?: NetworkDnsDef;
  ips: NetworkIPDef[];
  routes: Array<Array<[string, string]>>;
  virtualportType?: string;
  portgroups: Array<{ name: string; default?: string }>;
}

function xmlError(detail: string): never {
  throw virError(VIR_ERR_XML_ERROR, FROM, detail);
}

function unsupported(detail: string): never {
  throw virError(VIR_ERR_CONFIG_UNSUPPORTED, FROM, detail);
}

/** inet_aton-style IPv4 parse (libvirt goes through getaddrinfo, which accepts the short forms). */
function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length < 1 || parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(p)) return null;
    const n = p.startsWith('0x') ? Number.parseInt(p, 16) : p.length > 1 && p.startsWith('0') ? Number.parseInt(p, 8) : Number(p);
    if (!Number.isFinite(n)) return null;
    nums.push(n);
  }
  const last = nums.pop()!;
  const lastBits = 8 * (4 - nums.length);
  if (nums.some((n) => n > 255) || last >= 2 ** lastBits) return null;
  let value = 0;
  for (const n of nums) value = value * 256 + n;
  return value * 2 ** lastBits + last;
}

function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(value / 2 ** s) % 256).join('.');
}

function isIPv6(text: string): boolean {
  return text.includes(':') && /^[0-9a-fA-F:.]+$/.test(text);
}

/** The canonical text of an address, as virSocketAddrFormat prints it. */
function canonicalAddress(text: string, what: string, netName: string): string {
  if (isIPv6(text)) return text.toLowerCase();
  const v4 = parseIPv4(text);
  if (v4 === null) xmlError(`Invalid ${what} '${text}' in network '${netName}'`);
  return formatIPv4(v4);
}

function prefixFromNetmask(mask: string): number | null {
  const v = parseIPv4(mask);
  if (v === null) return null;
  const bits = v.toString(2).padStart(32, '0');
  const ones = bits.indexOf('0') === -1 ? 32 : bits.indexOf('0');
  return /^1*0*$/.test(bits) ? ones : null;
}

function parseIP(el: XmlElement, netName: string): NetworkIPDef {
  const ip: NetworkIPDef = { ranges: [], hosts: [], hasDhcp: false };
  ip.family = attr(el, 'family');
  const address = attr(el, 'address');
  if (address !== undefined) ip.address = canonicalAddress(address, 'address', netName);
  const netmask = attr(el, 'netmask');
  if (netmask !== undefined) ip.netmask = canonicalAddress(netmask, 'netmask', netName);
  const prefixText = attr(el, 'prefix');
  if (prefixText !== undefined) {
    if (!/^[0-9]+$/.test(prefixText)) {
      throw virError(
        VIR_ERR_XML_ERROR,
        VIR_FROM_XML,
        `Invalid value for attribute 'prefix' in element 'ip': '${prefixText}'. Expected non-negative integer value`,
      );
    }
    ip.prefix = Number(prefixText);
  }
  ip.localPtr = attr(el, 'localPtr');
  const v6 = ip.family === 'ipv6' || (ip.address !== undefined && isIPv6(ip.address));
  if (ip.family !== undefined && ip.family !== 'ipv4' && ip.family !== 'ipv6') {
    xmlError(`Unrecognized family '${ip.family}' in network '${netName}'`);
  }
  if (ip.prefix !== undefined && ip.prefix > (v6 ? 128 : 32)) {
    unsupported(`Invalid ${v6 ? 'IPv6' : 'IPv4'} prefix '${ip.prefix}' in network '${netName}'`);
  }
  if (ip.netmask !== undefined && ip.prefix !== undefined) {
    unsupported(`Network '${netName}' IP address cannot have both a prefix and a netmask`);
  }
  const tftp = child(el, 'tftp');
  if (tftp) ip.tftpRoot = attr(tftp, 'root');
  const dhcp = child(el, 'dhcp');
  if (dhcp) {
    ip.hasDhcp = true;
    for (const r of children(dhcp, 'range')) {
      const start = attr(r, 'start');
      const end = attr(r, 'end');
      if (start === undefined) xmlError(`Missing 'start' attribute in dhcp range for network '${netName}'`);
      if (end === undefined) xmlError(`Missing 'end' attribute in dhcp range for network '${netName}'`);
      const range = {
        start: canonicalAddress(start, 'dhcp range start', netName),
        end: canonicalAddress(end, 'dhcp range end', netName),
      };
      checkRangeWithinNetwork(ip, range);
      ip.ranges.push(range);
    }
    for (const h of children(dhcp, 'host')) {
      ip.hosts.push({ mac: attr(h, 'mac'), id: attr(h, 'id'), name: attr(h, 'name'), ip: attr(h, 'ip') });
    }
    const bootp = child(dhcp, 'bootp');
    if (bootp) {
      const file = attr(bootp, 'file');
      if (file === undefined) xmlError(`Missing required file attribute in dhcp bootp element of network '${netName}'`);
      ip.bootp = { file, server: attr(bootp, 'server') };
    }
  }
  return ip;
}

function ipPrefix(ip: NetworkIPDef): number | null {
  if (ip.prefix !== undefined) return ip.prefix;
  if (ip.netmask !== undefined) return prefixFromNetmask(ip.netmask);
  if (ip.address !== undefined && !isIPv6(ip.address)) {
    const first = Math.floor(parseIPv4(ip.address)! / 2 ** 24);
    return first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : null;
  }
  return null;
}

function checkRangeWithinNetwork(ip: NetworkIPDef, range: NetworkDhcpRange): void {
  if (ip.address === undefined || isIPv6(ip.address) || isIPv6(range.start)) return;
  const prefix = ipPrefix(ip);
  if (prefix === null) return;
  const size = 2 ** (32 - prefix);
  const net = Math.floor(parseIPv4(ip.address)! / size);
  const inside = (a: string): boolean => Math.floor(parseIPv4(a)! / size) === net;
  if (!inside(range.start) || !inside(range.end)) {
    throw virError(
      VIR_ERR_INTERNAL_ERROR,
      VIR_FROM_NONE,
      `range ${range.start} - ${range.end} is not entirely within network ${ip.address}/${prefix}`,
    );
  }
}

function parseForward(el: XmlElement | undefined, netName: string): NetworkForwardDef {
  const fwd: NetworkForwardDef = { mode: 'none', interfaces: [], pfs: [] };
  if (!el) return fwd;
  const mode = attr(el, 'mode') ?? 'nat';
  if (!(NETWORK_FORWARD_MODES as readonly string[]).includes(mode) || mode === 'none') {
    unsupported(`unknown forwarding type '${mode}'`);
  }
  fwd.mode = mode as NetworkForwardMode;
  fwd.managed = attr(el, 'managed');
  const nat = child(el, 'nat');
  if (nat) {
    const a = child(nat, 'address');
    if (a) fwd.natAddress = { start: attr(a, 'start') ?? '', end: attr(a, 'end') };
    const p = child(nat, 'port');
    if (p) fwd.natPort = { start: Number(attr(p, 'start') ?? 0), end: attr(p, 'end') !== undefined ? Number(attr(p, 'end')) : undefined };
  }
  for (const i of children(el, 'interface')) {
    const dev = attr(i, 'dev');
    if (dev === undefined) xmlError(`Missing required dev attribute in <forward> <interface> element of network ${netName}`);
    fwd.interfaces.push(dev);
  }
  for (const p of children(el, 'pf')) {
    const dev = attr(p, 'dev');
    if (dev === undefined) xmlError(`Missing required dev attribute in <pf> element of network '${netName}'`);
    fwd.pfs.push(dev);
  }
  fwd.dev = attr(el, 'dev') ?? fwd.interfaces[0];
  return fwd;
}

function parseDns(el: XmlElement): NetworkDnsDef {
  return {
    enable: attr(el, 'enable'),
    forwardPlainNames: attr(el, 'forwardPlainNames'),
    forwarders: children(el, 'forwarder').map((f) => ({ addr: attr(f, 'addr'), domain: attr(f, 'domain') })),
    txts: children(el, 'txt').map((t) => ({ name: attr(t, 'name') ?? '', value: attr(t, 'value') })),
    srvs: children(el, 'srv').map((s) => [...s.attrs.entries()]),
    hosts: children(el, 'host').map((h) => ({
      ip: attr(h, 'ip') ?? '',
      hostnames: children(h, 'hostname').map((n) => textOf(n) ?? ''),
    })),
  };
}

/** virNetworkDefParseString: the whole document, with libvirt's checks and messages. */
export function parseNetworkXML(xml: string): NetworkDef {
  const root = parseXML(xml, '(network_definition)', FROM);
  if (root.name !== 'network') {
    throw virError(VIR_ERR_XML_ERROR, VIR_FROM_XML, `expecting root element of 'network', not '${root.name}'`);
  }
  return networkDefFromElement(root);
}

/** virNetworkDefParseNode: a <network> element already parsed (the test driver's node file). */
export function networkDefFromElement(root: XmlElement): NetworkDef {
  const nameEl = child(root, 'name');
  const name = nameEl ? textOf(nameEl) : undefined;
  if (name === undefined || name === '') throw virError(VIR_ERR_NO_NAME, FROM);
  if (name.includes('/')) throw virError(VIR_ERR_XML_DETAIL, VIR_FROM_XML, 'invalid char in name: /');

  let uuid: string;
  const uuidEl = child(root, 'uuid');
  if (uuidEl) {
    const parsed = parseUUID(textOf(uuidEl) ?? '');
    if (parsed === null) throw virError(VIR_ERR_INTERNAL_ERROR, FROM, 'malformed uuid element');
    uuid = parsed;
  } else {
    uuid = generateUUID();
  }

  const def: NetworkDef = {
    name,
    uuid,
    ipv6: attr(root, 'ipv6'),
    trustGuestRxFilters: attr(root, 'trustGuestRxFilters'),
    metadata: child(root, 'metadata'),
    forward: parseForward(child(root, 'forward'), name),
    ips: [],
    routes: [],
    portgroups: [],
  };

  const bridge = child(root, 'bridge');
  if (bridge) {
    const delay = attr(bridge, 'delay');
    def.bridge = {
      name: attr(bridge, 'name'),
      stp: attr(bridge, 'stp') !== 'off',
      delay: delay !== undefined && /^[0-9]+$/.test(delay) ? Number(delay) : 0,
      macTableManager: attr(bridge, 'macTableManager'),
      zone: attr(bridge, 'zone'),
    };
  }
  const mtu = child(root, 'mtu');
  if (mtu && attr(mtu, 'size') !== undefined) def.mtu = Number(attr(mtu, 'size'));
  const mac = child(root, 'mac');
  if (mac) {
    const address = attr(mac, 'address') ?? '';
    if (!/^([0-9a-fA-F]{1,2}:){5}[0-9a-fA-F]{1,2}$/.test(address)) {
      xmlError(`Invalid bridge mac address '${address}' in network '${name}'`);
    }
    def.mac = address
      .split(':')
      .map((b) => b.toLowerCase().padStart(2, '0'))
      .join(':');
  }
  const domain = child(root, 'domain');
  if (domain && attr(domain, 'name') !== undefined) {
    def.domain = { name: attr(domain, 'name')!, localOnly: attr(domain, 'localOnly') };
  }
  const dns = child(root, 'dns');
  if (dns) def.dns = parseDns(dns);
  for (const ipEl of children(root, 'ip')) def.ips.push(parseIP(ipEl, name));
  for (const r of children(root, 'route')) def.routes.push([...r.attrs.entries()]);
  const vport = child(root, 'virtualport');
  if (vport) def.virtualportType = attr(vport, 'type');
  for (const pg of children(root, 'portgroup')) {
    def.portgroups.push({ name: attr(pg, 'name') ?? '', default: attr(pg, 'default') });
  }

  const mode = def.forward.mode;
  if ((mode === 'nat' || mode === 'route' || mode === 'open') && def.ips.length === 0) {
    xmlError(`${mode} forwarding requested, but no IP address provided for network '${name}'`);
  }
  return def;
}

/** <metadata> children are dumped by libxml2 in libvirt: double-quoted attributes. */
function writeForeign(w: XmlWriter, el: XmlElement): void {
  const attrs = [...el.attrs.entries()].map(([k, v]) => ` ${k}="${escapeXML(v).replace(/&apos;/g, "'")}"`).join('');
  const kids = el.children.filter(isElement);
  const text = el.children.filter((c) => !isElement(c)).map((c) => (c as { text: string }).text).join('');
  if (kids.length === 0) {
    w.raw(text.trim() === '' ? `<${el.name}${attrs}/>` : `<${el.name}${attrs}>${escapeXML(text).replace(/&apos;/g, "'").replace(/&quot;/g, '"')}</${el.name}>`);
    return;
  }
  w.raw(`<${el.name}${attrs}>`);
  const inner = new XmlWriter();
  for (const k of kids) writeForeign(inner, k);
  for (const line of inner.toString().split('\n')) if (line !== '') w.raw(`  ${line}`);
  w.raw(`</${el.name}>`);
}

/** Modes that get a libvirt-managed bridge and so show stp/delay. */
function managesBridge(mode: NetworkForwardMode): boolean {
  return mode === 'none' || mode === 'nat' || mode === 'route' || mode === 'open';
}

/** virNetworkDefFormat */
export function formatNetworkXML(def: NetworkDef): string {
  const w = new XmlWriter();
  w.open('network', [
    ['ipv6', def.ipv6],
    ['trustGuestRxFilters', def.trustGuestRxFilters],
  ]);
  w.leaf('name', def.name);
  w.leaf('uuid', def.uuid);
  if (def.metadata && def.metadata.children.some(isElement)) {
    w.open('metadata');
    for (const c of def.metadata.children) if (isElement(c)) writeForeign(w, c);
    w.close('metadata');
  }

  const fwd = def.forward;
  if (fwd.mode !== 'none') {
    w.element('forward', [
      ['dev', fwd.dev],
      ['mode', fwd.mode],
      ['managed', fwd.managed],
    ], (f) => {
      if (fwd.natAddress || fwd.natPort) {
        f.element('nat', undefined, (n) => {
          if (fwd.natAddress) n.empty('address', [['start', fwd.natAddress.start], ['end', fwd.natAddress.end]]);
          if (fwd.natPort) n.empty('port', [['start', fwd.natPort.start], ['end', fwd.natPort.end]]);
        });
      }
      for (const pf of fwd.pfs) f.empty('pf', [['dev', pf]]);
      for (const dev of fwd.interfaces) f.empty('interface', [['dev', dev]]);
    });
  }

  if (managesBridge(fwd.mode)) {
    const b = def.bridge;
    w.empty('bridge', [
      ['name', b?.name],
      ['zone', b?.zone],
      ['stp', b?.stp === false ? 'off' : 'on'],
      ['delay', b?.delay ?? 0],
      ['macTableManager', b?.macTableManager],
    ]);
  } else if (def.bridge?.name !== undefined) {
    w.empty('bridge', [
      ['name', def.bridge.name],
      ['macTableManager', def.bridge.macTableManager],
    ]);
  }
  if (def.mtu !== undefined) w.empty('mtu', [['size', def.mtu]]);
  if (def.mac !== undefined) w.empty('mac', [['address', def.mac]]);
  if (def.domain) w.empty('domain', [['name', def.domain.name], ['localOnly', def.domain.localOnly]]);

  const dns = def.dns;
  if (dns) {
    w.element('dns', [
      ['enable', dns.enable],
      ['forwardPlainNames', dns.forwardPlainNames],
    ], (d) => {
      for (const f of dns.forwarders) d.empty('forwarder', [['domain', f.domain], ['addr', f.addr]]);
      for (const t of dns.txts) d.empty('txt', [['name', t.name], ['value', t.value]]);
      for (const s of dns.srvs) d.empty('srv', s);
      for (const h of dns.hosts) {
        d.element('host', [['ip', h.ip]], (hw) => {
          for (const n of h.hostnames) hw.leaf('hostname', n);
        });
      }
    });
  }

  for (const ip of def.ips) {
    w.open('ip', [
      ['family', ip.family],
      ['address', ip.address],
      ['netmask', ip.netmask],
      ['prefix', ip.prefix],
      ['localPtr', ip.localPtr],
    ]);
    if (ip.tftpRoot !== undefined) w.empty('tftp', [['root', ip.tftpRoot]]);
    if (ip.ranges.length > 0 || ip.hosts.length > 0 || ip.bootp) {
      w.open('dhcp');
      for (const r of ip.ranges) w.empty('range', [['start', r.start], ['end', r.end]]);
      for (const h of ip.hosts) w.empty('host', [['mac', h.mac], ['id', h.id], ['name', h.name], ['ip', h.ip]]);
      if (ip.bootp) w.empty('bootp', [['file', ip.bootp.file], ['server', ip.bootp.server]]);
      w.close('dhcp');
    }
    w.close('ip');
  }
  for (const r of def.routes) w.empty('route', r);
  if (def.virtualportType !== undefined) w.empty('virtualport', [['type', def.virtualportType]]);
  for (const pg of def.portgroups) {
    w.open('portgroup', [['name', pg.name], ['default', pg.default]]);
    w.close('portgroup');
  }
  w.close('network');
  return w.toString();
}

/** A deep copy, so a live definition and a persistent one never share state. */
export function copyNetworkDef(def: NetworkDef): NetworkDef {
  return structuredClone(def);
}
