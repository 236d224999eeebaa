// The domain XML API: parse (with libvirt's post-parse defaults and validation) and format.
//
// Typed in DomainDef: name, uuid, memory, vcpu, os, lifecycle actions and, per device, what drivers
// act on (disk target/source/driver, controller type/index/model, interface type/mac/source/model/
// target/teaming/link/mtu, hostdev source address/teaming, chardev type/sources/target, graphics
// ports/listens, device alias/address/boot order). Everything else libvirt knows (cpu, numa,
// tuning, features, clock timers, device sub-elements such as iotune or virtualport) is kept as
// parsed elements, normalised the way libvirt normalises them, and written back in libvirt's
// canonical position. Elements libvirt does not know are dropped, as libvirt drops them.
import { VIR_FROM_DOMAIN } from '../error';
import { pciAddressEqual } from '../util/pci';
import type {
  ControllerDef,
  DeviceAddress,
  DiskDef,
  DomainDef,
  DomainDeviceDef,
  HostdevDef,
  NetDef,
} from './domain-def';
import {
  type DomainXMLOptions,
  parseDeviceElement,
  parseUIntBase0,
  parseDomainElement,
  VIR_DOMAIN_DEF_PARSE_INACTIVE,
  VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE,
} from './domain-parse';
import { postParseDevice, postParseDomain, validateDevice, validateDomain } from './domain-validate';
import { parseXML } from './xml';

export * from './domain-def';
export {
  type DomainXMLOptions,
  VIR_DOMAIN_DEF_PARSE_INACTIVE,
  VIR_DOMAIN_DEF_PARSE_STATUS,
  VIR_DOMAIN_DEF_PARSE_ABI_UPDATE,
  VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE,
  USER_ALIAS_PREFIX,
  addDevice,
  parseDomainElement,
} from './domain-parse';
export { formatDomainXML, formatDeviceXML, FEATURE_ORDER } from './domain-format';
export { allDevices, postParseDomain, validateDomain } from './domain-validate';
export * from './teaming';

/**
 * virDomainDefParseString: XML text -> DomainDef with generic defaults, then the driver's
 * post-parse hook, then validation (driver callbacks before the generic rules, as libvirt's
 * virDomainDefValidate and virDomainDeviceDefValidate order them). `parseFlags` are the
 * VIR_DOMAIN_DEF_PARSE_* flags; the default, INACTIVE, is what defineXML uses.
 */
export function parseDomainXML(xml: string, opts: DomainXMLOptions = {}, parseFlags = VIR_DOMAIN_DEF_PARSE_INACTIVE): DomainDef {
  const root = parseXML(xml, '(domain_definition)', VIR_FROM_DOMAIN);
  const def = parseDomainElement(root, opts, parseFlags);
  postParseDomain(def);
  opts.postParse?.(def, parseFlags);
  if (!(parseFlags & VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE)) {
    validateDomain(def, opts);
  }
  return def;
}

/**
 * virDomainDeviceDefParse: one device element (attach, detach, update). The device gets the
 * device-level defaults and generic validation; `def` is the domain it is meant for.
 */
export function parseDeviceXML(xml: string, def: DomainDef, opts: DomainXMLOptions = {}, parseFlags = VIR_DOMAIN_DEF_PARSE_INACTIVE): DomainDeviceDef {
  const root = parseXML(xml, '(device_definition)', VIR_FROM_DOMAIN);
  const dev = parseDeviceElement(root, opts, parseFlags);
  postParseDevice(dev);
  opts.validateDevice?.(dev, def);
  validateDevice(dev);
  return dev;
}

function addressEqual(a: DeviceAddress, b: DeviceAddress): boolean {
  if (a.type !== b.type) return false;
  if (a.pci && b.pci) return pciAddressEqual(a.pci, b.pci);
  if (a.attrs.length !== b.attrs.length) return false;
  return a.attrs.every(([k, v], i) => b.attrs[i][0] === k && b.attrs[i][1] === v);
}

/** A USB hostdev source's number: `<vendor id=...>`, `<address bus=...>`; 0 when not given. */
function usbSourceNumber(h: HostdevDef, element: string, name: string): number {
  const el = h.sourceChildren.find((c) => c.name === element);
  const text = el?.attrs.get(name);
  return text === undefined ? 0 : (parseUIntBase0(text) ?? 0);
}

/**
 * virDomainHostdevMatchSubsysUSB: a USB device asked for by its host address is the one there;
 * one asked for by IDs is the one with them, wherever a start found it.
 */
function usbSourceMatches(candidate: HostdevDef, wanted: HostdevDef): boolean {
  const n = usbSourceNumber;
  if (n(wanted, 'address', 'bus') !== 0 && n(wanted, 'address', 'device') !== 0) {
    return n(candidate, 'address', 'bus') === n(wanted, 'address', 'bus') && n(candidate, 'address', 'device') === n(wanted, 'address', 'device');
  }
  return n(candidate, 'vendor', 'id') === n(wanted, 'vendor', 'id') && n(candidate, 'product', 'id') === n(wanted, 'product', 'id');
}

/**
 * Whether `candidate` (a device of the domain) is the device `wanted` describes, as libvirt's
 * detach lookups decide: disks by target, interfaces by MAC (and PCI address when given), hostdevs
 * by source, controllers by type and index, anything else by alias or address.
 */
export function domainDeviceMatches(candidate: DomainDeviceDef, wanted: DomainDeviceDef): boolean {
  if (candidate.kind !== wanted.kind) return false;
  const ci = 'info' in candidate ? candidate.info : undefined;
  const wi = 'info' in wanted ? wanted.info : undefined;
  if (wi?.address && ci?.address && !addressEqual(ci.address, wi.address)) return false;
  switch (wanted.kind) {
    case 'disk':
      return (candidate as DiskDef).target.dev === (wanted as DiskDef).target.dev;
    case 'interface': {
      const w = wanted as NetDef;
      return w.mac === undefined || (candidate as NetDef).mac === w.mac;
    }
    case 'hostdev': {
      const c = candidate as HostdevDef;
      const w = wanted as HostdevDef;
      if (c.type !== w.type) return false;
      if (w.pciAddress) return c.pciAddress !== undefined && pciAddressEqual(c.pciAddress, w.pciAddress);
      if (w.mode === 'subsystem' && w.type === 'usb') return usbSourceMatches(c, w);
      return JSON.stringify(c.sourceChildren.map(simplify)) === JSON.stringify(w.sourceChildren.map(simplify));
    }
    case 'controller': {
      const c = candidate as ControllerDef;
      const w = wanted as ControllerDef;
      return c.type === w.type && (w.index < 0 || c.index === w.index);
    }
  }
  if (wi?.alias !== undefined) return ci?.alias === wi.alias;
  if (wi?.address) return ci?.address !== undefined;
  return JSON.stringify(candidate) === JSON.stringify(wanted);
}

function simplify(el: { name: string; attrs: Map<string, string> }): unknown {
  return [el.name, [...el.attrs]];
}
