// The test driver's view of domain XML: libvirt's generic parser with the test driver's parser
// config (default arch i686 from its capabilities, generated MACs) and its own start-time rule
// (interfaces without a target get testnetN names).
import { parseDomainXML, type DomainXMLOptions } from '../../conf/domain';
import { formatDomainXML } from '../../conf/domain-format';
import type { DomainDef, DomainDevices } from '../../conf/domain-def';
import { VIR_ERR_INTERNAL_ERROR, VIR_ERR_XML_DETAIL, VIR_ERR_XML_ERROR, VIR_FROM_TEST, VIR_FROM_XML, virError } from '../../error';
import { textOf } from '../../conf/xml';
import { VIR_DOMAIN_LAST, VIR_DOMAIN_RUNNING, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_XML_MIGRATABLE } from '../../constants';
import { TEST_MODEL } from './capabilities';

const testXMLOptions: DomainXMLOptions = {
  userAliases: true,
  postParse(def: DomainDef): void {
    if (!def.os.arch) def.os.arch = TEST_MODEL;
    for (const net of def.devices.interfaces) {
      if (net.mac === undefined) net.mac = generateMAC();
      // A network interface's bridge is runtime state that libvirt never reads from input.
      if (net.type === 'network' && net.source) net.source.attrs = net.source.attrs.filter(([k]) => k !== 'bridge');
    }
  },
};

/** Random bytes drawn in blocks: a MAC needs three, and a syscall each would dominate define. */
const macPool = Buffer.alloc(3 * 1024);
let macPoolPos = macPool.length;

/** virDomainNetGenerateMAC: libvirt's QEMU/KVM OUI and three random bytes. */
function generateMAC(): string {
  if (macPoolPos >= macPool.length) {
    // node:crypto loads here, on first use: loading it costs CLI startup several milliseconds.
    (require('node:crypto') as typeof import('node:crypto')).randomFillSync(macPool);
    macPoolPos = 0;
  }
  const hex = (i: number) => macPool[macPoolPos + i].toString(16).padStart(2, '0');
  const mac = `52:54:00:${hex(0)}:${hex(1)}:${hex(2)}`;
  macPoolPos += 3;
  return mac;
}

export const TEST_NAMESPACE_URI = 'http://libvirt.org/schemas/domain/test/1.0';

/** The test driver's own domain settings (testDomainNamespaceDef), from its XML namespace. */
export interface TestDomainSettings {
  runstate: number;
  transient: boolean;
  hasManagedSave: boolean;
}

/**
 * Takes the test namespace's elements (<test:runstate>, <test:transient/>,
 * <test:hasmanagedsave/>) out of a definition: libvirt reads them and never writes them back.
 */
function takeTestNamespace(def: DomainDef): TestDomainSettings {
  if (def.namespaces.length === 0) return { runstate: VIR_DOMAIN_RUNNING, transient: false, hasManagedSave: false };
  const prefixes = def.namespaces.filter(([, uri]) => uri === TEST_NAMESPACE_URI).map(([k]) => k.slice('xmlns:'.length));
  const mine = def.namespaced.filter((e) => prefixes.includes(e.name.split(':')[0]));
  def.namespaced = def.namespaced.filter((e) => !mine.includes(e));
  def.namespaces = def.namespaces.filter(([, uri]) => uri !== TEST_NAMESPACE_URI);
  const find = (local: string) => mine.find((e) => e.name.split(':')[1] === local);
  let runstate = VIR_DOMAIN_RUNNING;
  const runstateEl = find('runstate');
  if (runstateEl) {
    const text = (textOf(runstateEl) ?? '').trim();
    if (!/^[0-9]+$/.test(text)) throw virError(VIR_ERR_XML_ERROR, VIR_FROM_TEST, 'invalid runstate');
    runstate = Number(text);
    if (runstate >= VIR_DOMAIN_LAST) throw virError(VIR_ERR_XML_ERROR, VIR_FROM_TEST, `runstate '${runstate}' out of range'`);
  }
  const transient = find('transient') !== undefined;
  const hasManagedSave = find('hasmanagedsave') !== undefined;
  if (transient && runstate === VIR_DOMAIN_SHUTOFF) {
    throw virError(VIR_ERR_XML_ERROR, VIR_FROM_TEST, "transient domain cannot have runstate 'shutoff'");
  }
  if (hasManagedSave && runstate !== VIR_DOMAIN_SHUTOFF) {
    throw virError(VIR_ERR_XML_ERROR, VIR_FROM_TEST, "domain with managedsave data can only have runstate 'shutoff'");
  }
  return { runstate, transient, hasManagedSave };
}

/**
 * The one list that stands for every empty list of a stored definition. A definition has some
 * thirty device lists and a few others, nearly all empty, and those empty arrays were most of the
 * memory a domain took (and of the copying the garbage collector did for each new one). The test
 * driver changes no list after parsing (libvirt 9.0's has no device hotplug); the freeze makes an
 * attempt fail loudly instead of growing a list that every definition shares.
 */
const NONE = Object.freeze([]) as unknown as never[];

const orNone = <T>(list: T[]): T[] => (list.length === 0 ? NONE : list);

/** The device set of every stored definition without devices, made from the first one seen. */
let noDevices: DomainDevices | undefined;

/** Points a stored definition's empty lists at NONE, and a device set with none at noDevices. */
function shareEmptyLists(def: DomainDef): DomainDef {
  const devices = def.devices as unknown as Record<string, unknown>;
  let empty = true;
  for (const key in devices) {
    const value = devices[key];
    if (Array.isArray(value) && value.length === 0) devices[key] = NONE;
    else if (value !== undefined) empty = false;
  }
  if (empty) def.devices = noDevices ??= Object.freeze({ ...def.devices });
  def.namespaces = orNone(def.namespaces);
  def.sysinfo = orNone(def.sysinfo);
  def.seclabels = orNone(def.seclabels);
  def.namespaced = orNone(def.namespaced);
  def.os.extra = orNone(def.os.extra);
  return def;
}

/** virDomainDefParseString with the test driver's options. */
export function parseTestDomain(xml: string, parseFlags = 0): { def: DomainDef; settings: TestDomainSettings } {
  const def = parseDomainXML(xml, testXMLOptions, parseFlags);
  if (def.name.includes('\n')) throw virError(VIR_ERR_XML_DETAIL, VIR_FROM_XML, 'invalid char in name: \n');
  const settings = takeTestNamespace(def);
  return { def: shareEmptyLists(def), settings };
}

/** testDomainGenerateIfnames: every interface without a target device gets the first free testnetN. */
export function generateIfnames(def: DomainDef): void {
  for (const net of def.devices.interfaces) {
    if (net.target?.dev) continue;
    const used = new Set(def.devices.interfaces.map((n) => n.target?.dev).filter((d): d is string => !!d));
    let i = 0;
    while (used.has(`testnet${i}`) && i < 1024) i++;
    if (i === 1024) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, 'Exceeded max iface limit 1024');
    net.target = { ...(net.target ?? {}), dev: `testnet${i}` };
  }
}

/** Read once: formatting runs per getXMLDesc, and an imported binding may be a getter per read. */
const XML_MIGRATABLE = VIR_DOMAIN_XML_MIGRATABLE;

/**
 * virDomainDefFormat for the test driver. MIGRATABLE changes nothing the test driver's domains
 * hold (the live id stays, unlike INACTIVE), so it is not passed on.
 */
export function formatTestDomain(def: DomainDef, flags: number, id: number): string {
  return formatDomainXML(def, flags & ~XML_MIGRATABLE, id >= 0 ? { id } : undefined);
}

/** A deep copy; the clone's empty lists are NONE again, not one new array they all share. */
export function copyDomainDef(def: DomainDef): DomainDef {
  return shareEmptyLists(structuredClone(def));
}
