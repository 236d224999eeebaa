// Node device XML (<device>) to a typed definition and back (node_device_conf.c), for the
// capabilities virtnode's node devices have: system, scsi_host (with its fc_host and vport_ops
// sub-capabilities), pci (with SR-IOV, IOMMU group and PCI Express details), net, usb_device and
// usb (an interface). Pure: no I/O.
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_XML_ERROR, VIR_FROM_NODEDEV, virError } from '../error';
import type { PcieInfo, PcieLink } from '../util/pci-host';
import { XmlWriter, attr, child, childText, children, parseXML, textOf, type XmlElement } from './xml';

const FROM = VIR_FROM_NODEDEV;

export interface SystemCap {
  type: 'system';
  product?: string;
  hardware: { vendor?: string; version?: string; serial?: string; uuid?: string };
  firmware: { vendor?: string; version?: string; releaseDate?: string };
}

export interface ScsiHostCap {
  type: 'scsi_host';
  host: number;
  uniqueId?: number;
  fcHost?: { wwnn: string; wwpn: string; fabricWwn?: string };
  vportOps?: { maxVports: number; vports: number };
}

export interface PciAddressText {
  domain: number;
  bus: number;
  slot: number;
  function: number;
}

export interface PciCap {
  type: 'pci';
  class?: string;
  domain: number;
  bus: number;
  slot: number;
  function: number;
  product: { id: string; name?: string };
  vendor: { id: string; name?: string };
  physFunction?: PciAddressText;
  virtFunctions?: { maxCount?: number; addresses: PciAddressText[] };
  iommuGroup?: { number: number; addresses: PciAddressText[] };
  numaNode?: number;
  /** <capability type='pci-bridge'/> or 'cardbus-bridge'; endpoints have none. */
  headerType?: 'pci-bridge' | 'cardbus-bridge';
  /** <pci-express>: present for PCI Express devices, with their links when they have one. */
  pcie?: PcieInfo;
}

/** virNodeDevCapNet: a network interface. */
export interface NetCap {
  type: 'net';
  interface: string;
  address?: string;
  link?: { speed?: number; state?: string };
  features: string[];
  /** '80203' (wired) or '80211' (wireless) */
  subtype?: string;
}

/** virNodeDevCapUSBDev: a USB device, by its host address and IDs (names as its descriptors give them). */
export interface UsbDeviceCap {
  type: 'usb_device';
  bus: number;
  device: number;
  product: { id: number; name?: string };
  vendor: { id: number; name?: string };
}

/** virNodeDevCapUSBIf: one interface of a USB device. */
export interface UsbInterfaceCap {
  type: 'usb';
  number: number;
  class: number;
  subclass: number;
  protocol: number;
  description?: string;
}

export type NodeDeviceCap = SystemCap | ScsiHostCap | PciCap | NetCap | UsbDeviceCap | UsbInterfaceCap;

export interface NodeDeviceDef {
  name: string;
  path?: string;
  /** <devnode type='dev'>: the device's node in /dev, when it has one. */
  devnode?: string;
  parent?: string;
  /** The bound kernel driver. libvirt formats it but never parses it back. */
  driver?: string;
  caps: NodeDeviceCap[];
}

/** virNodeDevCapType names, in the order of virConnectListAllNodeDeviceFlags' CAP bits. */
export const NODE_DEVICE_CAP_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [1 << 0, 'system'],
  [1 << 1, 'pci'],
  [1 << 2, 'usb_device'],
  [1 << 3, 'usb'],
  [1 << 4, 'net'],
  [1 << 5, 'scsi_host'],
  [1 << 6, 'scsi_target'],
  [1 << 7, 'scsi'],
  [1 << 8, 'storage'],
  [1 << 9, 'fc_host'],
  [1 << 10, 'vports'],
  [1 << 11, 'scsi_generic'],
  [1 << 12, 'drm'],
  [1 << 13, 'mdev_types'],
  [1 << 14, 'mdev'],
  [1 << 15, 'ccw'],
  [1 << 16, 'css'],
  [1 << 17, 'vdpa'],
  [1 << 18, 'ap_card'],
  [1 << 19, 'ap_queue'],
  [1 << 20, 'ap_matrix'],
  [1 << 21, 'vpd'],
];

function intText(el: XmlElement, name: string, devName: string, required: boolean): number | undefined {
  const text = childText(el, name);
  if (text === undefined || text.trim() === '') {
    if (required) throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `no ${name} supplied for '${devName}'`);
    return undefined;
  }
  if (!/^\s*[0-9]+\s*$/.test(text)) throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `invalid ${name} supplied for '${devName}'`);
  return Number(text);
}

function parseCap(el: XmlElement, devName: string): NodeDeviceCap {
  const type = attr(el, 'type');
  if (type === undefined) throw virError(VIR_ERR_INTERNAL_ERROR, FROM, 'missing capability type');
  if (type === 'system') {
    const hw = child(el, 'hardware');
    const fw = child(el, 'firmware');
    if (!hw || childText(hw, 'uuid') === undefined) {
      throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `no system UUID supplied for '${devName}'`);
    }
    return {
      type,
      product: childText(el, 'product'),
      hardware: {
        vendor: hw && childText(hw, 'vendor'),
        version: hw && childText(hw, 'version'),
        serial: hw && childText(hw, 'serial'),
        uuid: hw && childText(hw, 'uuid'),
      },
      firmware: {
        vendor: fw && childText(fw, 'vendor'),
        version: fw && childText(fw, 'version'),
        releaseDate: fw && childText(fw, 'release_date'),
      },
    };
  }
  if (type === 'scsi_host') {
    const cap: ScsiHostCap = {
      type,
      host: intText(el, 'host', devName, true)!,
      uniqueId: intText(el, 'unique_id', devName, false),
    };
    for (const sub of children(el, 'capability')) {
      const subType = attr(sub, 'type');
      if (subType === 'fc_host') {
        const wwnn = childText(sub, 'wwnn');
        const wwpn = childText(sub, 'wwpn');
        if (wwnn === undefined || wwpn === undefined) {
          throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `no WWNN/WWPN supplied for '${devName}'`);
        }
        cap.fcHost = { wwnn, wwpn, fabricWwn: childText(sub, 'fabric_wwn') };
      } else if (subType === 'vport_ops') {
        cap.vportOps = {
          maxVports: intText(sub, 'max_vports', devName, false) ?? 0,
          vports: intText(sub, 'vports', devName, false) ?? 0,
        };
      } else {
        throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `unknown SCSI host capability type '${subType}' for '${devName}'`);
      }
    }
    return cap;
  }
  if (type === 'usb_device') {
    const ids = (name: 'product' | 'vendor') => {
      const e = child(el, name);
      const text = e && textOf(e);
      return { id: requiredNumber(attr(e, 'id'), `USB ${name} ID`, devName), name: text ? text : undefined };
    };
    return {
      type,
      bus: usbNumber(el, 'bus', `USB bus number`, devName),
      device: usbNumber(el, 'device', `USB device number`, devName),
      vendor: ids('vendor'),
      product: ids('product'),
    };
  }
  if (type === 'usb') {
    return {
      type,
      number: usbNumber(el, 'number', 'USB interface number', devName),
      class: usbNumber(el, 'class', 'USB interface class', devName),
      subclass: usbNumber(el, 'subclass', 'USB interface subclass', devName),
      protocol: usbNumber(el, 'protocol', 'USB interface protocol', devName),
      description: childText(el, 'description'),
    };
  }
  if (type === 'pci') return parsePciCap(el, devName);
  if (type === 'net') return parseNetCap(el, devName);
  throw virError(VIR_ERR_CONFIG_UNSUPPORTED, FROM, `unknown capability type '${type}'`);
}

/** virNodeDevCapsDefParseULong: a number, 'no <what> supplied' when absent, 'invalid' when not one. */
function requiredNumber(text: string | undefined, what: string, devName: string): number {
  if (text === undefined) throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `no ${what} supplied for '${devName}'`);
  const n = parseNumber(text);
  if (n === undefined) throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `invalid ${what} supplied for '${devName}'`);
  return n;
}

function usbNumber(el: XmlElement, name: string, what: string, devName: string): number {
  return requiredNumber(childText(el, name), what, devName);
}

function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (/^0x[0-9a-fA-F]+$/.test(t)) return Number.parseInt(t, 16);
  if (/^[0-9]+$/.test(t)) return Number(t);
  return undefined;
}

function pciField(el: XmlElement, name: string, devName: string): number {
  const v = parseNumber(childText(el, name));
  if (v === undefined) throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `invalid PCI ${name} value supplied for '${devName}'`);
  return v;
}

function parseAddress(el: XmlElement): PciAddressText {
  return {
    domain: parseNumber(attr(el, 'domain')) ?? 0,
    bus: parseNumber(attr(el, 'bus')) ?? 0,
    slot: parseNumber(attr(el, 'slot')) ?? 0,
    function: parseNumber(attr(el, 'function')) ?? 0,
  };
}

function parsePciCap(el: XmlElement, devName: string): PciCap {
  const product = child(el, 'product');
  const vendor = child(el, 'vendor');
  if (!product || attr(product, 'id') === undefined) {
    throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `missing product ID for '${devName}'`);
  }
  if (!vendor || attr(vendor, 'id') === undefined) {
    throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `missing vendor ID for '${devName}'`);
  }
  const text = (e: XmlElement) => {
    const t = textOf(e);
    return t === undefined || t === '' ? undefined : t;
  };
  const cap: PciCap = {
    type: 'pci',
    class: childText(el, 'class')?.trim(),
    domain: pciField(el, 'domain', devName),
    bus: pciField(el, 'bus', devName),
    slot: pciField(el, 'slot', devName),
    function: pciField(el, 'function', devName),
    product: { id: attr(product, 'id')!, name: text(product) },
    vendor: { id: attr(vendor, 'id')!, name: text(vendor) },
  };
  for (const sub of children(el, 'capability')) {
    const subType = attr(sub, 'type');
    if (subType === 'phys_function') {
      const a = child(sub, 'address');
      if (a) cap.physFunction = parseAddress(a);
    } else if (subType === 'virt_functions') {
      cap.virtFunctions = { maxCount: parseNumber(attr(sub, 'maxCount')), addresses: children(sub, 'address').map(parseAddress) };
    } else if (subType === 'pci-bridge' || subType === 'cardbus-bridge') {
      cap.headerType = subType;
    }
  }
  const iommu = child(el, 'iommuGroup');
  if (iommu) cap.iommuGroup = { number: parseNumber(attr(iommu, 'number')) ?? 0, addresses: children(iommu, 'address').map(parseAddress) };
  const numa = child(el, 'numa');
  if (numa) cap.numaNode = parseNumber(attr(numa, 'node'));
  const express = child(el, 'pci-express');
  if (express) {
    cap.pcie = {};
    for (const link of children(express, 'link')) {
      const speed = attr(link, 'speed');
      const parsed: PcieLink = { port: parseNumber(attr(link, 'port')), speed, width: parseNumber(attr(link, 'width')) ?? 0 };
      if (attr(link, 'validity') === 'cap') cap.pcie.linkCap = parsed;
      else if (attr(link, 'validity') === 'sta') cap.pcie.linkSta = parsed;
    }
  }
  return cap;
}

function parseNetCap(el: XmlElement, devName: string): NetCap {
  const ifname = childText(el, 'interface')?.trim();
  if (!ifname) throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `no network interface supplied for '${devName}'`);
  const cap: NetCap = { type: 'net', interface: ifname, address: childText(el, 'address')?.trim(), features: [] };
  const link = child(el, 'link');
  if (link) cap.link = { speed: parseNumber(attr(link, 'speed')), state: attr(link, 'state') };
  for (const f of children(el, 'feature')) {
    const name = attr(f, 'name');
    if (name !== undefined) cap.features.push(name);
  }
  for (const sub of children(el, 'capability')) {
    const subType = attr(sub, 'type');
    if (subType === '80203' || subType === '80211') cap.subtype = subType;
  }
  return cap;
}

function hex(n: number, width: number): string {
  return `0x${n.toString(16).padStart(width, '0')}`;
}

function writeAddress(w: XmlWriter, a: PciAddressText): void {
  w.empty('address', [
    ['domain', hex(a.domain, 4)],
    ['bus', hex(a.bus, 2)],
    ['slot', hex(a.slot, 2)],
    ['function', `0x${a.function.toString(16)}`],
  ]);
}

function formatPciCap(w: XmlWriter, cap: PciCap): void {
  w.leaf('class', cap.class);
  w.leaf('domain', cap.domain);
  w.leaf('bus', cap.bus);
  w.leaf('slot', cap.slot);
  w.leaf('function', cap.function);
  for (const [name, v] of [['product', cap.product], ['vendor', cap.vendor]] as const) {
    if (v.name === undefined) w.empty(name, [['id', v.id]]);
    else w.leaf(name, v.name, [['id', v.id]]);
  }
  if (cap.physFunction) {
    w.open('capability', [['type', 'phys_function']]);
    writeAddress(w, cap.physFunction);
    w.close('capability');
  }
  if (cap.virtFunctions) {
    const vf = cap.virtFunctions;
    w.element('capability', [['type', 'virt_functions'], ['maxCount', vf.maxCount]], (c) => {
      for (const a of vf.addresses) writeAddress(c, a);
    }, true);
  }
  if (cap.headerType) w.empty('capability', [['type', cap.headerType]]);
  if (cap.iommuGroup && cap.iommuGroup.addresses.length > 0) {
    w.open('iommuGroup', [['number', cap.iommuGroup.number]]);
    for (const a of cap.iommuGroup.addresses) writeAddress(w, a);
    w.close('iommuGroup');
  }
  if (cap.numaNode !== undefined && cap.numaNode >= 0) w.empty('numa', [['node', cap.numaNode]]);
  if (cap.pcie) {
    const { linkCap, linkSta } = cap.pcie;
    if (!linkCap && !linkSta) {
      w.empty('pci-express');
    } else {
      w.open('pci-express');
      for (const [validity, link] of [['cap', linkCap], ['sta', linkSta]] as const) {
        if (!link) continue;
        w.empty('link', [
          ['validity', validity],
          ['port', link.port !== undefined && link.port >= 0 ? link.port : undefined],
          ['speed', link.speed],
          ['width', link.width],
        ]);
      }
      w.close('pci-express');
    }
  }
}

/** virNodeDeviceCapNetDefFormat */
function formatNetCap(w: XmlWriter, cap: NetCap): void {
  w.leaf('interface', cap.interface);
  w.leaf('address', cap.address);
  if (cap.link && (cap.link.speed || cap.link.state)) {
    w.empty('link', [
      ['speed', cap.link.speed ? cap.link.speed : undefined],
      ['state', cap.link.state],
    ]);
  }
  for (const name of cap.features) w.empty('feature', [['name', name]]);
  if (cap.subtype) w.empty('capability', [['type', cap.subtype]]);
}

/** virNodeDeviceDefParseString */
export function parseNodeDeviceXML(xml: string): NodeDeviceDef {
  const root = parseXML(xml, '(node_device_definition)', FROM);
  return nodeDeviceDefFromElement(root);
}

/** virNodeDeviceDefParseNode */
export function nodeDeviceDefFromElement(root: XmlElement): NodeDeviceDef {
  if (root.name !== 'device') {
    throw virError(VIR_ERR_XML_ERROR, FROM, `unexpected root element <${root.name}>, expecting <device>`);
  }
  const name = childText(root, 'name')?.trim();
  if (!name) throw virError(VIR_ERR_INTERNAL_ERROR, FROM, 'no device name');
  const capEls = children(root, 'capability');
  if (capEls.length === 0) throw virError(VIR_ERR_INTERNAL_ERROR, FROM, `no device capabilities for '${name}'`);
  return {
    name,
    path: childText(root, 'path')?.trim(),
    parent: childText(root, 'parent')?.trim(),
    caps: capEls.map((c) => parseCap(c, name)),
  };
}

/**
 * virNodeDeviceDefFormat. vport_ops counts are live sysfs values that the test driver never
 * refreshes, so they are written as zero, as libvirt prints them.
 */
export function formatNodeDeviceXML(def: NodeDeviceDef): string {
  const w = new XmlWriter();
  w.open('device');
  w.leaf('name', def.name);
  w.leaf('path', def.path);
  if (def.devnode !== undefined) w.leaf('devnode', def.devnode, [['type', 'dev']]);
  w.leaf('parent', def.parent);
  if (def.driver !== undefined) {
    w.open('driver');
    w.leaf('name', def.driver);
    w.close('driver');
  }
  for (const cap of def.caps) {
    w.open('capability', [['type', cap.type]]);
    if (cap.type === 'system') {
      w.leaf('product', cap.product);
      w.open('hardware');
      w.leaf('vendor', cap.hardware.vendor);
      w.leaf('version', cap.hardware.version);
      w.leaf('serial', cap.hardware.serial);
      w.leaf('uuid', cap.hardware.uuid);
      w.close('hardware');
      w.open('firmware');
      w.leaf('vendor', cap.firmware.vendor);
      w.leaf('version', cap.firmware.version);
      w.leaf('release_date', cap.firmware.releaseDate);
      w.close('firmware');
    } else if (cap.type === 'pci') {
      formatPciCap(w, cap);
    } else if (cap.type === 'net') {
      formatNetCap(w, cap);
    } else if (cap.type === 'usb_device') {
      w.leaf('bus', cap.bus);
      w.leaf('device', cap.device);
      for (const [name, v] of [['product', cap.product], ['vendor', cap.vendor]] as const) {
        const id = hex(v.id, 4);
        // libvirt writes a nameless USB ID as `<product id='0x0608' />`, space and all.
        if (v.name === undefined) w.raw(`<${name} id='${id}' />`);
        else w.leaf(name, v.name, [['id', id]]);
      }
    } else if (cap.type === 'usb') {
      w.leaf('number', cap.number);
      w.leaf('class', cap.class);
      w.leaf('subclass', cap.subclass);
      w.leaf('protocol', cap.protocol);
      w.leaf('description', cap.description);
    } else {
      w.leaf('host', cap.host);
      w.leaf('unique_id', cap.uniqueId);
      if (cap.fcHost) {
        w.open('capability', [['type', 'fc_host']]);
        w.leaf('wwnn', cap.fcHost.wwnn);
        w.leaf('wwpn', cap.fcHost.wwpn);
        w.leaf('fabric_wwn', cap.fcHost.fabricWwn);
        w.close('capability');
      }
      if (cap.vportOps) {
        w.open('capability', [['type', 'vport_ops']]);
        w.leaf('max_vports', 0);
        w.leaf('vports', 0);
        w.close('capability');
      }
    }
    w.close('capability');
  }
  w.close('device');
  return w.toString();
}

/** Whether the device answers to a capability name, sub-capabilities included (fc_host, vports). */
export function nodeDeviceHasCap(def: NodeDeviceDef, cap: string): boolean {
  return def.caps.some((c) => {
    if (c.type === cap) return true;
    if (c.type === 'scsi_host') return (cap === 'fc_host' && !!c.fcHost) || (cap === 'vports' && !!c.vportOps);
    return false;
  });
}
