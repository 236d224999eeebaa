// The QEMU command line for a domain (libvirt 9.0 qemuBuildCommandLine): the same options in the
// same order, JSON syntax for -device/-netdev/-object/-blockdev/-audiodev where the binary takes
// it (capability 'device.json+hotplug' for -device, 'netdev.json', 'object.qapified'), QEMU's
// key=value syntax where it does not. Booleans are always on/off.
import type {
  ChrDef,
  ControllerDef,
  DeviceInfo,
  DiskDef,
  DomainDef,
  GraphicsDef,
  HostdevDef,
  InputDef,
  NetDef,
  SimpleDeviceDef,
} from '../../conf/domain';
import { diskNameToIndex } from '../../conf/domain-parse';
import { attr, child, children, textOf, type XmlElement } from '../../conf/xml';
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, virError } from '../../error';
import { createCipheriv, randomBytes } from 'node:crypto';
import { Command } from '../../util/command';
import { formatPciAddress } from '../../util/pci';
import { usbDevicePath } from '../../util/usb-host';
import { usbHostdevMissing, usbHostdevSource } from './hostdev';
import { QemuCaps } from './capabilities';
import { buildChardevArg, type ChardevBackend } from './chardev';
import { cellKiB, checkMemorySupported, legacyNumaMem, initialMemoryKiB, memoryDeviceArgs, numaCellObjects, numaCellsOf, systemMemoryObjects, type HugetlbfsMount, type MemoryEnv } from './memory';
import { DEFAULT_CHARDEV_TLS_DIR, DEFAULT_NBD_TLS_DIR, DEFAULT_SPICE_TLS_DIR, DEFAULT_VNC_TLS_DIR, type QemuDriverConfig } from './config';
import { parseMemoryKiB, parseScaledBytes } from '../../conf/units';
import { escapeOptionValue } from './props';
import { hasHmat, hmatNumaArgs, nodeInitiator, numaInterconnects } from './numa-hmat';
import { translateDiskSourcePool, type StorageLookup } from './storage-source';
import { assignUsbPorts, isI440fx, isQ35, modelOf, qemuAssignDeviceAliases, simpleAttr } from './postparse';

export interface BuildCommandLineOptions {
  /**
   * The caller drops the definition after this call (domxml-to-native): the aliases assigned for
   * the command line are left on its devices instead of being taken off again.
   */
  scratchDefinition?: boolean;
  /** The domain's private directory (HOME, XDG dirs, master key); libvirt's tests use /tmp/lib/domain--1-<name>. */
  libDir?: string;
  /** The domain id (-1 when the domain is not running, as in libvirt's tests). */
  id?: number;
  /** Monitor: a pre-opened listening socket fd (tests: 1729) or a socket path. */
  monitorFd?: number;
  monitorPath?: string;
  /**
   * Listening UNIX sockets libvirt creates itself and passes as fds; in the tests every such fd is
   * 1729. Unset: QEMU creates the socket from its path.
   */
  passedSocketFd?: number;
  /**
   * Files libvirt opens itself and passes in fd sets (`-add-fd set=N,fd=M`): the first fd number
   * (libvirt's tests: 1750). Unset: QEMU opens the files by path.
   */
  passedFileFdBase?: number;
  /** The DRM render node used when an OpenGL display names none (libvirt's tests: /dev/dri/foo). */
  drmRenderNode?: string;
  /** An open /dev/vhost-vsock fd for a <vsock> device (libvirt's tests: 6789). */
  vhostVsockFd?: number;
  /** Creates (and plugs) the tap device of an ethernet/bridge interface, returning its fd (libvirt's tests: 3). */
  openTap?: (net: NetDef) => number;
  /**
   * The SCSI generic node (e.g. 'sg3') of a host SCSI device, found under
   * /sys/bus/scsi/devices/<host>:<bus>:<target>:<unit>/scsi_generic (libvirt's tests: always 'sg0').
   * Unset: <hostdev type='scsi'> on an adapter is refused.
   */
  scsiGenericName?: (adapter: string, bus: number, target: number, unit: number) => string;
  /** Opens /dev/vhost-scsi for a <hostdev type='scsi_host'>, returning the fd (libvirt's tests: 3). */
  openVhostScsi?: () => number;
  /**
   * Whether a raw <disk type='block' device='cdrom'> source is a host CD-ROM drive, which QEMU
   * opens with its host_cdrom driver (libvirt asks the device when it prepares a real start; its
   * tests say yes for /dev/cdrom). Unset, as in a pretend start: nothing is asked, host_device.
   */
  isHostCdrom?: (path: string) => boolean;
  /** Opens /dev/vhost-net for a virtio NIC on a tap, returning the fd (libvirt's tests: 44). */
  openVhostNet?: (net: NetDef) => number;
  /** Opens a vhost-vdpa device for an <interface type='vdpa'> and returns the fd (libvirt's tests: 1732). */
  openVdpaDevice?: (path: string) => number;
  /** The guest CID acquired for a <vsock> with <cid auto='yes'/> (libvirt's tests: 42). */
  vsockAutoCid?: number;
  /** The swtpm socket of an emulated TPM (started by the caller; libvirt's tests: /dev/test). Unset: emulated TPMs are refused. */
  tpmEmulatorSocket?: string;
  /** Pre-opened fds of a passthrough TPM device and its cancel file (libvirt's tests: 1730, 1731). Unset: QEMU opens the paths. */
  tpmPassthroughFds?: [number, number];
  /** qemu.conf settings that shape the command line (TLS, SASL, auto sockets); unset: qemu.conf defaults. */
  config?: QemuDriverConfig;
  /**
   * Secret values for encrypted disks (<encryption><secret uuid|usage>), and the domain's master
   * key they are encrypted with for QEMU (the key libvirt writes to master-key.aes). `randomIV`
   * gives each secret object's IV (default: random). Unset: encrypted disks are refused.
   */
  secrets?: { masterKey: Buffer; lookup(ref: { type: string; uuid?: string; usage?: string }): Buffer; randomIV?: () => Buffer };
  /** hugetlbfs mounts for <hugepages> (qemu.conf hugetlbfs_mount); none: hugepages are refused. */
  hugetlbfs?: HugetlbfsMount[];
  /** Where file-backed guest memory goes (qemu.conf memory_backing_dir); default /var/lib/libvirt/qemu/ram. */
  memoryBackingDir?: string;
  /**
   * A real start: pass these variables through from the caller's environment as libvirt does
   * (virCommandAddEnvPassCommon) instead of the fixed test environment. `privileged` also points
   * HOME and the XDG data/config dirs at the domain's directory.
   */
  hostEnv?: { env: NodeJS.ProcessEnv; privileged: boolean };
  /**
   * Block node indexes by disk target (libvirt-N-format): empty at a start, filled in; for a
   * running domain, the indexes its disks have, so a hot-added disk gets a new one.
   */
  diskNodeIndexes?: Map<string, number>;
  /**
   * The storage driver, for disks that name a pool's volume (<disk type='volume'>). Unset: there
   * is none, and such disks fail as libvirt fails on a pool it cannot find.
   */
  storage?: StorageLookup;
  /**
   * File descriptors associated with the domain by group name (virDomainFDAssociate): QEMU opens
   * a disk image whose <source> names an fdgroup from that group's fds, in an fd set of its own.
   */
  fdGroups?: ReadonlyMap<string, readonly number[]>;
}

/** virCommandAddEnvPassCommon: what a QEMU process inherits from its starter, in this order. */
const PASSED_ENV = ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES', 'DYLD_FORCE_FLAT_NAMESPACE', 'PATH', 'HOME', 'USER', 'LOGNAME', 'TMPDIR'];

/** The process environment: libvirt's fixed test one, or the real one passed through. */
function buildEnv(cmd: Command, libDir: string, hostEnv: BuildCommandLineOptions['hostEnv']): void {
  cmd.addEnv('LC_ALL', 'C');
  if (!hostEnv) {
    cmd.addEnv('PATH', '/bin');
    cmd.addEnv('HOME', libDir);
    cmd.addEnv('USER', 'test');
    cmd.addEnv('LOGNAME', 'test');
  } else {
    for (const name of PASSED_ENV) {
      const value = hostEnv.env[name];
      if (value !== undefined) cmd.addEnv(name, name === 'HOME' && hostEnv.privileged ? libDir : value);
    }
    if (hostEnv.privileged && hostEnv.env.HOME === undefined) cmd.addEnv('HOME', libDir);
  }
  if (!hostEnv || hostEnv.privileged) cmd.addEnv('XDG_DATA_HOME', `${libDir}/.local/share`);
  cmd.addEnv('XDG_CACHE_HOME', `${libDir}/.cache`);
  if (!hostEnv || hostEnv.privileged) cmd.addEnv('XDG_CONFIG_HOME', `${libDir}/.config`);
}

/** The libvirt QEMU XML namespace (<qemu:commandline> and friends). */
export const QEMU_NAMESPACE_URI = 'http://libvirt.org/schemas/domain/qemu/1.0';

/** The prefixes the definition binds to the QEMU namespace (usually just 'qemu'). */
function qemuNamespacePrefixes(def: DomainDef): Set<string> {
  return new Set(def.namespaces.filter(([, uri]) => uri === QEMU_NAMESPACE_URI).map(([k]) => k.replace(/^xmlns:/, '')));
}

/** <qemu:commandline>: extra arguments and environment, in document order. */
export function qemuNamespaceCommandline(def: DomainDef): { args: string[]; env: Array<[string, string]> } {
  const args: string[] = [];
  const env: Array<[string, string]> = [];
  if (def.namespaced.length === 0) return { args, env };
  const prefixes = qemuNamespacePrefixes(def);
  for (const el of def.namespaced) {
    const [prefix, local] = el.name.split(':');
    if (!prefixes.has(prefix) || local !== 'commandline') continue;
    for (const kid of el.children) {
      if (!('name' in kid)) continue;
      const what = kid.name.slice(prefix.length + 1);
      if (what === 'arg') args.push(kid.attrs.get('value') ?? '');
      else if (what === 'env') env.push([kid.attrs.get('name') ?? '', kid.attrs.get('value') ?? '']);
    }
  }
  return { args, env };
}

/** One <qemu:property> of a <qemu:frontend> override: a value to set, or undefined to remove. */
type FrontendOverride = [name: string, value: string | number | boolean | undefined];

/** The rest of the QEMU namespace (qemuDomainXmlNsDef): capability edits, device overrides, -compat. */
interface QemuNamespaceSettings {
  capsAdd: string[];
  capsDel: string[];
  /** <qemu:override><qemu:device alias=...><qemu:frontend>: property edits per device alias, in order. */
  frontend: Map<string, FrontendOverride[]>;
  /** <qemu:deprecation behavior=...>: none, omit, reject or crash. */
  deprecation?: string;
}

const DEPRECATION_BEHAVIORS = new Set(['none', 'omit', 'reject', 'crash']);

function namespaceUnsupported(what: string): never {
  throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `QEMU namespace ${what} is not supported yet`);
}

/** A <qemu:property type=... value=...> as its JSON value (qemuDomainDefNamespaceParseOverrideProperties). */
function frontendPropertyValue(el: XmlElement): FrontendOverride {
  const name = el.attrs.get('name');
  const type = el.attrs.get('type');
  const value = el.attrs.get('value');
  if (name === undefined) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "missing 'name' attribute for qemu:property");
  if (type === 'remove') return [name, undefined];
  if (value === undefined) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "missing 'value' attribute for 'qemu:property'");
  const invalid = (): never => {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `invalid value '${value}' for qemu:property '${name}' of type '${type}'`);
  };
  switch (type) {
    case 'string':
      return [name, value];
    case 'signed':
      return /^-?[0-9]+$/.test(value) ? [name, Number(value)] : invalid();
    case 'unsigned':
      return /^[0-9]+$/.test(value) ? [name, Number(value)] : invalid();
    case 'bool':
      return value === 'true' || value === 'false' ? [name, value === 'true'] : invalid();
    default:
      return namespaceUnsupported(`property type '${type}'`);
  }
}

/** <qemu:capabilities>, <qemu:override> and <qemu:deprecation> of a definition. */
function qemuNamespaceSettings(def: DomainDef): QemuNamespaceSettings {
  const settings: QemuNamespaceSettings = { capsAdd: [], capsDel: [], frontend: new Map() };
  if (def.namespaced.length === 0) return settings;
  const prefixes = qemuNamespacePrefixes(def);
  for (const el of def.namespaced) {
    const [prefix, local] = el.name.split(':');
    if (!prefixes.has(prefix)) continue;
    const kids = children(el).map((k) => [k.name.slice(prefix.length + 1), k] as const);
    if (local === 'capabilities') {
      for (const [what, k] of kids) {
        const cap = k.attrs.get('capability');
        if ((what !== 'add' && what !== 'del') || cap === undefined) namespaceUnsupported(`capabilities element <${k.name}>`);
        (what === 'add' ? settings.capsAdd : settings.capsDel).push(cap);
      }
    } else if (local === 'override') {
      for (const [what, dev] of kids) {
        const alias = dev.attrs.get('alias');
        if (what !== 'device' || alias === undefined) namespaceUnsupported(`override element <${dev.name}>`);
        for (const k of children(dev)) {
          if (k.name !== `${prefix}:frontend`) namespaceUnsupported(`override element <${k.name}>`);
          const edits = settings.frontend.get(alias) ?? [];
          for (const p of children(k)) {
            if (p.name !== `${prefix}:property`) namespaceUnsupported(`override element <${p.name}>`);
            edits.push(frontendPropertyValue(p));
          }
          settings.frontend.set(alias, edits);
        }
      }
    } else if (local === 'deprecation') {
      const behavior = el.attrs.get('behavior');
      if (behavior === undefined || !DEPRECATION_BEHAVIORS.has(behavior)) namespaceUnsupported(`deprecation behavior '${behavior ?? ''}'`);
      settings.deprecation = behavior;
    } else if (local !== 'commandline') {
      namespaceUnsupported(`element <${el.name}>`);
    }
  }
  return settings;
}

/** qemuProcessPrepareQEMUCaps: the binary's capabilities with the definition's <qemu:capabilities> edits. */
function capsWithNamespaceEdits(caps: QemuCaps, ns: QemuNamespaceSettings): QemuCaps {
  if (ns.capsAdd.length === 0 && ns.capsDel.length === 0) return caps;
  const flags = new Set(caps.flags);
  for (const f of ns.capsAdd) flags.add(f);
  for (const f of ns.capsDel) flags.delete(f);
  return new QemuCaps({ ...caps.data, flags: [...flags] });
}

/** qemuBuildDeviceCommandlineHandleOverrides: each edit replaces (or removes) the property, set ones go last. */
function applyFrontendOverrides(props: Props, edits: FrontendOverride[]): Props {
  let out = props;
  for (const [name, value] of edits) {
    out = out.filter(([k]) => k !== name);
    if (value !== undefined) out.push([name, value]);
  }
  return out;
}

/** <launchSecurity type='sev'>: the sev-guest object's settings, or undefined for anything else. */
function sevSettings(el: XmlElement): Props | undefined {
  const text = (name: string): string | undefined => textOf(child(el, name) ?? undefined)?.trim();
  const kernelHashes = attr(el, 'kernelHashes');
  const known = ['cbitpos', 'reducedPhysBits', 'policy', 'dhCert', 'session'];
  const cbitpos = Number(text('cbitpos'));
  const reduced = Number(text('reducedPhysBits'));
  const policy = Number(text('policy'));
  const attrsOk = [...el.attrs].every(([k, v]) => (k === 'type' && v === 'sev') || (k === 'kernelHashes' && (v === 'yes' || v === 'no')));
  if (!attrsOk || attr(el, 'type') !== 'sev' || children(el).some((c) => !known.includes(c.name)) || ![cbitpos, reduced, policy].every(Number.isInteger)) return undefined;
  return [
    ['cbitpos', cbitpos], ['reduced-phys-bits', reduced], ['policy', policy],
    ['kernel-hashes', kernelHashes === undefined ? undefined : kernelHashes === 'yes'],
  ];
}

/** qemuBuildSEVCommandLine: the sev-guest object; the certificate and session blobs are files in the domain's directory. */
function buildLaunchSecurity(b: Builder): void {
  const el = b.def.launchSecurity;
  const sev = el && sevSettings(el);
  if (!el || !sev) return;
  const files: Props = [
    ['dh-cert-file', child(el, 'dhCert') ? `${b.opts.libDir}/dh_cert.base64` : undefined],
    ['session-file', child(el, 'session') ? `${b.opts.libDir}/session.base64` : undefined],
  ];
  b.object([['qom-type', 'sev-guest'], ['id', 'lsec0'], ...sev.slice(0, 3), ...files, ...sev.slice(3)]);
}

/** qemuBuildCompatDeprecatedCommandLine: how QEMU treats deprecated interfaces (-compat). */
function buildCompatDeprecated(b: Builder, behavior: string | undefined): void {
  if (behavior === undefined || behavior === 'none' || !b.caps.has('compat-deprecated')) return;
  const input = behavior === 'reject' || behavior === 'crash' ? behavior : undefined;
  b.add('-compat', propsJSON([['deprecated-output', 'hide'], ['deprecated-input', input]]));
}

type Props = Array<[string, unknown]>;

/** One option value: the JSON form or QEMU's key=value form, from ordered properties. */
function renderProps(props: Props, json: boolean, first: 'driver' | 'qom-type' | 'type' | 'none'): string {
  if (json) return propsJSON(props);
  let out = '';
  for (const [k, v] of props) {
    if (v === undefined) continue;
    const text = typeof v === 'boolean' ? (v ? 'on' : 'off') : escapeOptionValue(String(v));
    if (out !== '') out += ',';
    out += k === first ? text : `${k}=${text}`;
  }
  return out;
}

/**
 * The properties as one JSON object, written directly: keys in order, undefined values left out,
 * a repeated key keeping its first place and its last value (as an object built from them would).
 */
function propsJSON(props: Props): string {
  let out = '{';
  for (let i = 0; i < props.length; i++) {
    const p = props[i];
    const k = p[0];
    const v = p[1];
    if (v === undefined) continue;
    for (let j = 0; j < i; j++) {
      if (props[j][0] === k) return JSON.stringify(Object.fromEntries(props.filter((x) => x[1] !== undefined)));
    }
    if (out.length > 1) out += ',';
    let key = JSON_KEYS.get(k);
    if (key === undefined) {
      key = `${JSON.stringify(k)}:`;
      JSON_KEYS.set(k, key);
    }
    out += key;
    out +=
      typeof v === 'string'
        ? jsonString(v)
        : typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || v instanceof RawJSON
          ? String(v)
          : JSON.stringify(v);
  }
  return `${out}}`;
}

/**
 * JSON.stringify of a string: quoted as it is when nothing in it needs escaping (quotes,
 * backslashes, controls, surrogates), which is every property value of an ordinary guest.
 */
function jsonString(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(v);
  }
  return `"${v}"`;
}

/** A value written into JSON as it is: a number beyond a double's precision (a disk's wwn). */
class RawJSON {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

/** Property names already quoted for JSON (there are a few hundred at most). */
const JSON_KEYS = new Map<string, string>();

class Builder {
  readonly cmd: Command;
  readonly jsonDevice: boolean;
  readonly jsonNetdev: boolean;
  readonly jsonObject: boolean;
  private fdSets = 0;
  private bootIndexes = new Map<DeviceInfo, number>();
  private nodeIndexes?: Map<DiskDef, number>;
  /** The fd set of each image QEMU opens from an fd group, by its storage node name. */
  readonly storageFdSets = new Map<string, { set: number; fds: readonly number[] }>();
  /** <qemu:override> property edits per device alias. */
  frontendOverrides = new Map<string, FrontendOverride[]>();

  constructor(
    readonly def: DomainDef,
    readonly caps: QemuCaps,
    readonly opts: Required<Pick<BuildCommandLineOptions, 'libDir'>> & BuildCommandLineOptions,
  ) {
    this.cmd = new Command(def.devices.emulator ?? caps.data.binary ?? '/usr/bin/qemu-system-x86_64');
    this.jsonDevice = caps.has('device.json+hotplug') || caps.has('device.json');
    this.jsonNetdev = caps.has('netdev.json');
    this.jsonObject = caps.has('object.qapified');
  }

  add(...args: string[]): void {
    this.cmd.addArgs(...args);
  }

  get config(): QemuDriverConfig {
    return this.opts.config ?? {};
  }

  /**
   * qemuBuildSecretInfoProps: a secret object holding `value` AES-256-CBC encrypted with the
   * domain's master key (masterKey0), base64 encoded, with its IV.
   */
  secretObject(id: string, value: Buffer): void {
    const secrets = this.opts.secrets;
    if (!secrets) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'secrets are not available to this connection');
    const iv = secrets.randomIV?.() ?? randomBytes(16);
    const cipher = createCipheriv('aes-256-cbc', secrets.masterKey, iv);
    const data = Buffer.concat([cipher.update(value), cipher.final()]).toString('base64');
    this.object([['qom-type', 'secret'], ['id', id], ['data', data], ['keyid', 'masterKey0'], ['iv', iv.toString('base64')], ['format', 'base64']]);
  }

  /**
   * qemu.conf's <what>_tls_x509_secret_uuid: the passphrase of the x509 key as secret object `id`
   * (its id returned), or nothing when qemu.conf names no secret.
   */
  tlsKeySecret(id: string, secretUUID: string | undefined, what: string): string | undefined {
    if (secretUUID === undefined) return undefined;
    const secrets = this.opts.secrets;
    if (!secrets) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `${what} TLS with a key passphrase secret needs secrets`);
    this.secretObject(id, secrets.lookup({ type: 'tls', uuid: secretUUID }));
    return id;
  }

  /** qemuBuildTLSx509CommandLine: x509 credentials for a TLS endpoint. */
  tlsCredsObject(id: string, dir: string, listen: boolean, verify: boolean, passwordId?: string): void {
    // A client always verifies the server; a server verifies clients as qemu.conf says.
    this.object([
      ['qom-type', 'tls-creds-x509'], ['id', id], ['dir', dir], ['endpoint', listen ? 'server' : 'client'],
      ['verify-peer', listen ? verify : true], ['passwordid', passwordId],
    ]);
  }

  memoryEnv(): MemoryEnv {
    return {
      hugetlbfs: this.opts.hugetlbfs ?? [],
      memoryBackingDir: this.opts.memoryBackingDir ?? '/var/lib/libvirt/qemu/ram',
      domainDirName: `${this.opts.id ?? -1}-${shortName(this.def.name)}`,
      systemPageKiB: 4,
    };
  }

  /** A file QEMU gets as a passed fd (`/dev/fdset/N`) in test mode, else by path. */
  passFile(path: string, opaque: string): string {
    if (this.opts.passedFileFdBase === undefined) return path;
    const set = this.fdSets++;
    this.add('-add-fd', `set=${set},fd=${this.opts.passedFileFdBase + set},opaque=${opaque}`);
    return `/dev/fdset/${set}`;
  }

  /** A pre-opened fd handed to QEMU in its own fd set; returns the set's path. */
  passFd(fd: number, opaque: string): string {
    const set = this.fdSets++;
    this.add('-add-fd', `set=${set},fd=${fd},opaque=${opaque}`);
    return `/dev/fdset/${set}`;
  }

  device(props: Props): void {
    if (this.frontendOverrides.size > 0) {
      const id = props.find(([k]) => k === 'id')?.[1];
      const edits = typeof id === 'string' ? this.frontendOverrides.get(id) : undefined;
      if (edits) props = applyFrontendOverrides(props, edits);
    }
    this.add('-device', renderProps(props, this.jsonDevice, 'driver'));
  }

  object(props: Props): void {
    this.add('-object', renderProps(props, this.jsonObject, 'qom-type'));
  }

  netdev(props: Props): void {
    this.add('-netdev', renderProps(props, this.jsonNetdev, 'type'));
  }

  /** Properties placing a device on its bus (qemuBuildDeviceAddressProps). */
  addressProps(info: DeviceInfo): Props {
    const a = info.address;
    if (!a) return [];
    if (a.type === 'pci' && a.pci) {
      const bus = this.pciBusAlias(a.pci.bus);
      const addr = a.pci.function ? `0x${a.pci.slot.toString(16)}.0x${a.pci.function.toString(16)}` : `0x${a.pci.slot.toString(16)}`;
      const props: Props = [['bus', bus]];
      if (a.pci.multifunction === 'on') props.push(['multifunction', true]);
      else if (a.pci.multifunction === 'off') props.push(['multifunction', false]);
      props.push(['addr', addr]);
      return props;
    }
    if (a.type === 'usb') {
      const bus = Number(a.attrs.find(([k]) => k === 'bus')?.[1] ?? '0');
      const ctrl = this.def.devices.controllers.find((c) => c.type === 'usb' && c.index === bus);
      const port = a.attrs.find(([k]) => k === 'port')?.[1];
      return [['bus', `${ctrl?.info.alias ?? 'usb'}.0`], ['port', port]];
    }
    if (a.type === 'dimm') {
      const slot = a.attrs.find(([k]) => k === 'slot')?.[1];
      const base = a.attrs.find(([k]) => k === 'base')?.[1];
      return [['slot', slot === undefined ? undefined : Number(slot)], ['addr', base === undefined ? undefined : Number(base)]];
    }
    if (a.type === 'virtio-serial') {
      const ctrl = Number(a.attrs.find(([k]) => k === 'controller')?.[1] ?? '0');
      const bus = a.attrs.find(([k]) => k === 'bus')?.[1] ?? '0';
      const port = a.attrs.find(([k]) => k === 'port')?.[1];
      return [['bus', `virtio-serial${ctrl}.${bus}`], ['nr', port === undefined ? undefined : Number(port)]];
    }
    return [];
  }

  pciBusAlias(bus: number): string {
    if (bus === 0) return isQ35(this.def) ? 'pcie.0' : 'pci.0';
    const ctrl = this.def.devices.controllers.find((c) => c.type === 'pci' && c.index === bus);
    if (ctrl?.info.alias) return ctrl.info.alias;
    return isQ35(this.def) && bus === 0 ? 'pcie.0' : `pci.${bus}`;
  }

  bootIndex(info: DeviceInfo): number | undefined {
    return info.bootOrder ?? this.bootIndexes.get(info);
  }

  /** qemuBuildBootCommandLine's legacy <boot dev=> list turned into per-device boot indexes. */
  assignBootIndexes(): void {
    const d = this.def.devices;
    let next = 1;
    for (const dev of this.def.os.boot) {
      let info: DeviceInfo | undefined;
      if (dev === 'hd') info = d.disks.find((x) => x.device === 'disk' || x.device === 'lun')?.info;
      else if (dev === 'cdrom') info = d.disks.find((x) => x.device === 'cdrom')?.info;
      else if (dev === 'fd') info = d.disks.find((x) => x.device === 'floppy')?.info;
      else if (dev === 'network') info = d.interfaces.find((x) => x.type !== 'hostdev')?.info;
      if (info && !this.bootIndexes.has(info)) this.bootIndexes.set(info, next);
      next++;
    }
  }

  /**
   * The node-name index of each disk's top image: images are counted from the last disk to the
   * first, each chain from its top down, so the first disk's top image has the highest index.
   */
  allocNodeIndexes(): Map<DiskDef, number> {
    this.nodeIndexes ??= this.computeNodeIndexes();
    return this.nodeIndexes;
  }

  private computeNodeIndexes(): Map<DiskDef, number> {
    const out = new Map<DiskDef, number>();
    const disks = this.def.devices.disks.filter((d) => this.diskTakesNodes(d));
    const known = this.opts.diskNodeIndexes;
    if (known && known.size > 0) {
      // A running domain: its disks keep their nodes; a hot-added one gets the next free index.
      let next = 1;
      for (const [dev, n] of known) {
        const disk = disks.find((d) => d.target.dev === dev);
        next = Math.max(next, n + (disk ? diskChain(disk).images.length : 1));
      }
      for (const disk of disks) {
        let n = known.get(disk.target.dev);
        if (n === undefined) {
          n = next;
          next += diskChain(disk).images.length;
          known.set(disk.target.dev, n);
        }
        out.set(disk, n);
      }
      return out;
    }
    let next = 1;
    for (let i = disks.length - 1; i >= 0; i--) {
      out.set(disks[i], next);
      known?.set(disks[i].target.dev, next);
      next += diskChain(disks[i]).images.length;
    }
    return out;
  }

  diskHasSource(disk: DiskDef): boolean {
    if (!disk.source) return false;
    if (disk.type === 'nvme') return true;
    const s = disk.source.attrs;
    return s.some(([k]) => k === 'file' || k === 'dev' || k === 'dir' || k === 'name' || k === 'protocol');
  }

  /** Whether a disk's images are -blockdev nodes: SD cards still go through a legacy -drive. */
  diskHasBlockdev(disk: DiskDef): boolean {
    return disk.target.bus !== 'sd' && this.diskHasSource(disk);
  }

  /**
   * Whether a disk's images get node indexes: every disk QEMU sees as a block device (SD cards
   * and vhost-user disks are not), an empty drive's missing medium included.
   */
  diskTakesNodes(disk: DiskDef): boolean {
    return disk.target.bus !== 'sd' && disk.type !== 'vhostuser' && (this.diskHasSource(disk) || disk.source === undefined);
  }

  /**
   * qemuDomainPrepareStorageSourceFDs: every image with an fdgroup gets an fd set of its own,
   * numbered before anything else is passed, in node index order.
   */
  prepareStorageFds(): void {
    const nodes = [...this.allocNodeIndexes()].sort((x, y) => x[1] - y[1]);
    for (const [disk, n] of nodes) {
      if (!disk.source) continue;
      diskChain(disk).images.forEach((img, k) => {
        const group = attrOf(img.source, 'fdgroup');
        if (group === undefined || (img.type !== 'file' && img.type !== 'block')) return;
        const fds = this.opts.fdGroups?.get(group);
        if (!fds || fds.length === 0) throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `file descriptor group '${group}' was not associated with the domain`);
        this.storageFdSets.set(`libvirt-${n + k}-storage`, { set: this.fdSets++, fds });
      });
    }
  }
}

type AttrSource = { attrs: Array<[string, string]> } | XmlElement | undefined;

function attrOf(src: AttrSource, name: string): string | undefined {
  if (!src) return undefined;
  if (src.attrs instanceof Map) return src.attrs.get(name);
  return (src.attrs as Array<[string, string]>).find(([k]) => k === name)?.[1];
}

function onOffProp(src: AttrSource, xmlName: string, prop: string): Props {
  const v = attrOf(src, xmlName);
  return v === undefined ? [] : [[prop, v === 'on']];
}

/** qemuBuildVirtioDevProps: the generic virtio options of a <driver> element, right after the driver. */
function virtioOptions(driver: AttrSource): Props {
  return [
    ...onOffProp(driver, 'iommu', 'iommu_platform'),
    ...onOffProp(driver, 'ats', 'ats'),
    ...onOffProp(driver, 'packed', 'packed'),
    ...onOffProp(driver, 'page_per_vq', 'page-per-vq'),
  ];
}

function childDriver(dev: SimpleDeviceDef): XmlElement | undefined {
  return dev.children.find((c) => c.name === 'driver');
}

function genericAttr(g: { attrs: Array<[string, string]> } | undefined, name: string): string | undefined {
  return g?.attrs.find(([k]) => k === name)?.[1];
}

// ---------------------------------------------------------------------------------------------
// Machine, CPU, memory, SMP

/** The firmware image and its variable store as pflash block nodes (qemuBuildPflashBlockdevCommandLine). */
/** A pflash image: a local file, or (the variable store only) a network <source>. */
interface PflashImage {
  path?: string;
  network?: XmlElement;
  readonly: boolean;
}

function pflashImages(def: DomainDef): PflashImage[] {
  const loader = def.os.loader;
  if (!loader || loader.attrs.find(([k]) => k === 'type')?.[1] !== 'pflash' || !loader.path) return [];
  const images: PflashImage[] = [{ path: loader.path, readonly: loader.attrs.find(([k]) => k === 'readonly')?.[1] === 'yes' }];
  const nvram = def.os.nvram;
  if (nvram?.path) images.push({ path: nvram.path, readonly: false });
  else if (nvram && networkNvramSource(nvram)) images.push({ network: networkNvramSource(nvram), readonly: false });
  return images;
}

/** The <source> of an <nvram type='network'> (nothing else in it), or undefined. */
function networkNvramSource(nvram: NonNullable<DomainDef['os']['nvram']>): XmlElement | undefined {
  if (nvram.attrs.length !== 1 || nvram.attrs[0][0] !== 'type' || nvram.attrs[0][1] !== 'network') return undefined;
  const [source] = nvram.children;
  if (nvram.children.length !== 1 || source.name !== 'source') return undefined;
  return [...source.attrs.keys()].every((k) => k === 'protocol' || k === 'name' || k === 'query') ? source : undefined;
}

/** The network variable store, described as a disk so that its node is built like a disk's. */
function nvramAsDisk(source: XmlElement): DiskDef {
  return {
    kind: 'disk', type: 'network', device: 'disk', attrs: [], target: { dev: 'pflash1' }, readonly: false, shareable: false, extra: [], info: {},
    source: { attrs: [...source.attrs], children: children(source) },
  };
}

function buildPflash(b: Builder): void {
  pflashImages(b.def).forEach((img, i) => {
    const storage = `libvirt-pflash${i}-storage`;
    if (img.network) {
      const disk = nvramAsDisk(img.network);
      const props = storageProps(b, disk, { type: 'network', format: 'raw', source: disk.source! }, `pflash${i}`, true);
      b.add('-blockdev', propsJSON([...props, ['node-name', storage], ['auto-read-only', true], ['discard', 'unmap']]));
    } else {
      b.add('-blockdev', JSON.stringify({ driver: 'file', filename: img.path, 'node-name': storage, 'auto-read-only': true, discard: 'unmap' }));
    }
    b.add('-blockdev', JSON.stringify({ 'node-name': `libvirt-pflash${i}-format`, 'read-only': img.readonly, driver: 'raw', file: storage }));
  });
}

function buildMachine(b: Builder): void {
  const { def, caps } = b;
  const smm = def.features?.get('smm');
  const parts = [def.os.machine ?? 'pc'];
  parts.push('usb=off');
  const vmport = def.features?.get('vmport');
  if (vmport) parts.push(`vmport=${attr(vmport, 'state') === 'off' ? 'off' : 'on'}`);
  if (smm) parts.push(`smm=${attr(smm, 'state') === 'off' ? 'off' : 'on'}`);
  const ioapic = def.features?.get('ioapic');
  if (ioapic && attr(ioapic, 'driver') === 'qemu') parts.push('kernel_irqchip=split');
  else if (ioapic && attr(ioapic, 'driver') === 'kvm') parts.push('kernel_irqchip=on');
  parts.push(`dump-guest-core=${def.memoryDumpCore === 'on' ? 'on' : 'off'}`);
  const ramId = caps.findMachine(def.type, def.os.machine ?? 'pc')?.defaultRAMid;
  if (def.devices.memories.some((m) => simpleAttr(m, 'model') === 'nvdimm')) parts.push('nvdimm=on');
  const numa = def.cpu ? child(def.cpu, 'numa') : undefined;
  const cells = numaCellsOf(def);
  if (hasHmat(cells, numaInterconnects(numa, cells))) {
    if (!caps.has('numa.hmat')) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'HMAT is not supported with this QEMU');
    parts.push('hmat=on');
  }
  if (cells.length === 0 && ramId && !def.maxMemory) parts.push(`memory-backend=${ramId}`);
  if (def.launchSecurity) parts.push('confidential-guest-support=lsec0');
  pflashImages(def).forEach((_img, i) => parts.push(`pflash${i}=libvirt-pflash${i}-format`));
  const hpet = def.clock ? children(def.clock, 'timer').find((t) => attr(t, 'name') === 'hpet') : undefined;
  if (hpet && attr(hpet, 'present') !== undefined && caps.has('machine-hpet')) {
    parts.push(`hpet=${attr(hpet, 'present') === 'no' ? 'off' : 'on'}`);
  }
  // <bios useserial='yes'>: SeaBIOS writes to the serial port instead of a display.
  if (attr(def.os.extra.find((e) => e.name === 'bios'), 'useserial') === 'yes') parts.push('graphics=off');
  b.add('-machine', parts.join(','));
  // <tcg><tb-cache>: the translation block cache, in MiB.
  const tbCache = def.type !== 'kvm' && def.features?.get('tcg') ? child(def.features.get('tcg')!, 'tb-cache') : undefined;
  const tbSize = tbCache ? parseMemoryKiB(textOf(tbCache) ?? '0', attr(tbCache, 'unit'), './features/tcg/tb-cache') / 1024 : undefined;
  b.add('-accel', def.type === 'kvm' ? 'kvm' : tbSize !== undefined ? `tcg,tb-size=${Math.ceil(tbSize)}` : 'tcg');
  const tseg = smm ? child(smm, 'tseg') : undefined;
  if (tseg) {
    const unit = attr(tseg, 'unit') ?? 'MiB';
    const mib = unit === 'GiB' || unit === 'G' ? Number(textOf(tseg)) * 1024 : Number(textOf(tseg));
    if (unit !== 'MiB' && unit !== 'M' && unit !== 'GiB' && unit !== 'G') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'unsupported TSEG unit');
    b.add('-global', `mch.extended-tseg-mbytes=${mib}`);
  }
}

/**
 * qemuBuildDomainLoaderCommandLine: a ROM image is -bios; flash chips are block nodes (above),
 * and flash that only SMM may write is a global property of every pflash device.
 */
function buildLoader(b: Builder): void {
  const loader = b.def.os.loader;
  const type = loader?.attrs.find(([k]) => k === 'type')?.[1];
  if (type === 'rom') b.add('-bios', loader!.path!);
  else if (type === 'pflash' && loader!.attrs.some(([k, v]) => k === 'secure' && v === 'yes')) {
    b.add('-global', 'driver=cfi.pflash01,property=secure,value=on');
  }
}

function buildCpu(b: Builder): void {
  const cpu = b.def.cpu;
  if (!cpu) return;
  const mode = attr(cpu, 'mode') ?? 'custom';
  let model: string | undefined;
  if (mode === 'host-passthrough') model = 'host';
  else if (mode === 'maximum') model = 'max';
  else model = textOf(child(cpu, 'model'));
  if (!model) return;
  // match='minimum' makes the model at least the host CPU, through libvirt's CPU map.
  if (attr(cpu, 'match') === 'minimum') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, "CPU match 'minimum' is not supported yet");
  const parts = [model];
  if (mode === 'host-passthrough' || mode === 'maximum') {
    checkHostCpuMode(b, mode);
    const migratable = attr(cpu, 'migratable');
    if (migratable !== undefined && b.caps.has('cpu.migratable')) parts.push(`migratable=${migratable}`);
  }
  for (const [name, on] of guestCpuFeatures(b, cpu, mode === 'custom' ? model : undefined)) parts.push(`${CPU_FEATURE_QEMU_NAMES[name] ?? name}=${on ? 'on' : 'off'}`);
  const timers = b.def.clock ? children(b.def.clock, 'timer') : [];
  const kvmclock = timers.find((t) => attr(t, 'name') === 'kvmclock');
  if (kvmclock && attr(kvmclock, 'present') !== undefined) parts.push(`kvmclock=${attr(kvmclock, 'present') === 'no' ? 'off' : 'on'}`);
  const eoi = attr(b.def.features?.get('apic'), 'eoi');
  if (eoi !== undefined) parts.push(`kvm-pv-eoi=${eoi === 'on' ? 'on' : 'off'}`);
  const pvspinlock = b.def.features?.get('pvspinlock');
  if (pvspinlock) parts.push(`kvm-pv-unhalt=${attr(pvspinlock, 'state') === 'off' ? 'off' : 'on'}`);
  parts.push(...hypervCpuFlags(b.def.features?.get('hyperv')));
  if (b.def.devices.panics.some((p) => simpleAttr(p, 'model') === 'hyperv')) parts.push('hv-crash');
  b.add('-cpu', parts.join(','));
}

/** Node's name for the host's architecture in libvirt's words. */
const HOST_ARCH: Record<string, string> = { x64: 'x86_64', ia32: 'i686', arm64: 'aarch64', ppc64: 'ppc64le', s390x: 's390x' };

/**
 * virQEMUCapsIsCPUModeSupported and qemuValidateDomainDefCpu for host-passthrough and maximum:
 * the host's own CPU needs hardware virtualization of the host's architecture; QEMU's largest
 * model needs a QEMU that has one; migratable='on' needs a QEMU that lets libvirt choose.
 */
function checkHostCpuMode(b: Builder, mode: 'host-passthrough' | 'maximum'): void {
  const cpu = b.def.cpu!;
  if (mode === 'maximum' && !b.caps.has('cpu-max')) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'maximum CPU is not supported by QEMU binary');
  }
  if (mode === 'host-passthrough') {
    if (attr(cpu, 'migratable') === 'on' && !b.caps.has('cpu.migratable')) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'Migratable attribute for host-passthrough CPU is not supported by this QEMU binary');
    }
    const hostArch = HOST_ARCH[process.arch] ?? process.arch;
    const guestArch = b.def.os.arch ?? b.caps.arch;
    const native = guestArch === hostArch || (hostArch === 'x86_64' && guestArch === 'i686');
    if (b.def.type !== 'kvm' || !native) {
      throw virError(
        VIR_ERR_CONFIG_UNSUPPORTED,
        VIR_FROM_QEMU,
        `CPU mode '${mode}' for ${guestArch} ${b.def.type} domain on ${hostArch} host is not supported by hypervisor`,
      );
    }
  }
}

/** libvirt's x86 feature names that QEMU spells differently (virQEMUCapsCPUFeatureToQEMU). */
const CPU_FEATURE_QEMU_NAMES: Record<string, string> = {
  cmp_legacy: 'cmp-legacy', ds_cpl: 'ds-cpl', fxsr_opt: 'fxsr-opt', kvm_pv_eoi: 'kvm-pv-eoi', kvm_pv_unhalt: 'kvm-pv-unhalt',
  lahf_lm: 'lahf-lm', nodeid_msr: 'nodeid-msr', pclmuldq: 'pclmulqdq', perfctr_core: 'perfctr-core', perfctr_nb: 'perfctr-nb',
  tsc_adjust: 'tsc-adjust',
};

/**
 * Features libvirt's CPU map records as taken out of a model by QEMU after libvirt defined it:
 * a guest of that model gets them disabled explicitly unless its definition names them
 * (virCPUx86DisableRemovedFeatures), so that it sees the CPU libvirt describes.
 */
const REMOVED_MODEL_FEATURES: Record<string, string[]> = {
  'Icelake-Server': ['intel-pt'],
};

/**
 * qemuProcessUpdateGuestCPU's view of the <feature>s: each on or off, a custom model's removed
 * features added, and disabled features QEMU does not know left out (QEMU never enables what it
 * does not know).
 */
function guestCpuFeatures(b: Builder, cpu: XmlElement, customModel: string | undefined): Array<[string, boolean]> {
  const out: Array<[string, boolean]> = [];
  for (const f of children(cpu, 'feature')) {
    const name = attr(f, 'name');
    const policy = attr(f, 'policy') ?? 'require';
    if (name === undefined) continue;
    // 'optional' resolves against the host CPU through libvirt's CPU map, which virtnode lacks.
    if (!['require', 'force', 'disable', 'forbid'].includes(policy)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `CPU feature policy '${policy}' is not supported yet`);
    out.push([name, policy === 'require' || policy === 'force']);
  }
  for (const name of customModel !== undefined ? REMOVED_MODEL_FEATURES[customModel] ?? [] : []) {
    if (!out.some(([n]) => n === name)) out.push([name, false]);
  }
  if (out.length === 0) return out;
  const host = b.caps.hostCpu(b.def.type);
  if (!host) return out;
  const known = booleanCpuProps(host.props);
  return out.filter(([name, on]) => on || known.has(CPU_FEATURE_QEMU_NAMES[name] ?? name));
}

/** The host CPU's boolean properties (the features this QEMU knows), worked out once per probe. */
const knownCpuFeatures = new WeakMap<object, Set<string>>();
function booleanCpuProps(props: Record<string, unknown>): Set<string> {
  let known = knownCpuFeatures.get(props);
  if (!known) {
    known = new Set(Object.keys(props).filter((k) => typeof props[k] === 'boolean'));
    knownCpuFeatures.set(props, known);
  }
  return known;
}

/** libvirt's Hyper-V enlightenments, in its enum order, with QEMU's property names. */
const HYPERV_FEATURES = [
  'relaxed', 'vapic', 'spinlocks', 'vpindex', 'runtime', 'synic', 'stimer', 'reset', 'vendor_id', 'frequencies',
  'reenlightenment', 'tlbflush', 'ipi', 'evmcs', 'avic',
];

function hypervCpuFlags(hyperv: XmlElement | undefined): string[] {
  if (!hyperv) return [];
  const mode = attr(hyperv, 'mode') ?? 'custom';
  if (mode === 'passthrough') return ['hv-passthrough=on'];
  const out: string[] = [];
  for (const el of children(hyperv)) {
    if (!HYPERV_FEATURES.includes(el.name)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `Hyper-V feature '${el.name}' is not supported yet`);
  }
  for (const name of HYPERV_FEATURES) {
    const el = child(hyperv, name);
    if (!el || attr(el, 'state') !== 'on') continue;
    if (name === 'spinlocks') out.push(`hv-spinlocks=0x${Number(attr(el, 'retries') ?? 0).toString(16)}`);
    else if (name === 'vendor_id') out.push(`hv-vendor-id=${attr(el, 'value') ?? ''}`);
    else out.push(`hv-${name}=on`);
    if (name === 'stimer' && attr(child(el, 'direct'), 'state') === 'on') out.push('hv-stimer-direct=on');
  }
  return out;
}

function buildMemory(b: Builder): void {
  const { def, caps } = b;
  checkMemorySupported(def);
  const cells = numaCellsOf(def);
  const initial = initialMemoryKiB(def);
  if (def.maxMemory) {
    b.add('-m', `size=${initial}k,slots=${def.maxMemory.slots},maxmem=${def.maxMemory.kib}k`);
  } else {
    b.add('-m', String(initial / 1024));
  }
  const ramId = caps.findMachine(def.type, def.os.machine ?? 'pc')?.defaultRAMid;
  if (cells.length === 0 && ramId && !def.maxMemory) {
    for (const props of systemMemoryObjects(def, caps, b.memoryEnv(), ramId)) b.object(props);
  } else if (cells.length === 0 && (def.memoryBacking || def.numatune)) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'memory backing without a default RAM backend is not supported yet');
  }
  const locked = def.memoryBacking ? child(def.memoryBacking, 'locked') : undefined;
  b.add('-overcommit', `mem-lock=${locked ? 'on' : 'off'}`);
}

/** qemuBuildNumaCommandLine: one memory backend and one -numa node per cell. */
function buildNuma(b: Builder): void {
  const env = b.memoryEnv();
  const cells = numaCellsOf(b.def);
  const legacy = cells.length > 0 && legacyNumaMem(b.def, b.caps);
  if (legacy && b.def.memoryBacking && attr(child(b.def.memoryBacking, 'allocation'), 'mode') === 'immediate') b.add('-mem-prealloc');
  if (cells.length === 0) return;
  const numa = child(b.def.cpu!, 'numa');
  const interconnects = numaInterconnects(numa, cells);
  const hmat = hasHmat(cells, interconnects);
  const firstWithCpus = cells.findIndex((c) => attr(c, 'cpus') !== undefined);
  if (firstWithCpus < 0) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'At least one NUMA node has to have CPUs');
  cells.forEach((cell, i) => {
    const id = attr(cell, 'id') ?? '0';
    if (!legacy) for (const props of numaCellObjects(b.def, b.caps, env, cell)) b.object(props);
    const cpus = (attr(cell, 'cpus') ?? '').split(',').filter(Boolean).map((r) => `,cpus=${r}`).join('');
    // A node with neither CPUs nor figures naming one is reached from the first node with CPUs.
    const own = nodeInitiator(cells, interconnects, i);
    const initiator = hmat ? `,initiator=${own < 0 ? firstWithCpus : own}` : '';
    b.add('-numa', `node,nodeid=${id}${cpus}${initiator},${legacy ? `mem=${cellKiB(cell) / 1024}` : `memdev=ram-node${id}`}`);
  });
  // Once any distance is given, QEMU gets the whole table (virDomainNumaGetNodeDistance): what the
  // parser filled in (symmetric, 10 to itself), else 10 to itself and 20 to any other node.
  const given = cells.map((cell) => {
    const row = new Map<string, string>();
    const distances = child(cell, 'distances');
    for (const sibling of distances ? children(distances, 'sibling') : []) row.set(attr(sibling, 'id')!, attr(sibling, 'value')!);
    return row;
  });
  if (given.some((row) => row.size > 0)) {
    cells.forEach((cell, i) => {
      const src = attr(cell, 'id') ?? String(i);
      cells.forEach((other, j) => {
        const dst = attr(other, 'id') ?? String(j);
        b.add('-numa', `dist,src=${src},dst=${dst},val=${given[i].get(dst) ?? (src === dst ? 10 : 20)}`);
      });
    });
  }
  if (hmat) for (const arg of hmatNumaArgs(cells, interconnects)) b.add('-numa', arg);
}

/** qemuBuildMemoryDeviceCommandLine: each memory module's backend and device. */
function buildMemoryDevices(b: Builder): void {
  const env = b.memoryEnv();
  for (const dev of b.def.devices.memories) {
    const { objects, device } = memoryDeviceArgs(b.def, b.caps, env, dev);
    for (const props of objects) b.object(props);
    b.device([...device, ...b.addressProps(dev.info)]);
  }
}

function buildSmp(b: Builder): void {
  const { def, caps } = b;
  const max = def.vcpu.count;
  let out = String(def.vcpu.current ?? max);
  if (def.vcpu.current !== undefined && def.vcpu.current !== max) out += `,maxcpus=${max}`;
  const topo = def.cpu ? child(def.cpu, 'topology') : undefined;
  if (topo) {
    out += `,sockets=${attr(topo, 'sockets') ?? 1}`;
    if (caps.has('smp-dies')) out += `,dies=${attr(topo, 'dies') ?? 1}`;
    out += `,cores=${attr(topo, 'cores') ?? 1},threads=${attr(topo, 'threads') ?? 1}`;
  } else {
    out += `,sockets=${max},cores=1,threads=1`;
  }
  b.add('-smp', out);
}

/**
 * The domain's IOThreads (<iothreads>, <iothreadids>): an iothread object each, named by its id;
 * ids the definition does not list are the lowest unused numbers.
 */
function iothreadIds(def: DomainDef): number[] {
  const count = Number(textOf(def.iothreads) ?? 0);
  const listed = def.iothreadids ? children(def.iothreadids).filter((c) => c.name === 'iothread') : [];
  if (listed.some((c) => [...c.attrs.keys()].some((k) => k !== 'id'))) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'IOThread settings are not supported yet');
  }
  const ids = listed.map((c) => Number(attr(c, 'id')));
  for (let id = 1; ids.length < count; id++) if (!ids.includes(id)) ids.push(id);
  return ids;
}

function buildIothreads(b: Builder): void {
  for (const id of iothreadIds(b.def)) b.object([['qom-type', 'iothread'], ['id', `iothread${id}`]]);
}

/** A disk's or controller's <driver iothread=N>: the iothread object's id, which the domain must have. */
function iothreadId(b: Builder, id: string | undefined, what: 'Disk' | 'controller'): string | undefined {
  if (id === undefined) return undefined;
  if (!iothreadIds(b.def).includes(Number(id))) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `${what} iothread '${id}' not defined in iothreadid`);
  }
  return `iothread${id}`;
}

/** The SMBIOS tables <sysinfo type='smbios'> can fill, their <entry> names in QEMU's order. */
const SMBIOS_TABLES: Array<[element: string, type: number, entries: string[]]> = [
  ['bios', 0, ['vendor', 'version', 'date', 'release']],
  ['system', 1, ['manufacturer', 'product', 'version', 'serial', 'uuid', 'sku', 'family']],
  ['baseBoard', 2, ['manufacturer', 'product', 'version', 'serial', 'asset', 'location']],
  ['chassis', 3, ['manufacturer', 'version', 'serial', 'asset', 'sku']],
];

function smbiosMode(def: DomainDef): string | undefined {
  return attr(def.os.extra.find((e) => e.name === 'smbios'), 'mode');
}

/** What virtnode does not turn into -smbios yet: fw_cfg sysinfo, the host's own tables. */
function smbiosUnsupported(def: DomainDef): boolean {
  if (def.sysinfo.some((s) => attr(s, 'type') !== 'smbios')) return true;
  const mode = smbiosMode(def);
  return mode !== undefined && mode !== 'sysinfo' && mode !== 'emulate' && mode !== 'none';
}

/**
 * qemuBuildSmbiosCommandLine for <smbios mode='sysinfo'/>: one -smbios per table the domain's
 * <sysinfo type='smbios'> fills (bios, system, each baseBoard, chassis), then its OEM strings.
 */
function buildSmbios(b: Builder): void {
  const sysinfo = b.def.sysinfo.find((s) => attr(s, 'type') === 'smbios');
  if (smbiosMode(b.def) !== 'sysinfo' || !sysinfo) return;
  for (const [element, type, names] of SMBIOS_TABLES) {
    for (const table of children(sysinfo).filter((c) => c.name === element)) {
      const entries = children(table).filter((e) => e.name === 'entry');
      const fields = names.flatMap((name) => {
        const value = textOf(entries.find((e) => attr(e, 'name') === name));
        return value === undefined ? [] : [`${name}=${escapeOptionValue(value)}`];
      });
      if (fields.length > 0) b.add('-smbios', [`type=${type}`, ...fields].join(','));
    }
  }
  const oem = children(sysinfo).find((c) => c.name === 'oemStrings');
  const strings = oem ? children(oem).filter((e) => e.name === 'entry').map((e) => `value=${escapeOptionValue(textOf(e) ?? '')}`) : [];
  if (strings.length > 0) b.add('-smbios', ['type=11', ...strings].join(','));
}

function buildClock(b: Builder): void {
  const clock = b.def.clock;
  const offset = attr(clock, 'offset') ?? 'utc';
  let rtc: string;
  if (offset === 'localtime') rtc = 'base=localtime';
  else if (offset === 'absolute') {
    const start = Number(attr(clock, 'start') ?? '0');
    rtc = `base=${new Date(start * 1000).toISOString().slice(0, 19)}`;
  } else if (offset === 'utc') rtc = 'base=utc';
  else throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported clock offset '${offset}'`);
  const timers = clock ? children(clock, 'timer') : [];
  const rtcTimer = timers.find((t) => attr(t, 'name') === 'rtc');
  if (rtcTimer && attr(rtcTimer, 'tickpolicy') === 'catchup') rtc += ',driftfix=slew';
  b.add('-rtc', rtc);
  // The other timers in document order: the PIT's tick policy, an HPET switched off by option
  // on QEMUs whose machine types have no 'hpet' property yet (before 8.0; see buildMachine).
  for (const timer of timers) {
    const name = attr(timer, 'name');
    const policy = attr(timer, 'tickpolicy');
    if (name === 'pit' && (policy === 'delay' || policy === 'discard')) b.add('-global', `kvm-pit.lost_tick_policy=${policy}`);
    if (name === 'hpet' && attr(timer, 'present') === 'no' && !b.caps.has('machine-hpet') && b.caps.has('no-hpet')) b.add('-no-hpet');
  }
}

function buildPm(b: Builder): void {
  const { def } = b;
  b.add('-no-shutdown');
  if (!def.features?.has('acpi') && (def.os.arch === 'x86_64' || def.os.arch === 'i686')) b.add('-no-acpi');
  const pm = def.pm;
  const lpc = isQ35(def) ? 'ICH9-LPC' : 'PIIX4_PM';
  for (const [el, opt] of [['suspend-to-mem', 'disable_s3'], ['suspend-to-disk', 'disable_s4']] as const) {
    const e = pm ? child(pm, el) : undefined;
    const enabled = attr(e, 'enabled');
    if (enabled !== undefined) b.add('-global', `${lpc}.${opt}=${enabled === 'no' ? 1 : 0}`);
  }
}

function buildBoot(b: Builder): void {
  const parts: string[] = [];
  const menu = b.def.os.bootmenu;
  if (menu) {
    const enable = menu.find(([k]) => k === 'enable')?.[1];
    if (enable === 'yes') parts.push('menu=on');
    else if (enable === 'no') parts.push('menu=off');
    const timeout = menu.find(([k]) => k === 'timeout')?.[1];
    if (timeout !== undefined && enable === 'yes') parts.push(`splash-time=${timeout}`);
  }
  const rebootTimeout = attr(b.def.os.extra.find((e) => e.name === 'bios'), 'rebootTimeout');
  if (rebootTimeout !== undefined) parts.push(`reboot-timeout=${rebootTimeout}`);
  parts.push('strict=on');
  b.add('-boot', parts.join(','));
  // Direct kernel boot.
  const os = b.def.os;
  if (os.kernel !== undefined) b.add('-kernel', os.kernel);
  if (os.initrd !== undefined) b.add('-initrd', os.initrd);
  if (os.cmdline !== undefined) b.add('-append', os.cmdline);
  if (os.dtb !== undefined) b.add('-dtb', os.dtb);
  const root = b.def.devices.controllers.find((c) => c.type === 'pci' && c.index === 0);
  const hotplug = genericAttr(root?.target, 'hotplug');
  if (hotplug !== undefined && isI440fx(b.def)) b.add('-global', `PIIX4_PM.acpi-root-pci-hotplug=${hotplug === 'off' ? 'off' : 'on'}`);
}

// ---------------------------------------------------------------------------------------------
// Devices

const USB_CONTROLLER_DRIVERS: Record<string, string> = {
  'piix3-uhci': 'piix3-usb-uhci',
  'piix4-uhci': 'piix4-usb-uhci',
  ehci: 'usb-ehci',
  'ich9-ehci1': 'ich9-usb-ehci1',
  'ich9-uhci1': 'ich9-usb-uhci1',
  'ich9-uhci2': 'ich9-usb-uhci2',
  'ich9-uhci3': 'ich9-usb-uhci3',
  'vt82c686b-uhci': 'vt82c686b-usb-uhci',
  'pci-ohci': 'pci-ohci',
  'nec-xhci': 'nec-usb-xhci',
  'qemu-xhci': 'qemu-xhci',
};

const USB_CAP: Record<string, string> = {
  'piix3-uhci': 'piix3-usb-uhci',
  'qemu-xhci': 'qemu-xhci',
  'nec-xhci': 'nec-usb-xhci',
};

function buildControllers(b: Builder): void {
  const ctrls = b.def.devices.controllers;
  // PCI controllers first (qemuBuildControllersByTypeCommandLine order), then the others.
  const order = ['pci', 'usb', 'scsi', 'sata', 'virtio-serial', 'ccid'];
  for (const type of order) {
    for (const c of ctrls) if (c.type === type) buildController(b, c);
  }
}

function buildController(b: Builder, c: ControllerDef): void {
  const { def, caps } = b;
  const addr = b.addressProps(c.info);
  switch (c.type) {
    case 'pci': {
      if (c.index === 0) return;
      const target = c.target;
      if (c.model === 'pcie-root-port' || c.model === 'pcie-switch-downstream-port') {
        const port = genericAttr(target, 'port');
        const chassis = genericAttr(target, 'chassis');
        const hotplug = genericAttr(target, 'hotplug');
        b.device([
          ['driver', c.modelName ?? (c.model === 'pcie-root-port' ? 'pcie-root-port' : 'xio3130-downstream')],
          ['port', port !== undefined ? Number(port) : undefined],
          ['chassis', chassis !== undefined ? Number(chassis) : c.index],
          ['id', c.info.alias],
          ...(hotplug ? ([['hotplug', hotplug === 'on']] as Props) : []),
          ...addr,
        ]);
      } else if (c.model === 'pcie-switch-upstream-port') {
        b.device([['driver', c.modelName ?? 'x3130-upstream'], ['id', c.info.alias], ...addr]);
      } else if (c.model === 'pcie-to-pci-bridge') {
        b.device([['driver', c.modelName ?? 'pcie-pci-bridge'], ['id', c.info.alias], ...addr]);
      } else if (c.model === 'pci-bridge') {
        b.device([['driver', 'pci-bridge'], ['chassis_nr', Number(genericAttr(target, 'chassisNr') ?? c.index)], ['id', c.info.alias], ...addr]);
      } else {
        throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported PCI controller model '${c.model}'`);
      }
      return;
    }
    case 'usb': {
      const model = c.model ?? 'piix3-uhci';
      if (model === 'none') return;
      const driver = USB_CONTROLLER_DRIVERS[model];
      if (!driver) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported USB controller model '${model}'`);
      const cap = USB_CAP[model];
      if (cap && !caps.has(cap) && model === 'piix3-uhci' && c.index === 0) {
        b.add('-usb');
        return;
      }
      const props: Props = [['driver', driver]];
      const ports = c.attrs.find(([k]) => k === 'ports')?.[1];
      if (ports !== undefined) props.push(['p2', Number(ports)], ['p3', Number(ports)]);
      if (c.info.masterStartport !== undefined) {
        const master = def.devices.controllers.find((x) => x.type === 'usb' && x.index === c.index && x.info.masterStartport === undefined);
        props.push(['masterbus', `${master?.info.alias ?? 'usb'}.0`], ['firstport', Number(c.info.masterStartport)]);
      } else {
        props.push(['id', c.info.alias]);
      }
      props.push(...addr);
      b.device(props);
      return;
    }
    case 'virtio-serial': {
      const props: Props = [['driver', 'virtio-serial-pci'], ...virtioOptions(c.driver), ['id', c.info.alias]];
      const ports = c.attrs.find(([k]) => k === 'ports')?.[1];
      if (ports !== undefined) props.push(['max_ports', Number(ports)]);
      const vectors = c.attrs.find(([k]) => k === 'vectors')?.[1];
      if (vectors !== undefined) props.push(['vectors', Number(vectors)]);
      b.device([...props, ...addr]);
      return;
    }
    case 'scsi': {
      const drivers: Record<string, string> = {
        'virtio-scsi': 'virtio-scsi-pci',
        lsilogic: 'lsi',
        lsisas1068: 'mptsas1068',
        lsisas1078: 'megasas',
        vmpvscsi: 'pvscsi',
        am53c974: 'am53c974',
        dc390: 'dc390',
        ibmvscsi: 'spapr-vscsi',
      };
      const driver = drivers[c.model ?? 'lsilogic'];
      if (!driver) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported controller model '${c.model}'`);
      if (driver === 'spapr-vscsi') {
        const vio = c.info.address;
        const reg = vio?.type === 'spapr-vio' ? vio.attrs.find(([k]) => k === 'reg')?.[1] : undefined;
        if (reg === undefined || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(reg)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'spapr-vscsi without an sPAPR VIO register is not supported yet');
        b.device([['driver', driver], ['id', c.info.alias], ['reg', Number(reg)]]);
        return;
      }
      if (driver !== 'virtio-scsi-pci') {
        b.device([['driver', driver], ['id', c.info.alias], ...addr]);
        return;
      }
      const num = (k: string): number | undefined => (attrOf(c.driver, k) === undefined ? undefined : Number(attrOf(c.driver, k)));
      const ioeventfd = attrOf(c.driver, 'ioeventfd');
      b.device([
        ['driver', driver], ...virtioOptions(c.driver), ['iothread', iothreadId(b, attrOf(c.driver, 'iothread'), 'controller')], ['id', c.info.alias], ['num_queues', num('queues')], ['cmd_per_lun', num('cmd_per_lun')],
        ['max_sectors', num('max_sectors')], ['ioeventfd', ioeventfd === undefined ? undefined : ioeventfd === 'on'], ...addr,
      ]);
      return;
    }
    case 'sata':
      if (isQ35(def) && c.index === 0) return;
      b.device([['driver', 'ahci'], ['id', c.info.alias], ...addr]);
      return;
    case 'ccid':
      b.device([['driver', 'usb-ccid'], ['id', c.info.alias], ...addr]);
      return;
  }
}

/** The drive address of a disk on an IDE/SATA/SCSI/FDC bus. */
function driveAddr(disk: DiskDef, name: string): number {
  return Number(disk.info.address?.attrs.find(([k]) => k === name)?.[1] ?? '0');
}

/** The floppy controller: built into i440fx (set up with -global), an ISA device on q35. */
function buildFloppyController(b: Builder): void {
  const floppies = b.def.devices.disks.filter((d) => d.target.bus === 'fdc');
  if (floppies.length === 0) return;
  const props: Props = [];
  for (const f of floppies) {
    const boot = b.bootIndex(f.info);
    if (boot !== undefined) props.push([`bootindex${driveAddr(f, 'unit') === 0 ? 'A' : 'B'}`, boot]);
  }
  if (isQ35(b.def)) b.device([['driver', 'isa-fdc'], ...props]);
  else for (const [k, v] of props) b.add('-global', `isa-fdc.${k}=${v}`);
}

/** qemuBuildFilesystemCommandLine: 9p shares (-fsdev + virtio-9p-pci) and virtiofs (vhost-user-fs-pci). */
function buildFilesystems(b: Builder): void {
  for (const fs of b.def.devices.filesystems) {
    const get = (k: string): string | undefined => simpleAttr(fs, k);
    const el = (name: string): XmlElement | undefined => fs.children.find((c) => c.name === name);
    const driver = el('driver');
    const driverType = attr(driver, 'type');
    const type = get('type') ?? 'mount';
    const alias = fs.info.alias!;
    const source = attr(el('source'), 'dir');
    const target = attr(el('target'), 'dir');
    const model = get('model');
    for (const c of fs.children) {
      if (!['driver', 'source', 'target', 'readonly', 'binary'].includes(c.name)) unsupportedFs(`<${c.name}>`);
    }
    if (type !== 'mount' || source === undefined || target === undefined || (model !== undefined && model !== 'virtio')) unsupportedFs(`type '${type}'`);
    if (driverType === 'virtiofs') {
      for (const k of driver!.attrs.keys()) if (!['type', 'queue', 'iommu', 'ats', 'packed', 'page_per_vq'].includes(k)) unsupportedFs(`driver attribute '${k}'`);
      if (el('readonly')) unsupportedFs('readonly virtiofs');
      const memAccess = b.def.memoryBacking ? attr(child(b.def.memoryBacking, 'access'), 'mode') : undefined;
      if (numaCellsOf(b.def).length === 0 && memAccess !== 'shared') {
        throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'virtiofs requires shared memory');
      }
      const chr = `chr-vu-${alias}`;
      b.add('-chardev', buildChardevArg(chr, { type: 'unix', path: `${b.opts.libDir}/${alias}-fs.sock` }));
      const queue = attr(driver, 'queue');
      b.device([
        ['driver', 'vhost-user-fs-pci'], ...virtioOptions(driver), ['id', alias], ['chardev', chr],
        ['queue-size', queue === undefined ? undefined : Number(queue)], ['tag', target],
        ['bootindex', b.bootIndex(fs.info)], ...b.addressProps(fs.info),
      ]);
      continue;
    }
    if (el('binary')) unsupportedFs('<binary> without virtiofs');
    if (driver) for (const k of driver.attrs.keys()) if (!['type', 'wrpolicy', 'iommu', 'ats', 'packed', 'page_per_vq'].includes(k)) unsupportedFs(`driver attribute '${k}'`);
    if (fs.info.bootOrder !== undefined) unsupportedFs('boot order on a 9p share');
    let fsdev: string;
    if (driverType === undefined || driverType === 'path') {
      const mode = get('accessmode') ?? 'passthrough';
      const model = mode === 'squash' ? 'none' : mode;
      fsdev = `local,security_model=${model}`;
      const multidevs = get('multidevs');
      if (multidevs !== undefined && multidevs !== 'default') fsdev += `,multidevs=${multidevs}`;
      const fmode = get('fmode');
      const dmode = get('dmode');
      if (fmode !== undefined) fsdev += `,fmode=${fmode}`;
      if (dmode !== undefined) fsdev += `,dmode=${dmode}`;
    } else if (driverType === 'handle') {
      fsdev = 'handle';
    } else {
      unsupportedFs(`driver type '${driverType}'`);
    }
    const wrpolicy = attr(driver, 'wrpolicy');
    if (wrpolicy !== undefined) fsdev += `,writeout=${wrpolicy}`;
    fsdev += `,id=fsdev-${alias},path=${escapeOptionValue(source)}`;
    if (el('readonly')) fsdev += ',readonly=on';
    b.add('-fsdev', fsdev);
    b.device([
      ['driver', 'virtio-9p-pci'], ...virtioOptions(driver), ['id', alias], ['fsdev', `fsdev-${alias}`], ['mount_tag', target],
      ...b.addressProps(fs.info),
    ]);
  }
}

/** qemuBuildSmartcardCommandLine: an emulated card on the host's NSS database, on a CCID bus. */
function buildSmartcards(b: Builder): void {
  for (const card of b.def.devices.smartcards) {
    const mode = simpleAttr(card, 'mode');
    if (mode !== 'host' || card.children.length > 0 || card.attrs.length !== 1) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `smartcard mode '${mode}' is not supported yet`);
    }
    const a = card.info.address;
    const controller = Number(a?.type === 'ccid' ? (a.attrs.find(([k]) => k === 'controller')?.[1] ?? '0') : '0');
    const ccid = b.def.devices.controllers.find((c) => c.type === 'ccid' && c.index === controller);
    if (!ccid) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'smartcard without a CCID controller is not supported');
    b.device([['driver', 'ccid-card-emulated'], ['backend', 'nss-emulated'], ['id', card.info.alias], ['bus', `${ccid.info.alias}.0`]]);
  }
}

/** qemuBuildTPMsCommandLine: the TPM backend (-tpmdev, with its chardev or fds) and its device. */
function buildTpms(b: Builder): void {
  for (const tpm of b.def.devices.tpms) {
    const bad = (what: string): never => {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `TPM ${what} is not supported yet`);
    };
    const model = simpleAttr(tpm, 'model') ?? 'tpm-tis';
    if (model !== 'tpm-tis' && model !== 'tpm-crb') bad(`model '${model}'`);
    if (!b.caps.has(model)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `The QEMU executable ${b.caps.data.binary} does not support TPM model ${model}`);
    const backend = tpm.children.find((c) => c.name === 'backend');
    for (const c of tpm.children) if (c.name !== 'backend') bad(`<${c.name}>`);
    const type = attr(backend, 'type') ?? bad('without a backend');
    const alias = tpm.info.alias!;
    let tpmdev: string;
    if (type === 'passthrough') {
      // QEMU gets the device (<device path>, default /dev/tpm0) and its sysfs cancel file as fds.
      const fds = b.opts.tpmPassthroughFds;
      if (!fds) bad('passthrough without pre-opened device fds');
      const devPath = b.passFd(fds![0], `${alias}-tpm`);
      const cancel = b.passFd(fds![1], `${alias}-cancel`);
      tpmdev = `passthrough,id=tpm-${alias},path=${devPath},cancel-path=${cancel}`;
    } else if (type === 'emulator' || type === 'external') {
      let socket: string | undefined;
      if (type === 'external') {
        const src = child(backend!, 'source');
        if (attr(src, 'type') !== 'unix' || (attr(src, 'mode') ?? 'connect') !== 'connect') bad('external source other than a unix socket to connect to');
        socket = attr(src, 'path');
      } else {
        socket = b.opts.tpmEmulatorSocket;
      }
      if (socket === undefined) bad(`${type} backend without a swtpm socket`);
      b.add('-chardev', buildChardevArg('chrtpm', { type: 'unix', path: socket! }));
      tpmdev = `emulator,id=tpm-${alias},chardev=chrtpm`;
    } else {
      bad(`backend '${type}'`);
    }
    b.add('-tpmdev', tpmdev!);
    b.device([['driver', model], ['tpmdev', `tpm-${alias}`], ['id', alias], ...b.addressProps(tpm.info)]);
  }
}

/** qemuBuildIOMMUCommandLine: an Intel IOMMU as a device of its own. */
function buildIommu(b: Builder): void {
  const iommu = b.def.devices.iommu;
  if (!iommu) return;
  const model = simpleAttr(iommu, 'model');
  const drv = iommu.children.find((c) => c.name === 'driver');
  if (model !== 'intel' || iommu.children.some((c) => c.name !== 'driver')) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `IOMMU model '${model}' is not supported yet`);
  }
  for (const k of drv?.attrs.keys() ?? []) {
    if (!['intremap', 'caching_mode', 'eim', 'iotlb', 'aw_bits'].includes(k)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `IOMMU driver setting '${k}' is not supported yet`);
  }
  const d = (k: string): string | undefined => attr(drv, k);
  const ioapic = b.def.features?.get('ioapic');
  if (d('intremap') === 'on' && attr(ioapic, 'driver') !== 'qemu') {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'IOMMU interrupt remapping requires split I/O APIC (ioapic driver=\'qemu\')');
  }
  b.device([
    ['driver', 'intel-iommu'], ['id', iommu.info.alias],
    ['intremap', d('intremap')], ['caching-mode', d('caching_mode') === undefined ? undefined : d('caching_mode') === 'on'],
    ['eim', d('eim')], ['device-iotlb', d('iotlb') === undefined ? undefined : d('iotlb') === 'on'],
    ['aw-bits', d('aw_bits') === undefined ? undefined : Number(d('aw_bits'))],
  ]);
}

function unsupportedFs(what: string): never {
  throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `filesystem ${what} is not supported yet`);
}

/** qemuBuildVhostUserBlkCommandLine: a vhost-user-blk device on a socket chardev. */
function buildVhostUserDisk(b: Builder, disk: DiskDef): void {
  const src = disk.source;
  const path = genericAttr(src, 'path');
  const bad = src && (genericAttr(src, 'type') !== 'unix' || src.attrs.some(([k]) => k !== 'type' && k !== 'path') || src.children.some((c) => c.name !== 'reconnect'));
  if (!src || path === undefined || bad || disk.target.bus !== 'virtio' || disk.device !== 'disk') {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk source settings not supported yet');
  }
  const reconnect = src.children.find((c) => c.name === 'reconnect');
  const alias = disk.info.alias!;
  const chr = `chr-vu-${alias}`;
  const rc = reconnect ? { reconnect: attr(reconnect, 'enabled') === 'yes' ? Number(attr(reconnect, 'timeout') ?? 0) : 0 } : {};
  b.add('-chardev', buildChardevArg(chr, { type: 'unix', path, ...rc }));
  const drv = disk.driver;
  const num = (k: string): number | undefined => (attrOf(drv, k) === undefined ? undefined : Number(attrOf(drv, k)));
  b.device([
    ['driver', 'vhost-user-blk-pci'], ...virtioOptions(drv), ['num-queues', num('queues')], ['queue-size', num('queue_size')],
    ...b.addressProps(disk.info), ['chardev', chr], ['id', alias], ['bootindex', b.bootIndex(disk.info)],
  ]);
}

/**
 * A <transient> disk: a plain local qcow2/raw file whose overlay QEMU gets over QMP once it runs;
 * with shareBacking='yes', the whole disk is hotplugged then (virtio and SCSI buses only).
 */
function transientDiskSupported(disk: DiskDef): boolean {
  const attrs = disk.transient ?? [];
  if (attrs.some(([k, v]) => k !== 'shareBacking' || (v !== 'yes' && v !== 'no'))) return false;
  const shared = isSharedBackingTransient(disk);
  return disk.type === 'file' && disk.device === 'disk' && !disk.readonly && disk.source !== undefined &&
    (!shared || disk.target.bus === 'virtio' || disk.target.bus === 'scsi');
}

function isSharedBackingTransient(disk: DiskDef): boolean {
  return disk.transient?.some(([k, v]) => k === 'shareBacking' && v === 'yes') ?? false;
}

/**
 * qemuBuildDriveStr for an SD card, the one bus libvirt still drives with -drive: a plain local
 * image, its format and the card's index.
 */
function buildSdDrive(b: Builder, disk: DiskDef): void {
  const path = disk.type === 'file' ? genericAttr(disk.source, 'file') : disk.type === 'block' ? genericAttr(disk.source, 'dev') : undefined;
  const driverOk = (disk.driver?.attrs ?? []).every(([k]) => k === 'name' || k === 'type') && (disk.driver?.children.length ?? 0) === 0;
  const plain = disk.source?.attrs.length === 1 && disk.source.children.length === 0 && !disk.backingStore?.attrs.size;
  if (path === undefined || !driverOk || !plain || disk.device !== 'disk' || disk.readonly || disk.shareable || disk.serial !== undefined ||
    disk.extra.length > 0 || disk.info.bootOrder !== undefined || disk.info.address !== undefined || disk.transient) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'SD card disk settings are not supported yet');
  }
  const format = genericAttr(disk.driver, 'type') ?? 'raw';
  b.add('-drive', `file=${path.replace(/,/g, ',,')},format=${format},if=sd,index=${diskNameToIndex(disk.target.dev)}`);
}

function buildDisks(b: Builder): void {
  buildFloppyController(b);
  const nodes = b.allocNodeIndexes();
  for (const disk of b.def.devices.disks) {
    // Hotplugged once QEMU runs, on an overlay of the shared image: never on the command line.
    if (isSharedBackingTransient(disk)) continue;
    if (disk.type === 'vhostuser') {
      buildVhostUserDisk(b, disk);
      continue;
    }
    if (disk.target.bus === 'sd') {
      buildSdDrive(b, disk);
      continue;
    }
    const n = nodes.get(disk);
    let drive: string | undefined;
    if (n !== undefined && b.diskHasBlockdev(disk)) drive = buildBlockdev(b, disk, n);
    buildDiskDevice(b, disk, drive);
  }
}

/** qemuDomainDiskCachemodeFlags: (write-back, direct, no-flush) per <driver cache=>. */
const CACHE_MODES: Record<string, [boolean, boolean, boolean]> = {
  none: [true, true, false],
  writethrough: [false, false, false],
  writeback: [true, false, false],
  directsync: [false, true, false],
  unsafe: [true, false, true],
};

/**
 * qemuDomainPrepareDiskCachemode: the disk's cache mode, or for a writable shared disk without
 * one 'none', so that no host page cache stands between the guests sharing it.
 */
function cacheOf(disk: DiskDef): [boolean, boolean, boolean] | undefined {
  const mode = genericAttr(disk.driver, 'cache');
  if (mode !== undefined && mode !== 'default') return CACHE_MODES[mode];
  return disk.shareable && !disk.readonly ? CACHE_MODES.none : undefined;
}

/** A block device node for a local file or block device: libvirt's `-storage` and `-format` layers. */
/** One image of a disk's backing chain: the disk's own source or a <backingStore>. */
interface ChainImage {
  type: string;
  format: string;
  source: { attrs: Array<[string, string]>; children: XmlElement[] };
  /** <metadata_cache><max_size> of this image's format, in bytes. */
  cacheSize?: number;
}

/** Formats that can have a backing image (and so get `"backing": null` at a chain's end). */
const BACKING_FORMATS = new Set(['qcow2', 'qcow', 'qed', 'vmdk', 'cow']);

function metadataCacheBytes(el: XmlElement | undefined): number | undefined {
  const max = el ? child(el, 'max_size') : undefined;
  if (!max) return undefined;
  return Number(parseScaledBytes(textOf(max) ?? '0', attr(max, 'unit'), 1n, './metadata_cache/max_size'));
}

/**
 * A disk's backing chain as the definition gives it, top first. `terminated`: the chain ends in
 * an empty <backingStore/> (known to have nothing below); otherwise whatever the image file
 * names is left to QEMU.
 */
function diskChain(disk: DiskDef): { images: ChainImage[]; terminated: boolean } {
  const driverCache = disk.driver?.children.find((c) => c.name === 'metadata_cache');
  const images: ChainImage[] = [{
    type: disk.type,
    format: genericAttr(disk.driver, 'type') ?? 'raw',
    source: disk.source!,
    cacheSize: metadataCacheBytes(driverCache),
  }];
  let next = disk.backingStore;
  while (next && attr(next, 'type') !== undefined) {
    const source = child(next, 'source');
    if (!source) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'backing store without a source is not supported');
    const format = child(next, 'format');
    for (const c of children(next)) {
      if (!['format', 'source', 'backingStore'].includes(c.name)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `backing store <${c.name}> is not supported yet`);
    }
    if (format && children(format).some((c) => c.name !== 'metadata_cache')) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'backing store format settings are not supported yet');
    images.push({ type: attr(next, 'type')!, format: attr(format, 'type') ?? 'raw', source: { attrs: [...source.attrs], children: children(source) }, cacheSize: metadataCacheBytes(format ? child(format, 'metadata_cache') : undefined) });
    next = child(next, 'backingStore');
  }
  return { images, terminated: next !== undefined };
}

/**
 * A disk's <encryption format='luks'> (engine qemu) and the secret it names, or undefined for a
 * plain disk; anything else (qcow encryption, librbd engine) is refused.
 */
function diskEncryption(disk: DiskDef): { type: string; uuid?: string; usage?: string } | undefined {
  const enc = disk.extra.find((e) => e.name === 'encryption') ?? disk.source?.children.find((e) => e.name === 'encryption');
  return encryptionOf(enc, genericAttr(disk.driver, 'type') ?? 'raw');
}

/** The <encryption> of one image in format `imageFormat`, as diskEncryption. */
function encryptionOf(enc: XmlElement | undefined, imageFormat: string): { type: string; uuid?: string; usage?: string } | undefined {
  if (!enc) return undefined;
  const secret = child(enc, 'secret');
  const format = attr(enc, 'format');
  const engine = attr(enc, 'engine') ?? 'qemu';
  const ok = format === 'luks' && engine === 'qemu' && secret && attr(secret, 'type') === 'passphrase' && children(enc).length === 1
    && ['raw', 'qcow2'].includes(imageFormat) && (attr(secret, 'uuid') !== undefined || attr(secret, 'usage') !== undefined);
  if (!ok) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk encryption settings are not supported yet');
  return { type: 'passphrase', uuid: attr(secret, 'uuid'), usage: attr(secret, 'usage') };
}

/**
 * A <reservations> element of a SCSI LUN: the persistent-reservation helper QEMU talks to. A
 * managed one is the domain's own qemu-pr-helper (object pr-helper0, made once up front); an
 * unmanaged one is an object for the given socket, made here, before its node.
 */
function prManager(b: Builder, el: XmlElement, index: number | string): string {
  const managed = attr(el, 'managed') === 'yes';
  const source = child(el, 'source');
  const kids = children(el);
  const attrsOk = [...el.attrs].every(([k, v]) => (k === 'managed' && (v === 'yes' || v === 'no')) || (k === 'enabled' && v === 'yes'));
  const path = attr(source, 'path');
  const sourceOk = source && kids.length === 1 && attr(source, 'type') === 'unix' && (attr(source, 'mode') ?? 'client') === 'client' && path !== undefined;
  if (!attrsOk || (managed ? kids.length > 0 : !sourceOk) || !b.caps.has('pr-manager-helper')) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk reservations settings are not supported yet');
  }
  if (managed) return MANAGED_PR_ALIAS;
  const id = `pr-helper-libvirt-${index}-storage`;
  b.object([['qom-type', 'pr-manager-helper'], ['id', id], ['path', path]]);
  return id;
}

const MANAGED_PR_ALIAS = 'pr-helper0';

/** The <reservations managed='yes'> of a disk's own source, if any. */
function hasManagedReservations(disk: DiskDef): boolean {
  const r = disk.type === 'block' ? disk.source?.children.find((c) => c.name === 'reservations') : undefined;
  return r !== undefined && attr(r, 'managed') === 'yes';
}

/** qemuBuildManagedPRCommandLine: one pr-manager-helper for every disk with managed reservations. */
function buildManagedPR(b: Builder): void {
  if (!b.def.devices.disks.some(hasManagedReservations)) return;
  b.object([['qom-type', 'pr-manager-helper'], ['id', MANAGED_PR_ALIAS], ['path', `${b.opts.libDir}/${MANAGED_PR_ALIAS}.sock`]]);
}

/** qemuBlockStorageSourceGetBackendProps: the protocol node of one image. */
function unsupportedSource(): never {
  throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk source settings not supported yet');
}

/**
 * An iSCSI LUN as QEMU's iscsi block driver takes it, for a disk and a SCSI host device alike:
 * `name` is "target/lun" (LUN 0 when bare), the portal one TCP host, and an <auth> becomes the
 * user plus a secret object `secretAlias` holding the password. `badLun` and `badAuth` raise
 * each caller's own error.
 */
function iscsiProps(
  b: Builder,
  name: string,
  host: XmlElement,
  auth: XmlElement | undefined,
  initiator: XmlElement | undefined,
  secretAlias: string,
  badLun: () => never,
  badAuth: () => never,
): Props {
  const slash = name.lastIndexOf('/');
  const lun = slash < 0 ? 0 : Number(name.slice(slash + 1));
  if (!Number.isInteger(lun)) badLun();
  let user: string | undefined;
  let passwordSecret: string | undefined;
  if (auth) {
    const secret = child(auth, 'secret');
    user = attr(auth, 'username');
    const secrets = b.opts.secrets;
    if (!secret || user === undefined || !secrets) return badAuth();
    passwordSecret = secretAlias;
    b.secretObject(passwordSecret, secrets.lookup({ type: attr(secret, 'type') ?? 'iscsi', uuid: attr(secret, 'uuid'), usage: attr(secret, 'usage') }));
  }
  return [
    ['driver', 'iscsi'], ['portal', `${attr(host, 'name')}:${attr(host, 'port') ?? '3260'}`], ['target', slash < 0 ? name : name.slice(0, slash)],
    ['lun', lun], ['transport', 'tcp'], ['user', user], ['password-secret', passwordSecret],
    ['initiator-name', initiator ? attr(child(initiator, 'iqn'), 'name') : undefined],
  ];
}

function storageProps(b: Builder, disk: DiskDef, img: ChainImage, index: number | string, top: boolean): Props {
  const src = img.source;
  const sa = (k: string): string | undefined => attrOf(src, k);
  // <slices> are a layer above this node, an image's <encryption> is its format node's and a
  // <seclabel> the security driver's.
  const own = src.children.filter((c) => c.name !== 'slices' && c.name !== 'seclabel' && c.name !== 'encryption');
  if (img.type === 'file') {
    if (own.length > 0) unsupportedSource();
    return [['driver', 'file'], ['filename', sa('file')]];
  }
  if (img.type === 'nvme') {
    const addr = own.find((c) => c.name === 'address');
    const namespace = Number(sa('namespace'));
    const pci = addr && { domain: Number(attr(addr, 'domain') ?? 0), bus: Number(attr(addr, 'bus')), slot: Number(attr(addr, 'slot')), function: Number(attr(addr, 'function') ?? 0) };
    if (!pci || own.length !== 1 || sa('type') !== 'pci' || !Number.isInteger(namespace) || !Object.values(pci).every(Number.isInteger)) unsupportedSource();
    return [['driver', 'nvme'], ['device', formatPciAddress(pci)], ['namespace', namespace]];
  }
  if (img.type === 'block') {
    const reservations = own.find((c) => c.name === 'reservations');
    if (own.length > (reservations ? 1 : 0) || (reservations && !top)) unsupportedSource();
    const dev = sa('dev') ?? '';
    const cdrom = disk.device === 'cdrom' && img.format === 'raw' && b.opts.isHostCdrom?.(dev) === true;
    return [['driver', cdrom ? 'host_cdrom' : 'host_device'], ['filename', dev], ['pr-manager', reservations ? prManager(b, reservations, index) : undefined]];
  }
  if (img.type === 'dir') {
    if (own.length > 0 || img.format !== 'fat') unsupportedSource();
    return [['driver', 'vvfat'], ['dir', sa('dir')], ['floppy', disk.device === 'floppy'], ['rw', !disk.readonly]];
  }
  if (img.type !== 'network') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported disk type '${img.type}'`);
  const protocol = sa('protocol');
  const hosts = src.children.filter((c) => c.name === 'host');
  const others = own.filter((c) => c.name !== 'host');
  const inet = (h: XmlElement, port: string): Record<string, unknown> => ({ type: 'inet', host: attr(h, 'name'), port: attr(h, 'port') ?? port });
  switch (protocol) {
    case 'nbd': {
      if (hosts.length !== 1 || others.length > 0) unsupportedSource();
      const h = hosts[0];
      const server = attr(h, 'transport') === 'unix' ? { type: 'unix', path: attr(h, 'socket') } : { type: 'inet', host: attr(h, 'name'), port: attr(h, 'port') ?? '10809' };
      const tls = sa('tls');
      let tlsCreds: string | undefined;
      if (tls === 'yes' || (tls === undefined && b.config.nbdTLS)) {
        // qemuDomainPrepareStorageSourceTLS: x509 client credentials from nbd_tls_x509_cert_dir.
        tlsCreds = `objlibvirt-${index}-storage_tls0`;
        const passwordId = b.tlsKeySecret(`${tlsCreds}-secret0`, b.config.nbdTLSx509secretUUID, 'NBD');
        b.tlsCredsObject(tlsCreds, b.config.nbdTLSx509certdir ?? DEFAULT_NBD_TLS_DIR, false, true, passwordId);
      }
      return [['driver', 'nbd'], ['server', server], ['export', sa('name')], ['tls-creds', tlsCreds]];
    }
    case 'nfs': {
      const identity = others.find((c) => c.name === 'identity');
      if (hosts.length !== 1 || others.some((c) => c.name !== 'identity') || attr(hosts[0], 'port') !== undefined) unsupportedSource();
      const id = (k: string): number | undefined => {
        const v = attr(identity, k);
        if (v === undefined) return undefined;
        if (!/^\+[0-9]+$/.test(v)) unsupportedSource();
        return Number(v.slice(1));
      };
      return [['driver', 'nfs'], ['server', { host: attr(hosts[0], 'name'), type: 'inet' }], ['path', sa('name')], ['user', id('user')], ['group', id('group')]];
    }
    case 'gluster': {
      if (hosts.length === 0 || others.length > 0) unsupportedSource();
      const name = sa('name') ?? '';
      const slash = name.indexOf('/');
      if (slash <= 0) unsupportedSource();
      const servers = hosts.map((h) => (attr(h, 'transport') === 'unix' ? { type: 'unix', path: attr(h, 'socket') } : inet(h, '24007')));
      return [['driver', 'gluster'], ['volume', name.slice(0, slash)], ['path', name.slice(slash + 1)], ['server', servers], ['debug', 4]];
    }
    case 'http':
    case 'https': {
      if (hosts.length !== 1 || others.some((c) => !['timeout', 'readahead', 'ssl', 'cookies'].includes(c.name))) unsupportedSource();
      const h = hosts[0];
      const port = attr(h, 'port') ?? (protocol === 'http' ? '80' : '443');
      const query = sa('query');
      const url = `${protocol}://${attr(h, 'name')}:${port}/${sa('name') ?? ''}${query ? `?${query}` : ''}`;
      const ssl = attr(others.find((c) => c.name === 'ssl'), 'verify');
      const timeout = attr(others.find((c) => c.name === 'timeout'), 'seconds');
      const readahead = attr(others.find((c) => c.name === 'readahead'), 'size');
      const cookies = others.find((c) => c.name === 'cookies');
      let cookieSecret: string | undefined;
      if (cookies) {
        // All cookies go to QEMU as one "name=value; name=value" header, in a secret object.
        const pairs = children(cookies).map((c) => {
          const name = attr(c, 'name');
          if (c.name !== 'cookie' || name === undefined || !b.opts.secrets) unsupportedSource();
          return `${name}=${textOf(c) ?? ''}`;
        });
        cookieSecret = `libvirt-${index}-storage-httpcookie-secret0`;
        b.secretObject(cookieSecret, Buffer.from(pairs.join('; ')));
      }
      return [
        ['driver', protocol], ['url', url], ['sslverify', ssl === undefined || protocol !== 'https' ? undefined : ssl === 'yes'], ['cookie-secret', cookieSecret],
        ['timeout', timeout === undefined ? undefined : Number(timeout)], ['readahead', readahead === undefined ? undefined : Number(readahead)],
      ];
    }
    case 'rbd': {
      const auth = others.find((c) => c.name === 'auth') ?? (top ? disk.extra.find((e) => e.name === 'auth') : undefined);
      if (others.some((c) => !['auth', 'snapshot', 'config'].includes(c.name))) unsupportedSource();
      const name = sa('name') ?? '';
      const slash = name.indexOf('/');
      if (slash <= 0) unsupportedSource();
      let user: string | undefined;
      let keySecret: string | undefined;
      if (auth) {
        const secret = child(auth, 'secret');
        user = attr(auth, 'username');
        if (!secret || user === undefined || !b.opts.secrets) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk authentication settings are not supported yet');
        keySecret = `libvirt-${index}-storage-auth-secret0`;
        b.secretObject(keySecret, b.opts.secrets.lookup({ type: attr(secret, 'type') ?? 'ceph', uuid: attr(secret, 'uuid'), usage: attr(secret, 'usage') }));
      }
      const servers = hosts.map((h) => {
        if (attr(h, 'transport') !== undefined && attr(h, 'transport') !== 'tcp') unsupportedSource();
        return { host: attr(h, 'name'), port: attr(h, 'port') ?? '6789' };
      });
      return [
        ['driver', 'rbd'], ['pool', name.slice(0, slash)], ['image', name.slice(slash + 1)],
        ['snapshot', attr(others.find((c) => c.name === 'snapshot'), 'name')], ['conf', attr(others.find((c) => c.name === 'config'), 'file')],
        ['server', servers.length > 0 ? servers : undefined], ['user', user],
        ['auth-client-required', keySecret !== undefined ? ['cephx', 'none'] : undefined], ['key-secret', keySecret],
      ];
    }
    case 'iscsi': {
      // The disk-level <auth> belongs to the top image, like an <auth> inside its <source>.
      const auth = others.find((c) => c.name === 'auth') ?? (top ? disk.extra.find((e) => e.name === 'auth') : undefined);
      const initiator = others.find((c) => c.name === 'initiator');
      if (hosts.length !== 1 || others.some((c) => c.name !== 'auth' && c.name !== 'initiator') || (attr(hosts[0], 'transport') ?? 'tcp') !== 'tcp') unsupportedSource();
      return iscsiProps(b, sa('name') ?? '', hosts[0], auth, initiator, `libvirt-${index}-storage-auth-secret0`, unsupportedSource, () => {
        throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk authentication settings are not supported yet');
      });
    }
    default:
      return unsupportedSource();
  }
}

/**
 * qemuBuildDiskSourceCommandLine: the -blockdev nodes of a disk's chain, lowest image first, each
 * a protocol node and a format node on top of it; returns the node the device attaches to.
 */
/** An image's <slices><slice type='storage' offset= size=/></slices>, in bytes. */
function storageSlice(img: ChainImage): { offset: number; size: number } | undefined {
  const slices = img.source.children.find((c) => c.name === 'slices');
  if (!slices) return undefined;
  const list = children(slices);
  const [slice] = list;
  const offset = Number(attr(slice, 'offset'));
  const size = Number(attr(slice, 'size'));
  if (list.length !== 1 || slice.name !== 'slice' || attr(slice, 'type') !== 'storage' || !Number.isSafeInteger(offset) || !Number.isSafeInteger(size)) {
    return unsupportedSource();
  }
  return { offset, size };
}

function buildBlockdev(b: Builder, disk: DiskDef, n: number): string {
  const readonly = disk.readonly;
  const drv = (k: string): string | undefined => genericAttr(disk.driver, k);
  const { images, terminated } = diskChain(disk);
  if (images.length > 1 && ['io', 'discard', 'detect_zeroes', 'copy_on_read'].some((k) => drv(k) !== undefined)) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk driver settings with a backing chain are not supported yet');
  }
  const cache = cacheOf(disk);
  const cacheProp: Props = cache ? [['cache', { direct: cache[1], 'no-flush': cache[2] }]] : [];
  const encryption = diskEncryption(disk);
  // The fd sets of the whole chain come first, top image first.
  images.forEach((_img, k) => {
    const fdset = b.storageFdSets.get(`libvirt-${n + k}-storage`);
    fdset?.fds.forEach((fd, i) => b.add('-add-fd', `set=${fdset.set},fd=${fd},opaque=libvirt-${n + k}-storage${i}`));
  });
  for (let k = images.length - 1; k >= 0; k--) {
    const img = images[k];
    const index = n + k;
    const top = k === 0;
    const storage = storageProps(b, disk, img, index, top);
    const io = top ? drv('io') : undefined;
    if (io !== undefined && io !== 'default') storage.push(['aio', io]);
    const storageName = `libvirt-${index}-storage`;
    const fdset = b.storageFdSets.get(storageName);
    if (fdset) storage[storage.findIndex(([k]) => k === 'filename')][1] = `/dev/fdset/${fdset.set}`;
    // QEMU reopens an auto-read-only image read-write through another fd of its set: with a
    // single fd there is none, so the image is opened as it will be used.
    const access: Props = fdset?.fds.length === 1 ? [['read-only', top ? readonly : true]] : [['auto-read-only', true]];
    storage.push(['node-name', storageName], ...cacheProp, ...access, ['discard', 'unmap']);
    let keySecret: string | undefined;
    const imageEncryption = top ? encryption : encryptionOf(img.source.children.find((c) => c.name === 'encryption'), img.format);
    if (imageEncryption) {
      keySecret = `libvirt-${index}-format-encryption-secret0`;
      b.secretObject(keySecret, b.opts.secrets ? b.opts.secrets.lookup(imageEncryption) : Buffer.alloc(0));
    }
    b.add('-blockdev', propsJSON(storage));
    // A storage slice: the raw driver's offset/size on the format node itself when that is a
    // plain raw one, else a raw layer of its own between storage and format.
    const slice = storageSlice(img);
    let formatFile = storageName;
    if (slice && (img.format !== 'raw' || keySecret !== undefined)) {
      formatFile = `libvirt-${index}-slice-sto`;
      b.add('-blockdev', propsJSON([
        ['driver', 'raw'], ['node-name', formatFile], ['offset', slice.offset], ['size', slice.size], ['file', storageName],
        ['auto-read-only', true], ['discard', 'unmap'], ...cacheProp,
      ]));
    }
    const formatName = `libvirt-${index}-format`;
    const fmt: Props = [['node-name', formatName], ['read-only', top ? readonly : true]];
    if (top) {
      const discard = drv('discard');
      if (discard !== undefined && discard !== 'default') fmt.push(['discard', discard]);
      const zeroes = drv('detect_zeroes');
      if (zeroes !== undefined && zeroes !== 'default' && zeroes !== 'off') {
        fmt.push(['detect-zeroes', zeroes === 'unmap' && discard !== 'unmap' ? 'on' : zeroes]);
      }
    }
    fmt.push(...cacheProp);
    const format = img.type === 'dir' ? 'raw' : img.format;
    if (keySecret !== undefined && format === 'raw') {
      // A LUKS image read through QEMU's luks driver.
      fmt.push(['driver', 'luks'], ['key-secret', keySecret]);
    } else if (keySecret !== undefined && format === 'qcow2') {
      fmt.push(['driver', format], ['encrypt', { format: 'luks', 'key-secret': keySecret }]);
    } else {
      fmt.push(['driver', format]);
      if (slice && formatFile === storageName) fmt.push(['offset', slice.offset], ['size', slice.size]);
    }
    fmt.push(['cache-size', img.cacheSize], ['file', formatFile]);
    if (k + 1 < images.length) fmt.push(['backing', `libvirt-${index + 1}-format`]);
    else if (terminated && BACKING_FORMATS.has(format)) fmt.push(['backing', null]);
    b.add('-blockdev', propsJSON(fmt));
  }
  const formatName = `libvirt-${n}-format`;
  if (drv('copy_on_read') === 'on') {
    const cor = `libvirt-CoR-${disk.target.dev}`;
    b.add('-blockdev', JSON.stringify({ driver: 'copy-on-read', 'node-name': cor, file: formatName, discard: 'unmap' }));
    return cor;
  }
  return formatName;
}

function buildDiskDevice(b: Builder, disk: DiskDef, drive: string | undefined): void {
  const info = disk.info;
  const props: Props = [];
  const bus = disk.target.bus ?? 'ide';
  switch (bus) {
    case 'ide': {
      props.push(['driver', disk.device === 'cdrom' ? 'ide-cd' : 'ide-hd']);
      const ctrl = driveAddr(disk, 'controller');
      props.push(['bus', `ide${ctrl ? ctrl : ''}.${driveAddr(disk, 'bus')}`], ['unit', driveAddr(disk, 'unit')]);
      break;
    }
    case 'sata': {
      props.push(['driver', disk.device === 'cdrom' ? 'ide-cd' : 'ide-hd']);
      const ctrl = driveAddr(disk, 'controller');
      const alias = b.def.devices.controllers.find((c) => c.type === 'sata' && c.index === ctrl)?.info.alias ?? 'ide';
      props.push(['bus', `${alias}.${driveAddr(disk, 'unit')}`]);
      break;
    }
    case 'virtio': {
      const drv = disk.driver;
      const num = (k: string): number | undefined => (attrOf(drv, k) === undefined ? undefined : Number(attrOf(drv, k)));
      props.push(['driver', 'virtio-blk-pci'], ...virtioOptions(drv), ['iothread', iothreadId(b, attrOf(drv, 'iothread'), 'Disk')], ['scsi', disk.device === 'lun' ? true : undefined]);
      props.push(...onOffProp(drv, 'ioeventfd', 'ioeventfd'), ...onOffProp(drv, 'event_idx', 'event_idx'));
      props.push(['num-queues', num('queues')], ['queue-size', num('queue_size')], ...b.addressProps(info));
      if (info.acpiIndex !== undefined) props.push(['acpi-index', info.acpiIndex]);
      break;
    }
    case 'usb':
      props.push(['driver', 'usb-storage'], ...b.addressProps(info), ['drive', drive], ['id', info.alias], ['bootindex', b.bootIndex(info)]);
      props.push(['removable', disk.target.removable === 'on']);
      b.device(props);
      return;
    case 'fdc':
      props.push(['driver', 'floppy'], ['unit', driveAddr(disk, 'unit')], ['drive', drive], ['id', info.alias]);
      if (cacheOf(disk)) props.push(['write-cache', cacheOf(disk)![0] ? 'on' : 'off']);
      b.device(props);
      return;
    case 'scsi': {
      const ctrlIndex = driveAddr(disk, 'controller');
      const ctrl = b.def.devices.controllers.find((c) => c.type === 'scsi' && c.index === ctrlIndex);
      const iscsiLun = disk.type === 'network' && genericAttr(disk.source, 'protocol') === 'iscsi';
      if (disk.device === 'lun' && disk.type !== 'block' && !iscsiLun) {
        throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk device lun needs a block device');
      }
      props.push(['driver', disk.device === 'cdrom' ? 'scsi-cd' : disk.device === 'lun' ? 'scsi-block' : 'scsi-hd']);
      props.push(['bus', `${ctrl?.info.alias ?? `scsi${ctrlIndex}`}.0`]);
      if ((ctrl?.model ?? 'lsilogic') === 'lsilogic') {
        props.push(['scsi-id', driveAddr(disk, 'unit')]);
      } else {
        props.push(['channel', driveAddr(disk, 'bus')], ['scsi-id', driveAddr(disk, 'target')], ['lun', driveAddr(disk, 'unit')]);
      }
      if (disk.device !== 'lun') props.push(['device_id', disk.serial ?? `drive-${info.alias}`]);
      break;
    }
    default:
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported disk bus '${bus}'`);
  }
  if (disk.shareable) props.push(['share-rw', true]);
  props.push(['drive', drive], ['id', info.alias], ['bootindex', b.bootIndex(info)]);
  const blockio = disk.extra.find((e) => e.name === 'blockio');
  if (blockio) {
    const size = (k: string): number | undefined => (attr(blockio, k) === undefined ? undefined : Number(attr(blockio, k)));
    props.push(['logical_block_size', size('logical_block_size')], ['physical_block_size', size('physical_block_size')]);
  }
  if (disk.wwn !== undefined) {
    if (bus !== 'ide' && bus !== 'scsi') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'Only ide and scsi disk support wwn');
    props.push(['wwn', new RawJSON(BigInt(disk.wwn.startsWith('0x') ? disk.wwn : `0x${disk.wwn}`).toString())]);
  }
  if (disk.target.rotationRate !== undefined) props.push(['rotation_rate', Number(disk.target.rotationRate)]);
  if (disk.vendor !== undefined || disk.product !== undefined) {
    if (bus !== 'scsi') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'Only scsi disk supports vendor and product');
    props.push(['vendor', disk.vendor], ['product', disk.product]);
  }
  const cache = cacheOf(disk);
  if (cache) props.push(['write-cache', cache[0] ? 'on' : 'off']);
  const geometry = disk.extra.find((e) => e.name === 'geometry');
  if (geometry) {
    const g = (k: string): number | undefined => (attr(geometry, k) === undefined ? undefined : Number(attr(geometry, k)));
    const trans = attr(geometry, 'trans');
    props.push(['cyls', g('cyls')], ['heads', g('heads')], ['secs', g('secs')], ['bios-chs-trans', trans === 'default' ? undefined : trans]);
  }
  // libvirt escapes the spaces of a serial with a backslash (the old -drive syntax needed it).
  if (disk.serial !== undefined) props.push(['serial', disk.serial.replace(/ /g, '\\ ')]);
  const policy = genericAttr(disk.driver, 'error_policy');
  const rpolicy = genericAttr(disk.driver, 'rerror_policy') ?? (policy === 'enospace' ? undefined : policy);
  if (policy !== undefined) props.push(['werror', policy === 'enospace' ? 'enospc' : policy]);
  if (rpolicy !== undefined) props.push(['rerror', rpolicy]);
  b.device(props);
}

function chardevBackend(b: Builder, chr: ChrDef): ChardevBackend {
  const src = chr.sources[0];
  const sa = (k: string): string | undefined => attr(src, k);
  switch (chr.type) {
    case 'pty':
    case 'null':
    case 'vc':
    case 'stdio':
      return { type: chr.type };
    case 'file': {
      const append = sa('append');
      if (b.opts.passedFileFdBase !== undefined) return { type: 'file', path: b.passFile(sa('path') ?? '', `${chr.info.alias}-source`), append: true };
      return { type: 'file', path: sa('path') ?? '', ...(append ? { append: append === 'on' } : {}) };
    }
    case 'pipe':
      return { type: 'pipe', path: sa('path') ?? '' };
    case 'dev':
      return { type: 'dev', path: sa('path') ?? '' };
    case 'tcp': {
      const listen = sa('mode') === 'bind';
      const reconnect = src ? child(src, 'reconnect') : undefined;
      const tls = sa('tls');
      let tlsCreds: string | undefined;
      if (tls === 'yes' || (tls === undefined && b.config.chardevTLS)) {
        const passwordId = b.tlsKeySecret(`char${chr.info.alias}-secret0`, b.config.chardevTLSx509secretUUID, 'chardev');
        tlsCreds = `objchar${chr.info.alias}_tls0`;
        b.tlsCredsObject(tlsCreds, b.config.chardevTLSx509certdir ?? DEFAULT_CHARDEV_TLS_DIR, listen, b.config.chardevTLSx509verify ?? false, passwordId);
      }
      return {
        type: 'tcp',
        host: sa('host') ?? '',
        service: sa('service') ?? '',
        telnet: chr.protocol === 'telnet',
        ...(tlsCreds ? { tlsCreds } : {}),
        listen,
        ...(reconnect ? { reconnect: attr(reconnect, 'enabled') === 'yes' ? Number(attr(reconnect, 'timeout') ?? 0) : 0 } : {}),
      };
    }
    case 'unix': {
      // No path: the driver makes one up in the domain's channel directory and listens on it.
      const listen = sa('mode') === 'bind' || sa('path') === undefined;
      const reconnect = src ? child(src, 'reconnect') : undefined;
      const rc = reconnect ? { reconnect: attr(reconnect, 'enabled') === 'yes' ? Number(attr(reconnect, 'timeout') ?? 0) : 0 } : {};
      if (listen && b.opts.passedSocketFd !== undefined) return { type: 'unix', fd: b.opts.passedSocketFd, listen, ...rc };
      const path = sa('path');
      if (path === undefined) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'unix chardev without a socket path');
      return { type: 'unix', path, listen, ...rc };
    }
    case 'qemu-vdagent': {
      const copypaste = attr(src ? child(src, 'clipboard') : undefined, 'copypaste');
      const mouse = attr(src ? child(src, 'mouse') : undefined, 'mode');
      return {
        type: 'qemu-vdagent',
        ...(copypaste !== undefined ? { clipboard: copypaste === 'yes' } : {}),
        ...(mouse !== undefined ? { mouse: mouse === 'client' } : {}),
      };
    }
    case 'udp': {
      const connect = chr.sources.find((s) => attr(s, 'mode') === 'connect') ?? chr.sources[0];
      const bind = chr.sources.find((s) => attr(s, 'mode') === 'bind');
      return {
        type: 'udp',
        connectHost: attr(connect, 'host'),
        connectService: attr(connect, 'service'),
        bindHost: attr(bind, 'host'),
        bindService: attr(bind, 'service'),
      };
    }
    case 'spicevmc':
      return { type: 'spicevmc', name: chr.kind === 'channel' ? 'vdagent' : 'usbredir' };
    case 'spiceport':
      return { type: 'spiceport', channel: sa('channel') ?? '' };
    default:
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported chardev '${chr.type}'`);
  }
}

function chardev(b: Builder, chr: ChrDef): string {
  const id = `char${chr.info.alias}`;
  const backend = chardevBackend(b, chr);
  let log: { file: string; append?: boolean } | undefined;
  if (chr.log) {
    const file = chr.log.find(([k]) => k === 'file')?.[1] ?? '';
    log = b.opts.passedFileFdBase !== undefined ? { file: b.passFile(file, `${chr.info.alias}-log`), append: true } : { file, ...appendOf(chr.log) };
  }
  b.add('-chardev', buildChardevArg(id, backend, log));
  return id;
}

function appendOf(list: Array<[string, string]>): { append?: boolean } {
  const a = list.find(([k]) => k === 'append')?.[1];
  return a === undefined ? {} : { append: a === 'on' };
}

function chrTarget(chr: ChrDef, name: string): string | undefined {
  return genericAttr(chr.target, name);
}

function buildSerials(b: Builder): void {
  for (const s of b.def.devices.serials) {
    const id = chardev(b, s);
    const ttype = chrTarget(s, 'type') ?? 'isa-serial';
    const model = s.target?.children.find((c) => c.name === 'model');
    const modelName = attr(model, 'name') ?? (ttype === 'pci-serial' ? 'pci-serial' : ttype === 'usb-serial' ? 'usb-serial' : 'isa-serial');
    const isa = s.info.address?.type === 'isa' ? s.info.address.attrs : [];
    const isaProp = (k: string): number | undefined => {
      const v = isa.find(([n]) => n === k)?.[1];
      return v === undefined ? undefined : Number(v);
    };
    if (modelName === 'isa-debugcon') {
      b.device([['driver', 'isa-debugcon'], ['chardev', id], ['id', s.info.alias], ['iobase', isaProp('iobase')]]);
    } else if (modelName === 'isa-serial') {
      b.device([
        ['driver', 'isa-serial'], ['chardev', id], ['id', s.info.alias], ['index', Number(chrTarget(s, 'port') ?? 0)],
        ['iobase', isaProp('iobase')], ['irq', isaProp('irq')],
      ]);
    } else {
      b.device([['driver', modelName], ['chardev', id], ['id', s.info.alias], ...b.addressProps(s.info)]);
    }
  }
}

function buildParallels(b: Builder): void {
  for (const p of b.def.devices.parallels) {
    const id = chardev(b, p);
    b.device([['driver', 'isa-parallel'], ['chardev', id], ['id', p.info.alias]]);
  }
}

function buildChannels(b: Builder): void {
  for (const c of b.def.devices.channels) {
    if (chrTarget(c, 'type') !== 'virtio') {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'unsupported channel target');
    }
    const id = chardev(b, c);
    const name = chrTarget(c, 'name');
    b.device([['driver', 'virtserialport'], ...b.addressProps(c.info), ['chardev', id], ['id', c.info.alias], ['name', name]]);
  }
}

function buildConsoles(b: Builder): void {
  for (const c of b.def.devices.consoles) {
    const t = chrTarget(c, 'type');
    if (t === 'serial') continue;
    if (t !== 'virtio') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported console target '${t}'`);
    const id = chardev(b, c);
    b.device([['driver', 'virtconsole'], ...b.addressProps(c.info), ['chardev', id], ['id', c.info.alias]]);
  }
}

/** <interface type='user'> with <backend type='passt'>. */
function isPasst(net: NetDef): boolean {
  return net.type === 'user' && net.extra.some((e) => e.name === 'backend' && attr(e, 'type') === 'passt');
}

const NIC_DRIVERS: Record<string, string> = {
  virtio: 'virtio-net-pci',
  'virtio-transitional': 'virtio-net-pci-transitional',
  'virtio-non-transitional': 'virtio-net-pci-non-transitional',
  e1000: 'e1000',
  e1000e: 'e1000e',
  rtl8139: 'rtl8139',
};

function buildNets(b: Builder): void {
  for (const net of b.def.devices.interfaces) {
    if (net.type === 'hostdev') continue;
    buildNet(b, net);
  }
}

function buildNet(b: Builder, net: NetDef): void {
  const alias = net.info.alias!;
  const netdevId = `host${alias}`;
  const src = (k: string): string | undefined => genericAttr(net.source, k);
  const hostPort = (): string => `${src('address') ?? ''}:${src('port') ?? ''}`;
  switch (net.type) {
    case 'user': {
      if (!isPasst(net)) {
        b.netdev([['type', 'user'], ['id', netdevId]]);
        break;
      }
      // The passt process itself is started beside QEMU; QEMU only connects to its socket.
      const dir = b.config.passtStateDir;
      if (dir === undefined || !b.caps.has('netdev.stream')) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'the passt backend is not supported yet');
      const socket = `${dir}/${b.opts.id ?? -1}-${shortName(b.def.name)}-${net.info.alias}.socket`;
      b.netdev([['type', 'stream'], ['addr', { type: 'unix', path: socket }], ['server', false], ['id', netdevId]]);
      break;
    }
    case 'server':
      b.netdev([['type', 'socket'], ['listen', hostPort()], ['id', netdevId]]);
      break;
    case 'client':
      b.netdev([['type', 'socket'], ['connect', hostPort()], ['id', netdevId]]);
      break;
    case 'mcast':
      b.netdev([['type', 'socket'], ['mcast', hostPort()], ['id', netdevId]]);
      break;
    case 'vhostuser': {
      if (src('type') !== 'unix' || (net.source?.children.length ?? 0) > 0) {
        throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'vhost-user interface source not supported yet');
      }
      const chardevId = `char${alias}`;
      const server = src('mode') === 'server';
      b.add('-chardev', buildChardevArg(chardevId, { type: 'unix', path: src('path') ?? '', listen: server, wait: true }));
      const queues = Number(attrOf(net.driver, 'queues') ?? 0);
      b.netdev([['type', 'vhost-user'], ['chardev', chardevId], ['queues', queues > 1 ? queues : undefined], ['id', netdevId]]);
      break;
    }
    case 'ethernet':
    case 'bridge': {
      // libvirt creates the tap device itself (attaching it to the bridge, running the script)
      // and passes QEMU its fd, plus a /dev/vhost-net fd for a virtio NIC.
      const queues = Number(attrOf(net.driver, 'queues') ?? 0);
      const badSource = net.type === 'ethernet' ? net.source !== undefined : src('bridge') === undefined || (net.source?.children.length ?? 0) > 0;
      if (b.opts.openTap === undefined || queues > 1 || badSource) {
        throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `${net.type} interface settings are not supported yet`);
      }
      const tapfd = b.opts.openTap(net);
      const useVhost = (net.model ?? '').startsWith('virtio') && attrOf(net.driver, 'name') !== 'qemu' && b.opts.openVhostNet !== undefined;
      const vhostfd = useVhost ? b.opts.openVhostNet!(net) : undefined;
      b.netdev([
        ['type', 'tap'], ['fd', String(tapfd)], ['vhost', vhostfd !== undefined ? true : undefined],
        ['vhostfd', vhostfd !== undefined ? String(vhostfd) : undefined], ['id', netdevId],
      ]);
      break;
    }
    case 'vdpa': {
      // libvirt opens the vhost-vdpa character device itself and hands QEMU the fd in an fd set.
      const dev = src('dev');
      if (dev === undefined || (net.source?.children.length ?? 0) > 0 || b.opts.openVdpaDevice === undefined) {
        throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'vdpa interface without an opened vhost-vdpa device is not supported yet');
      }
      const vhostdev = b.passFd(b.opts.openVdpaDevice(dev), `${alias}-vdpa`);
      const queues = Number(attrOf(net.driver, 'queues') ?? 0);
      b.netdev([['type', 'vhost-vdpa'], ['vhostdev', vhostdev], ['queues', queues > 1 ? queues : undefined], ['id', netdevId]]);
      break;
    }
    default:
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported interface type '${net.type}'`);
  }
  const model = net.model ?? 'rtl8139';
  const driver = NIC_DRIVERS[model];
  if (!driver) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported NIC model '${model}'`);
  const props: Props = [['driver', driver]];
  if (model.startsWith('virtio')) {
    const drv = net.driver;
    props.push(...virtioOptions(drv));
    const tx = attrOf(drv, 'txmode');
    if (tx !== undefined) props.push(['tx', tx === 'iothread' ? 'bh' : tx]);
    props.push(...onOffProp(drv, 'ioeventfd', 'ioeventfd'), ...onOffProp(drv, 'event_idx', 'event_idx'));
    const queues = Number(attrOf(drv, 'queues') ?? 0);
    if (queues > 1) props.push(['mq', true], ['vectors', 2 * queues + 2]);
    const num = (k: string): number | undefined => (attrOf(drv, k) === undefined ? undefined : Number(attrOf(drv, k)));
    props.push(['rx_queue_size', num('rx_queue_size')], ['tx_queue_size', num('tx_queue_size')]);
    props.push(...onOffProp(drv, 'rss', 'rss'), ...onOffProp(drv, 'rss_hash_report', 'hash'));
    if (net.teaming?.type === 'persistent') props.push(['failover', true]);
  }
  props.push(['netdev', netdevId], ['id', alias], ['mac', net.mac], ['bootindex', b.bootIndex(net.info)]);
  props.push(...b.addressProps(net.info));
  if (net.info.acpiIndex !== undefined) props.push(['acpi-index', net.info.acpiIndex]);
  props.push(...romProps(net.info));
  b.device(props);
}

const INPUT_DRIVERS: Record<string, Record<string, string>> = {
  usb: { tablet: 'usb-tablet', mouse: 'usb-mouse', keyboard: 'usb-kbd' },
  virtio: { tablet: 'virtio-tablet-pci', mouse: 'virtio-mouse-pci', keyboard: 'virtio-keyboard-pci', passthrough: 'virtio-input-host-pci' },
};

function buildInputs(b: Builder): void {
  for (const input of b.def.devices.inputs as InputDef[]) {
    if (input.bus === 'ps2' || input.bus === undefined) continue;
    const driver = INPUT_DRIVERS[input.bus]?.[input.type];
    if (!driver) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported input '${input.type}'`);
    if (input.driver && input.driver.attrs.some(([k]) => !VIRTIO_DRIVER_ATTRS.has(k))) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'input driver settings not supported yet');
    }
    let evdev: string | undefined;
    if (input.type === 'passthrough' && input.bus === 'virtio') {
      evdev = input.source?.attrs.find(([k]) => k === 'evdev')?.[1];
      if (evdev === undefined || input.source!.attrs.length !== 1 || input.source!.children.length > 0) {
        throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'input source not supported yet');
      }
    } else if (input.source) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'input source not supported yet');
    }
    b.device([
      ['driver', driver], ...(input.bus === 'virtio' ? virtioOptions(input.driver) : []), ['id', input.info.alias], ['evdev', evdev],
      ...b.addressProps(input.info),
    ]);
  }
}

const AUDIO_DRIVERS: Record<string, string> = { pulseaudio: 'pa', file: 'wav' };

/** Per-direction properties of each backend, after the common ones (qemuBuildAudio*Props). */
const AUDIO_DIRECTION_ATTRS: Record<string, Array<[string, string, 'str' | 'num' | 'bool']>> = {
  alsa: [['dev', 'dev', 'str']],
  oss: [['dev', 'dev', 'str'], ['bufferCount', 'buffer-count', 'num'], ['tryPoll', 'try-poll', 'bool']],
  sdl: [['bufferCount', 'buffer-count', 'num']],
  coreaudio: [['bufferCount', 'buffer-count', 'num']],
  pulseaudio: [['name', 'name', 'str'], ['streamName', 'stream-name', 'str'], ['latency', 'latency', 'num']],
  jack: [['serverName', 'server-name', 'str'], ['clientName', 'client-name', 'str'], ['connectPorts', 'connect-ports', 'str'], ['exactName', 'exact-name', 'bool']],
};

const AUDIO_TOP_ATTRS: Record<string, Array<[string, string, 'str' | 'num' | 'bool']>> = {
  pulseaudio: [['serverName', 'server', 'str']],
  oss: [['tryMMap', 'try-mmap', 'bool'], ['exclusive', 'exclusive', 'bool'], ['dspPolicy', 'dsp-policy', 'num']],
  file: [['path', 'path', 'str']],
};

function xmlValue(v: string | undefined, kind: 'str' | 'num' | 'bool'): unknown {
  if (v === undefined) return undefined;
  if (kind === 'num') return Number(v);
  if (kind === 'bool') return v === 'yes' || v === 'on';
  return v;
}

function audioDirection(type: string, el: XmlElement | undefined): Record<string, unknown> | undefined {
  if (!el) return undefined;
  const a = (k: string): string | undefined => attr(el, k);
  const settings = child(el, 'settings');
  const props: Props = [
    ['mixing-engine', xmlValue(a('mixingEngine'), 'bool')],
    ['fixed-settings', xmlValue(a('fixedSettings'), 'bool')],
    ['voices', xmlValue(a('voices'), 'num')],
    ['buffer-length', xmlValue(a('bufferLength'), 'num')],
    ['frequency', xmlValue(attr(settings, 'frequency'), 'num')],
    ['channels', xmlValue(attr(settings, 'channels'), 'num')],
    ['format', attr(settings, 'format')],
  ];
  for (const [x, q, kind] of AUDIO_DIRECTION_ATTRS[type] ?? []) props.push([q, xmlValue(a(x), kind)]);
  const kept = props.filter(([, v]) => v !== undefined);
  return kept.length ? Object.fromEntries(kept) : undefined;
}

/** qemuBuildAudioCommandLine: one -audiodev per <audio>. */
const KNOWN_AUDIO = new Set(['none', 'spice', 'alsa', 'oss', 'sdl', 'coreaudio', 'pulseaudio', 'jack', 'file']);

function buildAudios(b: Builder): void {
  for (const a of b.def.devices.audios) {
    const type = simpleAttr(a, 'type') ?? 'none';
    const id = simpleAttr(a, 'id') ?? '1';
    if (!KNOWN_AUDIO.has(type)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported audio backend '${type}'`);
    for (const c of a.children) {
      if (c.name !== 'input' && c.name !== 'output') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `audio <${c.name}> is not supported yet`);
    }
    const props: Props = [['id', `audio${id}`], ['driver', AUDIO_DRIVERS[type] ?? type], ['timer-period', xmlValue(simpleAttr(a, 'timerPeriod'), 'num')]];
    for (const [x, q, kind] of AUDIO_TOP_ATTRS[type] ?? []) props.push([q, xmlValue(simpleAttr(a, x), kind)]);
    props.push(['in', audioDirection(type, a.children.find((c) => c.name === 'input'))]);
    props.push(['out', audioDirection(type, a.children.find((c) => c.name === 'output'))]);
    b.add('-audiodev', propsJSON(props));
  }
}

/** The -audiodev id a device uses: its own <audio id=> child, else the first backend. */
function audiodevFor(b: Builder, kids: XmlElement[]): string | undefined {
  const own = attr(kids.find((c) => c.name === 'audio'), 'id');
  if (own !== undefined) return `audio${own}`;
  return audiodevOf(b);
}

function graphicsAttr(g: GraphicsDef, name: string): string | undefined {
  return g.attrs.find(([k]) => k === name)?.[1];
}

function listenAttr(g: GraphicsDef, name: string): string | undefined {
  return g.listens[0]?.find(([k]) => k === name)?.[1];
}

function unsupportedGraphics(what: string): never {
  throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `graphics setting '${what}' is not supported yet`);
}

function audiodevOf(b: Builder): string | undefined {
  const audio = b.def.devices.audios[0];
  return audio ? `audio${simpleAttr(audio, 'id') ?? '1'}` : undefined;
}

/** qemuBuildGraphicsVNCCommandLine */
function buildVnc(b: Builder, g: GraphicsDef): void {
  for (const [k] of g.attrs) if (!['sharePolicy', 'powerControl', 'listen', 'passwd', 'passwdValidTo', 'connected'].includes(k)) unsupportedGraphics(k);
  if (g.children.some((c) => c.name !== 'audio') || g.socket !== undefined) unsupportedGraphics('vnc child');
  let ltype = listenAttr(g, 'type');
  if ((ltype === undefined || ltype === 'address') && listenAttr(g, 'address') === undefined && b.config.vncAutoUnixSocket) ltype = 'socket';
  let out: string;
  if (ltype === 'none') {
    out = 'none';
  } else if (ltype === 'socket') {
    out = `vnc=unix:${escapeOptionValue(listenAttr(g, 'socket') ?? `${b.opts.libDir}/vnc.sock`)}`;
  } else {
    if (ltype !== undefined && ltype !== 'address') unsupportedGraphics(`listen ${ltype}`);
    const address = listenAttr(g, 'address') ?? '127.0.0.1';
    const port = g.autoport || g.port === undefined || g.port < 0 ? 5900 : g.port;
    out = `${address.includes(':') ? `[${address}]` : address}:${port - 5900}`;
    if (g.websocket !== undefined) out += `,websocket=${g.websocket}`;
  }
  const share = graphicsAttr(g, 'sharePolicy');
  if (share !== undefined) out += `,share=${share}`;
  const cfg = b.config;
  // The password itself goes through the monitor once QEMU runs.
  if (ltype !== 'none' && (graphicsAttr(g, 'passwd') !== undefined || cfg.vncPassword !== undefined)) out += ',password=on';
  if (ltype !== 'none' && cfg.vncTLS) {
    b.tlsCredsObject('vnc-tls-creds0', cfg.vncTLSx509certdir ?? DEFAULT_VNC_TLS_DIR, true, cfg.vncTLSx509verify ?? false);
    out += ',tls-creds=vnc-tls-creds0';
  }
  if (ltype !== 'none' && cfg.vncSASL) {
    out += ',sasl=on';
    if (cfg.vncSASLdir !== undefined) b.cmd.addEnv('SASL_CONF_PATH', cfg.vncSASLdir);
  }
  if (graphicsAttr(g, 'powerControl') === 'yes') out += ',power-control=on';
  const audiodev = audiodevFor(b, g.children);
  if (audiodev) out += `,audiodev=${audiodev}`;
  b.add('-vnc', out);
}

const SPICE_COMPRESSION: Record<string, [string, string]> = {
  image: ['compression', 'image-compression'],
  jpeg: ['compression', 'jpeg-wan-compression'],
  zlib: ['compression', 'zlib-glz-wan-compression'],
  playback: ['compression', 'playback-compression'],
  streaming: ['mode', 'streaming-video'],
};

/** The SPICE channels a mode can be set for (virDomainGraphicsSpiceChannelName). */
const SPICE_CHANNELS = 8;

/**
 * qemuProcessSPICEAllocatePorts without allocation (a pretend start, as domxml-to-native and
 * libvirt's tests do): autoport gives the plain port 5901 and the TLS port 5902 where the
 * channel modes need them; explicit ports stay.
 */
function spicePorts(g: GraphicsDef, cfg: QemuDriverConfig): { port: number; tlsPort: number } {
  let port = g.port !== undefined && g.port > 0 ? g.port : 0;
  let tlsPort = g.tlsPort !== undefined && g.tlsPort > 0 ? g.tlsPort : 0;
  if (!g.autoport) return { port, tlsPort };
  let needPort = false;
  let needTLS = false;
  const modes = g.children.filter((c) => c.name === 'channel').map((c) => attr(c, 'mode') ?? 'any');
  while (modes.length < SPICE_CHANNELS) modes.push('any');
  modes.push(graphicsAttr(g, 'defaultMode') ?? 'any');
  for (const mode of modes) {
    if (mode === 'secure') needTLS = true;
    else if (mode === 'insecure') needPort = true;
    else {
      if (cfg.spiceTLS) needTLS = true;
      needPort = true;
    }
  }
  if (needPort && port <= 0) port = 5901;
  if (needTLS && tlsPort <= 0) {
    if (!cfg.spiceTLS) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'Auto allocation of spice TLS port requested but spice TLS is disabled in qemu.conf');
    }
    tlsPort = 5902;
  }
  return { port, tlsPort };
}

/** qemuBuildGraphicsSPICECommandLine */
function buildSpice(b: Builder, g: GraphicsDef): void {
  // The password and what happens to connected clients on a change are set over QMP at start.
  for (const [k] of g.attrs) if (!['defaultMode', 'listen', 'passwd', 'passwdValidTo', 'connected'].includes(k)) unsupportedGraphics(k);
  const parts: string[] = [];
  const cfg = b.config;
  let ltype = listenAttr(g, 'type');
  if ((ltype === undefined || ltype === 'address') && listenAttr(g, 'address') === undefined && cfg.spiceAutoUnixSocket) ltype = 'socket';
  if (ltype === 'socket') {
    parts.push('unix', `addr=${escapeOptionValue(listenAttr(g, 'socket') ?? `${b.opts.libDir}/spice.sock`)}`);
  } else if (ltype === 'none') {
    parts.push('port=0');
  } else {
    if (ltype !== undefined && ltype !== 'address') unsupportedGraphics(`listen ${ltype}`);
    const { port, tlsPort } = spicePorts(g, cfg);
    parts.push(`port=${port}`);
    if (tlsPort > 0) parts.push(`tls-port=${tlsPort}`);
    // qemuProcessGraphicsSetupListen: no address means qemu.conf's spice_listen (127.0.0.1).
    const address = listenAttr(g, 'address') ?? (port > 0 || tlsPort > 0 ? cfg.spiceListen ?? '127.0.0.1' : undefined);
    if (address !== undefined) parts.push(`addr=${address.includes(':') ? `[${address}]` : address}`);
  }
  if (cfg.spiceSASL) {
    parts.push('sasl=on');
    if (cfg.spiceSASLdir !== undefined) b.cmd.addEnv('SASL_CONF_PATH', cfg.spiceSASLdir);
  }
  // A password (the display's or qemu.conf's) is set through the monitor after start; without
  // one QEMU has to be told that no ticket is needed.
  if (graphicsAttr(g, 'passwd') === undefined && cfg.spicePassword === undefined) parts.push('disable-ticketing=on');
  if (ltype !== 'socket' && ltype !== 'none' && spicePorts(g, cfg).tlsPort > 0) {
    if (!cfg.spiceTLS) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'spice TLS port set in XML configuration, but TLS is disabled in qemu.conf');
    }
    parts.push(`x509-dir=${escapeOptionValue(cfg.spiceTLSx509certdir ?? DEFAULT_SPICE_TLS_DIR)}`);
  }
  const defaultMode = graphicsAttr(g, 'defaultMode');
  if (defaultMode === 'secure') parts.push('tls-channel=default');
  else if (defaultMode === 'insecure') parts.push('plaintext-channel=default');
  const kids = g.children;
  for (const c of kids.filter((k) => k.name === 'channel')) {
    const mode = attr(c, 'mode');
    if (mode === 'secure') parts.push(`tls-channel=${attr(c, 'name')}`);
    else if (mode === 'insecure') parts.push(`plaintext-channel=${attr(c, 'name')}`);
  }
  for (const [name, [a, opt]] of Object.entries(SPICE_COMPRESSION)) {
    const el = kids.find((k) => k.name === name);
    const v = attr(el, a);
    if (v !== undefined) parts.push(`${opt}=${v}`);
  }
  const clipboard = kids.find((k) => k.name === 'clipboard');
  if (attr(clipboard, 'copypaste') === 'no') parts.push('disable-copy-paste=on');
  const xfer = kids.find((k) => k.name === 'filetransfer');
  if (attr(xfer, 'enable') === 'no') parts.push('disable-agent-file-xfer=on');
  for (const k of kids) {
    if (k.name !== 'channel' && k.name !== 'clipboard' && k.name !== 'filetransfer' && k.name !== 'gl' && !(k.name in SPICE_COMPRESSION)) unsupportedGraphics(k.name);
  }
  // OpenGL through a DRM render node (the one named, else the one the driver picked).
  const gl = kids.find((k) => k.name === 'gl');
  const glEnable = attr(gl, 'enable');
  if (glEnable === 'yes') {
    const node = attr(gl, 'rendernode') ?? b.opts.drmRenderNode;
    if (node === undefined) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'SPICE OpenGL needs a DRM render node');
    parts.push('gl=on', `rendernode=${escapeOptionValue(node)}`);
  } else if (glEnable === 'no') {
    parts.push('gl=off');
  }
  parts.push('seamless-migration=on');
  b.add('-spice', parts.join(','));
}

/** qemuBuildGraphicsEGLHeadlessCommandLine: an OpenGL display without a window, on a render node. */
function buildEglHeadless(b: Builder, g: GraphicsDef): void {
  if (g.children.some((c) => c.name !== 'gl') || g.attrs.length > 0) unsupportedGraphics('egl-headless');
  const node = attr(g.children.find((c) => c.name === 'gl'), 'rendernode') ?? b.opts.drmRenderNode;
  if (node === undefined) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'egl-headless needs a DRM render node');
  b.add('-display', `egl-headless,rendernode=${escapeOptionValue(node)}`);
}

function buildGraphics(b: Builder): void {
  for (const g of b.def.devices.graphics as GraphicsDef[]) {
    if (g.type === 'vnc') buildVnc(b, g);
    else if (g.type === 'spice') buildSpice(b, g);
    else if (g.type === 'egl-headless') buildEglHeadless(b, g);
    else if (g.type === 'sdl' && g.attrs.length === 0 && g.children.length === 0) b.add('-display', 'sdl');
    else throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported graphics '${g.type}'`);
  }
}

const VIDEO_DRIVERS: Record<string, [string, string]> = {
  cirrus: ['cirrus-vga', 'cirrus-vga'],
  vga: ['VGA', 'VGA'],
  qxl: ['qxl-vga', 'qxl'],
  vmvga: ['vmware-svga', 'vmware-svga'],
  virtio: ['virtio-vga', 'virtio-gpu-pci'],
  bochs: ['bochs-display', 'bochs-display'],
  ramfb: ['ramfb', 'ramfb'],
};

function buildVideos(b: Builder): void {
  b.def.devices.videos.forEach((v, i) => {
    const model = modelOf(v);
    const type = attr(model, 'type') ?? 'cirrus';
    if (type === 'none') return;
    const accelEl = child(model!, 'acceleration');
    const accel3d = attr(accelEl, 'accel3d') === 'yes';
    const videoDriver = v.children.find((c) => c.name === 'driver');
    const vhostUser = attr(videoDriver, 'name') === 'vhostuser';
    const unsupportedVideo = (): never => {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'video settings are not supported yet');
    };
    if (v.children.some((c) => c.name !== 'model' && c.name !== 'driver') || children(model!).some((c) => c.name !== 'acceleration')) unsupportedVideo();
    if (accel3d && type !== 'virtio') unsupportedVideo();
    if (accelEl && [...accelEl.attrs.keys()].some((k) => k !== 'accel3d' && !(k === 'rendernode' && vhostUser))) unsupportedVideo();
    if (videoDriver && ([...videoDriver.attrs].some(([k, val]) => !VIRTIO_DRIVER_ATTRS.has(k) && !(k === 'name' && (val === 'qemu' || val === 'vhostuser'))) || type !== 'virtio')) unsupportedVideo();
    const drv = VIDEO_DRIVERS[type];
    if (!drv) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported video model '${type}'`);
    let driver = i === 0 ? drv[0] : drv[1];
    if (vhostUser) driver = i === 0 ? 'vhost-user-vga' : 'vhost-user-gpu-pci';
    else if (accel3d) driver = i === 0 ? 'virtio-vga-gl' : 'virtio-gpu-gl-pci';
    // Only the virtio-gpu devices take the virtio options (qemuBuildVirtioDevProps), not the VGA ones.
    const props: Props = [['driver', driver], ...(type === 'virtio' && i !== 0 ? virtioOptions(videoDriver) : []), ['id', v.info.alias]];
    let vhostChardev: string | undefined;
    if (vhostUser) {
      // A vhost-user-gpu backend process serves the device; libvirt passes its socket as an fd.
      if (b.opts.passedSocketFd === undefined) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'vhost-user video needs a running vhost-user-gpu backend, not supported yet');
      vhostChardev = `chr-vu-${v.info.alias}`;
      b.add('-chardev', `socket,id=${vhostChardev},fd=${b.opts.passedSocketFd}`);
    }
    const num = (k: string): number | undefined => (attr(model, k) === undefined ? undefined : Number(attr(model, k)));
    if (type === 'qxl') {
      props.push(['max_outputs', num('heads')]);
      if (num('ram') !== undefined) props.push(['ram_size', num('ram')! * 1024]);
      if (num('vram') !== undefined) props.push(['vram_size', num('vram')! * 1024]);
      props.push(['vram64_size_mb', (num('vram64') ?? 0) / 1024]);
      if (num('vgamem') !== undefined) props.push(['vgamem_mb', num('vgamem')! / 1024]);
    } else if (type === 'vga' || type === 'vmvga') {
      const vram = num('vram');
      if (vram !== undefined) props.push(['vgamem_mb', vram / 1024]);
    } else if (type === 'virtio') {
      const heads = num('heads');
      if (vhostUser || accel3d || heads !== undefined) props.push(['max_outputs', heads ?? 1]);
      if (vhostChardev) props.push(['chardev', vhostChardev]);
    } else if (type === 'bochs') {
      const vram = num('vram');
      if (vram !== undefined) props.push(['vgamem', vram * 1024]);
    }
    props.push(...b.addressProps(v.info));
    if (v.info.acpiIndex !== undefined) props.push(['acpi-index', v.info.acpiIndex]);
    b.device(props);
  });
}

function buildSounds(b: Builder): void {
  for (const s of b.def.devices.sounds) {
    const audiodev = audiodevFor(b, s.children);
    const model = simpleAttr(s, 'model');
    const alias = s.info.alias!;
    switch (model) {
      case 'ich6':
      case 'ich9':
        b.device([['driver', model === 'ich9' ? 'ich9-intel-hda' : 'intel-hda'], ['id', alias], ...b.addressProps(s.info)]);
        // Each <codec> at the next codec address, in order; a duplex one when there is none.
        const codecs = s.children.filter((c) => c.name === 'codec').map((c) => attr(c, 'type') ?? 'duplex');
        (codecs.length > 0 ? codecs : ['duplex']).forEach((type, cad) => {
          b.device([['driver', `hda-${type}`], ['id', `${alias}-codec${cad}`], ['bus', `${alias}.0`], ['cad', cad], ['audiodev', audiodev]]);
        });
        break;
      case 'ac97':
      case 'es1370':
        b.device([['driver', model === 'ac97' ? 'AC97' : 'ES1370'], ['id', alias], ['audiodev', audiodev], ...b.addressProps(s.info)]);
        break;
      default:
        throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported sound model '${model}'`);
    }
  }
}

function buildHostdevs(b: Builder): void {
  const d = b.def.devices;
  // SCSI hostdevs take block node indexes after every disk image.
  let nextNode = 1;
  for (const disk of d.disks) if (b.diskTakesNodes(disk)) nextNode += diskChain(disk).images.length;
  for (const net of d.interfaces) {
    if (net.type !== 'hostdev') continue;
    const host = net.hostdevAddress?.pci;
    if (!host) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, 'missing hostdev source address');
    b.device(vfioProps(b, formatPciAddress(host), net.info, net.teaming));
  }
  for (const h of d.hostdevs as HostdevDef[]) {
    if (h.mode === 'subsystem' && h.type === 'usb') {
      b.device(usbHostProps(b, h));
      continue;
    }
    if (h.mode === 'subsystem' && h.type === 'mdev') {
      b.device(mdevProps(b, h));
      continue;
    }
    if (h.mode === 'subsystem' && h.type === 'scsi') {
      buildScsiHostdev(b, h, nextNode++);
      continue;
    }
    if (h.mode === 'subsystem' && h.type === 'scsi_host') {
      b.device(vhostScsiProps(b, h));
      continue;
    }
    if (h.mode !== 'subsystem' || h.type !== 'pci' || !h.pciAddress) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported hostdev type '${h.type}'`);
    }
    b.device(vfioProps(b, formatPciAddress(h.pciAddress), h.info, h.teaming));
  }
}

/**
 * qemuBuildHostdevSCSICommandLine: a host SCSI device (by adapter and address, through its SCSI
 * generic node, or an iSCSI LUN) as a `libvirt-N-backend` block node under a scsi-generic device.
 */
function buildScsiHostdev(b: Builder, h: HostdevDef, node: number): void {
  const unsupported = (): never => {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'SCSI host device settings are not supported yet');
  };
  const backend = `libvirt-${node}-backend`;
  const protocol = h.sourceAttrs.find(([k]) => k === 'protocol')?.[1];
  const src = (name: string): XmlElement | undefined => h.sourceChildren.find((c) => c.name === name);
  let props: Props;
  if (protocol === undefined) {
    const adapter = attr(src('adapter'), 'name');
    const addr = src('address');
    const num = (k: string): number => Number(attr(addr, k) ?? 'x');
    const sgName = b.opts.scsiGenericName;
    if (adapter === undefined || !addr || !sgName || ![num('bus'), num('target'), num('unit')].every(Number.isInteger) || h.sourceChildren.length !== 2 || h.sourceAttrs.length > 0) {
      return unsupported();
    }
    props = [['driver', 'host_device'], ['filename', `/dev/${sgName(adapter, num('bus'), num('target'), num('unit'))}`]];
  } else {
    const hosts = h.sourceChildren.filter((c) => c.name === 'host');
    const auth = src('auth');
    const initiator = src('initiator');
    if (protocol !== 'iscsi' || hosts.length !== 1 || h.sourceChildren.some((c) => !['host', 'auth', 'initiator'].includes(c.name))) unsupported();
    if (h.sourceAttrs.some(([k]) => k !== 'protocol' && k !== 'name') || (attr(hosts[0], 'transport') ?? 'tcp') !== 'tcp') unsupported();
    const name = h.sourceAttrs.find(([k]) => k === 'name')?.[1] ?? '';
    props = iscsiProps(b, name, hosts[0], auth, initiator, `${backend}-secret0`, unsupported, unsupported);
  }
  if (h.attrs.some(([k]) => k !== 'managed') || h.driver || h.shareable || h.extra.length > 0 || h.info.address?.type !== 'drive') unsupported();
  b.add('-blockdev', propsJSON([...props, ['node-name', backend], ['read-only', h.readonly]]));
  const at = (k: string): number => Number(h.info.address!.attrs.find(([n]) => n === k)?.[1] ?? '0');
  const ctrl = b.def.devices.controllers.find((c) => c.type === 'scsi' && c.index === at('controller'));
  const device: Props = [['driver', 'scsi-generic'], ['drive', backend], ['id', h.info.alias], ['bus', `${ctrl?.info.alias ?? `scsi${at('controller')}`}.0`]];
  if ((ctrl?.model ?? 'lsilogic') === 'lsilogic') device.push(['scsi-id', at('unit')]);
  else device.push(['channel', at('bus')], ['scsi-id', at('target')], ['lun', at('unit')]);
  device.push(['bootindex', b.bootIndex(h.info)]);
  b.device(device);
}

/** qemuBuildHostdevSCSIVHostDevProps: a vhost-scsi target by its WWPN, on an opened /dev/vhost-scsi. */
function vhostScsiProps(b: Builder, h: HostdevDef): Props {
  const wwpn = h.sourceAttrs.find(([k]) => k === 'wwpn')?.[1];
  const model = h.attrs.find(([k]) => k === 'model')?.[1] ?? 'default';
  const protocolOk = h.sourceAttrs.every(([k, v]) => (k === 'protocol' && v === 'vhost') || k === 'wwpn');
  const open = b.opts.openVhostScsi;
  if (wwpn === undefined || !protocolOk || !open || h.sourceChildren.length > 0 || !['default', 'virtio'].includes(model) ||
    h.attrs.some(([k]) => k !== 'managed' && k !== 'model') || h.driver || h.extra.length > 0 || h.info.bootOrder !== undefined) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'SCSI host device settings are not supported yet');
  }
  return [['driver', 'vhost-scsi-pci'], ['wwpn', wwpn], ['vhostfd', String(open())], ['id', h.info.alias], ...b.addressProps(h.info)];
}

/**
 * qemuBuildUSBHostdevDevProps: a host USB device by its /dev/bus/usb node. A device named by IDs
 * has its address once the start found it on the host; one marked missing (an optional device
 * the host did not have) is an empty usb-host.
 */
function usbHostProps(b: Builder, h: HostdevDef): Props {
  let hostdevice: string | undefined;
  if (!usbHostdevMissing(h)) {
    const { bus, device } = usbHostdevSource(h);
    if (bus === 0 && device === 0) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, 'USB host device is missing bus/device information');
    hostdevice = usbDevicePath(bus, device);
  }
  const props: Props = [['driver', 'usb-host'], ['hostdevice', hostdevice], ['id', h.info.alias]];
  const reset = h.sourceAttrs.find(([k]) => k === 'guestReset')?.[1];
  if (reset === 'off') props.push(['guest-reset', false]);
  else if (reset === 'uninitialized') props.push(['guest-reset', true], ['guest-resets-all', false]);
  else if (reset === 'on') props.push(['guest-reset', true], ['guest-resets-all', true]);
  props.push(['bootindex', b.bootIndex(h.info)], ...b.addressProps(h.info));
  return props;
}

/** qemuBuildHostdevMediatedDevProps: a mediated device by its sysfs node. */
function mdevProps(b: Builder, h: HostdevDef): Props {
  const hattr = (k: string): string | undefined => h.attrs.find(([n]) => n === k)?.[1];
  if (hattr('model') !== 'vfio-pci') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported mediated device model '${hattr('model')}'`);
  const uuid = attr(h.sourceChildren.find((c) => c.name === 'address'), 'uuid');
  const ramfb = hattr('ramfb') === 'on';
  const display = hattr('display');
  return [
    ['driver', ramfb ? 'vfio-pci-nohotplug' : 'vfio-pci'], ['id', h.info.alias], ['sysfsdev', `/sys/bus/mdev/devices/${uuid}`],
    ['display', display === undefined ? undefined : display], ['ramfb', ramfb ? true : undefined], ['bootindex', b.bootIndex(h.info)],
    ...b.addressProps(h.info),
  ];
}

function vfioProps(b: Builder, host: string, info: DeviceInfo, teaming: NetDef['teaming']): Props {
  const props: Props = [['driver', 'vfio-pci'], ['host', host], ['id', info.alias], ['bootindex', b.bootIndex(info)]];
  if (teaming?.type === 'transient' && teaming.persistent) props.push(['failover_pair_id', teaming.persistent]);
  props.push(...b.addressProps(info), ...romProps(info));
  return props;
}

/** qemuBuildRomProps: a PCI device's <rom>: its BAR switched, another ROM image, or none at all. */
function romProps(info: DeviceInfo): Props {
  const get = (k: string): string | undefined => info.rom?.find(([n]) => n === k)?.[1];
  if (get('enabled') === 'no') return [['romfile', '']];
  const bar = get('bar');
  return [['rombar', bar === 'on' ? 1 : bar === 'off' ? 0 : undefined], ['romfile', get('file')]];
}

function buildMemballoon(b: Builder): void {
  const m = b.def.devices.memballoon;
  if (!m) return;
  const model = simpleAttr(m, 'model');
  if (model === 'none') return;
  if (model !== 'virtio') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported memballoon model '${model}'`);
  const driver = childDriver(m);
  // <stats period=> is set through the monitor once QEMU runs.
  if (m.children.some((c) => c.name !== 'driver' && c.name !== 'stats') || (driver && [...driver.attrs.keys()].some((k) => !VIRTIO_DRIVER_ATTRS.has(k)))) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'unsupported memballoon settings');
  }
  const props: Props = [['driver', 'virtio-balloon-pci'], ...virtioOptions(driver), ['id', m.info.alias]];
  const deflate = simpleAttr(m, 'autodeflate');
  if (deflate !== undefined) props.push(['deflate-on-oom', deflate === 'on']);
  const report = simpleAttr(m, 'freePageReporting');
  if (report !== undefined) props.push(['free-page-reporting', report === 'on']);
  props.push(...b.addressProps(m.info));
  b.device(props);
}

const DISK_DRIVER_ATTRS = new Set([
  'name', 'type', 'iothread', 'cache', 'io', 'discard', 'detect_zeroes', 'error_policy', 'rerror_policy', 'copy_on_read',
  'iommu', 'ats', 'packed', 'page_per_vq', 'ioeventfd', 'event_idx', 'queues', 'queue_size',
]);
const NET_DRIVER_ATTRS = new Set(['name', 'txmode', 'ioeventfd', 'event_idx', 'queues', 'rx_queue_size', 'tx_queue_size', 'rss', 'rss_hash_report', 'iommu', 'ats', 'packed', 'page_per_vq']);
const VIRTIO_DRIVER_ATTRS = new Set(['iommu', 'ats', 'packed', 'page_per_vq']);
/** The virtio-scsi controller's own <driver> tunables. */
const VIRTIO_SCSI_DRIVER_ATTRS = new Set(['queues', 'cmd_per_lun', 'max_sectors', 'ioeventfd', 'iothread']);

const WATCHDOG_ACTIONS: Record<string, string> = { dump: 'pause' };

function buildWatchdogs(b: Builder): void {
  for (const w of b.def.devices.watchdogs) {
    const model = simpleAttr(w, 'model') ?? 'i6300esb';
    if (model === 'diag288' && !b.def.os.arch?.startsWith('s390')) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'diag288 model of watchdog is allowed for s390 and s390x only');
    }
    if (model !== 'ib700' && model !== 'i6300esb') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported watchdog model '${model}'`);
    b.device([['driver', model], ['id', w.info.alias], ...b.addressProps(w.info)]);
    const action = simpleAttr(w, 'action');
    if (action !== undefined) b.add('-watchdog-action', WATCHDOG_ACTIONS[action] ?? action);
  }
}

/** A character device described by a device's own <source>/<protocol> children (redirdev, rng egd). */
function nestedChr(type: string, el: { children: XmlElement[] }, info: DeviceInfo): ChrDef {
  const protocol = attr(el.children.find((c) => c.name === 'protocol'), 'type');
  const chr: ChrDef = { kind: 'serial', type, sources: el.children.filter((c) => c.name === 'source'), extra: [], info };
  if (protocol !== undefined) chr.protocol = protocol;
  return chr;
}

function buildRedirdevs(b: Builder): void {
  for (const r of b.def.devices.redirdevs) {
    if (simpleAttr(r, 'bus') !== 'usb') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'unsupported redirdev bus');
    const id = chardev(b, nestedChr(simpleAttr(r, 'type') ?? 'spicevmc', r, r.info));
    b.device([['driver', 'usb-redir'], ['chardev', id], ['id', r.info.alias], ['bootindex', b.bootIndex(r.info)], ...b.addressProps(r.info)]);
  }
}

/** The PCI device of each virtio RNG model: the plain one, or one pinned to (non-)transitional. */
const RNG_DRIVERS: Record<string, string> = {
  virtio: 'virtio-rng-pci',
  'virtio-transitional': 'virtio-rng-pci-transitional',
  'virtio-non-transitional': 'virtio-rng-pci-non-transitional',
};

function buildRngs(b: Builder): void {
  for (const r of b.def.devices.rngs) {
    const model = simpleAttr(r, 'model') ?? '';
    const driver = RNG_DRIVERS[model];
    if (!driver) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported rng model '${model}'`);
    const backend = r.children.find((c) => c.name === 'backend');
    const objId = `obj${r.info.alias}`;
    const bmodel = attr(backend, 'model');
    if (bmodel === 'random') {
      b.object([['qom-type', 'rng-random'], ['id', objId], ['filename', textOf(backend) || '/dev/urandom']]);
    } else if (bmodel === 'builtin') {
      b.object([['qom-type', 'rng-builtin'], ['id', objId]]);
    } else if (bmodel === 'egd' && backend) {
      const info: DeviceInfo = { alias: r.info.alias };
      const id = chardev(b, nestedChr(attr(backend, 'type') ?? 'pty', backend as unknown as { children: XmlElement[] }, info));
      b.object([['qom-type', 'rng-egd'], ['id', objId], ['chardev', id]]);
    } else {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported rng backend '${bmodel}'`);
    }
    const rate = r.children.find((c) => c.name === 'rate');
    const props: Props = [['driver', driver], ...virtioOptions(childDriver(r)), ['rng', objId], ['id', r.info.alias]];
    if (rate) {
      props.push(['max-bytes', Number(attr(rate, 'bytes'))], ['period', Number(attr(rate, 'period') ?? 1000)]);
    }
    for (const c of r.children) {
      if (c.name !== 'backend' && c.name !== 'rate' && c.name !== 'driver') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `rng <${c.name}> is not supported yet`);
    }
    b.device([...props, ...b.addressProps(r.info)]);
  }
}

function buildPanics(b: Builder): void {
  for (const p of b.def.devices.panics) {
    const model = simpleAttr(p, 'model') ?? 'isa';
    if (model === 'hyperv') continue;
    if (model !== 'isa') throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `unsupported panic model '${model}'`);
    const iobase = p.info.address?.type === 'isa' ? p.info.address.attrs.find(([k]) => k === 'iobase')?.[1] : undefined;
    b.device([['driver', 'pvpanic'], ['ioport', iobase === undefined ? undefined : Number(iobase)]]);
  }
}

function buildVsock(b: Builder): void {
  const v = b.def.devices.vsock;
  if (!v) return;
  const cid = v.children.find((c) => c.name === 'cid');
  // cid auto='yes': the driver acquires a free CID on the vhost-vsock device before building.
  const address = attr(cid, 'address') ?? (attr(cid, 'auto') === 'yes' && b.opts.vsockAutoCid !== undefined ? String(b.opts.vsockAutoCid) : undefined);
  if (address === undefined || b.opts.vhostVsockFd === undefined) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'vsock needs a guest CID and an open vhost-vsock device');
  }
  b.device([
    ['driver', 'vhost-vsock-pci'], ['id', v.info.alias], ['guest-cid', Number(address)], ['vhostfd', String(b.opts.vhostVsockFd)],
    ...b.addressProps(v.info),
  ]);
}

function loaderUnsupported(def: DomainDef): boolean {
  const loader = def.os.loader;
  if (!loader) return false;
  const known = ([k, v]: [string, string]): boolean => k === 'readonly' || k === 'secure' || (k === 'type' && (v === 'pflash' || v === 'rom'));
  if (!loader.attrs.every(known)) return true;
  if (loader.attrs.some(([k, v]) => k === 'type' && v === 'rom')) return !loader.path;
  const nvram = def.os.nvram;
  if (nvram && !networkNvramSource(nvram) && (nvram.children.length > 0 || nvram.attrs.some(([k]) => k !== 'template') || !nvram.path)) return true;
  return !loader.path;
}

/** The <features> virtnode turns into command-line options. */
const SUPPORTED_FEATURES = new Set(['acpi', 'apic', 'pae', 'vmport', 'smm', 'hyperv', 'pvspinlock', 'ioapic', 'tcg']);

/** Device kinds virtnode cannot yet put on a command line: refused rather than silently dropped. */
function refuseUnsupported(def: DomainDef): void {
  const d = def.devices;
  const lists: Array<[string, unknown[]]> = [

    ['hub', d.hubs], ['shmem', d.shmems],
    ['crypto', d.cryptos], ['lease', d.leases],
  ];
  for (const [name, list] of lists) {
    if (list.length > 0) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `${name} devices are not supported yet`);
  }
  if (d.nvram) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'device not supported yet');
  const unsupportedTop: Array<[string, unknown]> = [
    ['numa', def.cpu && child(def.cpu, 'numa') && children(child(def.cpu, 'numa')!).some((c) => c.name !== 'cell' && c.name !== 'interconnects') ? true : undefined],
    ['sysinfo', smbiosUnsupported(def) ? true : undefined], ['loader', loaderUnsupported(def) ? true : undefined], ['launchSecurity', def.launchSecurity && !sevSettings(def.launchSecurity) ? true : undefined],
    ['seclabel', def.seclabels.length ? true : undefined],
    ['genid', def.genid === '' ? true : undefined], ['firmware', def.os.firmware],
    ['memtune', def.memtune],
    ['blkiotune', def.blkiotune],
  ];
  for (const [name, v] of unsupportedTop) {
    if (v !== undefined) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `<${name}> is not supported yet`);
  }
  const tcg = def.features?.get('tcg');
  if (tcg && children(tcg).some((c) => c.name !== 'tb-cache')) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'feature \'tcg\' setting is not supported yet');
  for (const name of def.features?.keys() ?? []) {
    if (!SUPPORTED_FEATURES.has(name)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, `feature '${name}' is not supported yet`);
  }
  for (const disk of d.disks) {
    // <iotune> is applied over QMP (block_set_io_throttle) once QEMU runs, never on the command line.
    const blockio = disk.extra.find((e) => e.name === 'blockio');
    const geometry = disk.extra.find((e) => e.name === 'geometry');
    const badBlockio = blockio && [...blockio.attrs.keys()].some((k) => k !== 'logical_block_size' && k !== 'physical_block_size');
    const badGeometry = geometry && (disk.target.bus ?? 'ide') !== 'ide';
    const iscsi = disk.type === 'network' && ['iscsi', 'rbd'].includes(genericAttr(disk.source, 'protocol') ?? '');
    if (disk.extra.some((e) => !['iotune', 'blockio', 'geometry', 'encryption'].includes(e.name) && !(e.name === 'auth' && iscsi)) || badBlockio || badGeometry || (disk.transient && !transientDiskSupported(disk))) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk settings not supported yet');
    }
    const extraDriver = disk.driver?.attrs.some(([k]) => !DISK_DRIVER_ATTRS.has(k));
    const driverKids = disk.driver?.children ?? [];
    const badCache = driverKids.some((c) => c.name !== 'metadata_cache' || children(c).some((m) => m.name !== 'max_size'));
    if (extraDriver || badCache) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk driver settings not supported yet');
    }
    // A network source's children (hosts, identity, ...) are checked where the node is built.
    if (disk.type === 'vhostuser') continue;
    const network = disk.type === 'network';
    const nbd = network && genericAttr(disk.source, 'protocol') === 'nbd';
    const nvme = disk.type === 'nvme';
    const okAttrs = network ? ['protocol', 'name', 'query', ...(nbd ? ['tls'] : [])] : nvme ? ['type', 'managed', 'namespace'] : ['file', 'dev', 'dir', 'startupPolicy', 'fdgroup'];
    // A <seclabel> is the security driver's business, on the host side.
    const sourceKidsOk = network || disk.source?.children.every((c) =>
      (c.name === 'reservations' && disk.type === 'block' && disk.device === 'lun') || c.name === 'slices' || c.name === 'encryption' || c.name === 'seclabel' || (c.name === 'address' && nvme));
    if (disk.source && (!sourceKidsOk || disk.source.attrs.some(([k]) => !okAttrs.includes(k)))) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'disk source settings not supported yet');
    }
  }
  for (const net of d.interfaces) {
    const badDriver = net.driver && (net.driver.children.length > 0 || net.driver.attrs.some(([k]) => !NET_DRIVER_ATTRS.has(k)));
    // <script> of a tap: libvirt runs it itself when it creates the device.
    // <bandwidth> is shaped with tc on the host side, never on the command line.
    // <ip>, <portForward> and <backend> of a passt interface are passt's command line, not QEMU's.
    const passtOnly = isPasst(net) ? ['ip', 'portForward', 'backend'] : [];
    // <vlan> of a hostdev interface is set on the VF through its PF before QEMU starts (hostdev.ts).
    const hostSide = (name: string) =>
      (name === 'script' && (net.type === 'ethernet' || net.type === 'bridge')) || (name === 'vlan' && net.type === 'hostdev');
    const extra = net.extra.filter((e) => e.name !== 'bandwidth' && !passtOnly.includes(e.name) && !hostSide(e.name));
    if (extra.length || badDriver || net.linkState || net.mtu) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'interface settings not supported yet');
    }
  }
  for (const c of d.controllers) {
    const virtioScsi = c.type === 'scsi' && c.model === 'virtio-scsi';
    const badDriver = c.driver && (c.driver.children.length > 0 || c.driver.attrs.some(([k]) => !VIRTIO_DRIVER_ATTRS.has(k) && !(virtioScsi && VIRTIO_SCSI_DRIVER_ATTRS.has(k))));
    if (badDriver || c.extra.length) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'controller settings not supported yet');
  }
  if (def.cpu) {
    const mode = attr(def.cpu, 'mode') ?? 'custom';
    if (!['custom', 'host-passthrough', 'maximum'].includes(mode) || children(def.cpu).some((c) => !['model', 'topology', 'feature', 'numa'].includes(c.name))) {
      throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'CPU settings not supported yet');
    }
  }
}

/**
 * qemuProcessPrepareDomainStorage's pool lookups: the definition with each volume disk turned into
 * what its volume is (the same definition when it has none).
 */
function withActualDiskSources(def: DomainDef, storage: StorageLookup | undefined): DomainDef {
  const disks = def.devices.disks.map((d) => translateDiskSourcePool(d, storage));
  if (disks.every((d, i) => d === def.devices.disks[i])) return def;
  return { ...def, devices: { ...def.devices, disks } };
}

/** virDomainDefGetShortName: the name part of per-domain directories, at most 20 characters. */
function shortName(name: string): string {
  return [...name].slice(0, 20).join('');
}

/**
 * Building assigns aliases and USB ports, which only ever set `info.alias` / `info.address` of
 * top-level devices: those are saved before and put back after, so the caller's definition comes
 * out unchanged (cheaper than copying it).
 */
type SavedInfo = [info: DeviceInfo, hadAlias: boolean, alias: string | undefined, hadAddress: boolean, address: DeviceInfo['address']];

function saveInfos(def: DomainDef): SavedInfo[] {
  const out: SavedInfo[] = [];
  const devices = def.devices as unknown as Record<string, unknown>;
  for (const key in devices) {
    const v = devices[key];
    if (Array.isArray(v)) {
      for (const dev of v as Array<{ info?: DeviceInfo }>) if (dev.info) out.push(saveInfo(dev.info));
    } else if (v !== null && typeof v === 'object' && (v as { info?: DeviceInfo }).info) {
      out.push(saveInfo((v as { info: DeviceInfo }).info));
    }
  }
  return out;
}

function saveInfo(info: DeviceInfo): SavedInfo {
  return [info, 'alias' in info, info.alias, 'address' in info, info.address];
}

function restoreInfos(saved: SavedInfo[]): void {
  for (const [info, hadAlias, alias, hadAddress, address] of saved) {
    if (hadAlias) info.alias = alias;
    else delete info.alias;
    if (hadAddress) info.address = address;
    else delete info.address;
  }
}

/**
 * qemuBuildCommandLine: the QEMU process for `def` (already through the QEMU post-parse step).
 * The definition is not changed: aliases are assigned on a copy.
 */
export function buildCommandLine(input: DomainDef, caps: QemuCaps, options: BuildCommandLineOptions = {}): Command {
  if (options.scratchDefinition) return build(input, caps, options);
  const saved = saveInfos(input);
  try {
    return build(input, caps, options);
  } finally {
    restoreInfos(saved);
  }
}

function build(input: DomainDef, binaryCaps: QemuCaps, options: BuildCommandLineOptions): Command {
  const def = withActualDiskSources(input, options.storage);
  refuseUnsupported(def);
  const ns = qemuNamespaceSettings(def);
  const caps = capsWithNamespaceEdits(binaryCaps, ns);
  qemuAssignDeviceAliases(def);
  assignUsbPorts(def);
  const id = options.id ?? -1;
  const libDir = options.libDir ?? `/tmp/lib/domain-${id}-${shortName(def.name)}`;
  const b = new Builder(def, caps, { ...options, libDir });
  b.frontendOverrides = ns.frontend;
  b.prepareStorageFds();
  const cmd = b.cmd;
  buildEnv(cmd, libDir, options.hostEnv);
  const namespaced = qemuNamespaceCommandline(def);
  for (const [name, value] of namespaced.env) cmd.addEnv(name, value);
  for (const a of def.devices.audios) {
    const sdlDriver = simpleAttr(a, 'type') === 'sdl' ? simpleAttr(a, 'driver') : undefined;
    if (sdlDriver !== undefined) cmd.addEnv('SDL_AUDIODRIVER', sdlDriver);
  }

  b.add('-name', `guest=${escapeOptionValue(def.name)},debug-threads=on`);
  buildCompatDeprecated(b, ns.deprecation);
  b.add('-S');
  b.object([['qom-type', 'secret'], ['id', 'masterKey0'], ['format', 'raw'], ['file', `${libDir}/master-key.aes`]]);
  buildManagedPR(b);
  buildPflash(b);
  buildMachine(b);
  buildCpu(b);
  buildLoader(b);
  buildMemory(b);
  buildSmp(b);
  buildIothreads(b);
  buildNuma(b);
  b.add('-uuid', def.uuid);
  if (def.genid !== undefined && def.genid !== '') b.device([['driver', 'vmgenid'], ['guid', def.genid], ['id', 'vmgenid0']]);
  buildSmbios(b);
  if (def.devices.graphics.length === 0) b.add('-display', 'none');
  b.add('-no-user-config', '-nodefaults');
  const monitor: ChardevBackend =
    options.monitorPath !== undefined
      ? { type: 'unix', path: options.monitorPath, listen: true }
      : { type: 'unix', fd: options.monitorFd ?? 1729, listen: true };
  b.add('-chardev', buildChardevArg('charmonitor', monitor));
  b.add('-mon', 'chardev=charmonitor,id=monitor,mode=control');
  buildClock(b);
  buildPm(b);
  buildBoot(b);
  b.assignBootIndexes();
  buildIommu(b);
  buildControllers(b);
  buildMemoryDevices(b);
  buildDisks(b);
  buildFilesystems(b);
  buildNets(b);
  buildSmartcards(b);
  buildSerials(b);
  buildParallels(b);
  buildChannels(b);
  buildConsoles(b);
  buildTpms(b);
  buildInputs(b);
  buildAudios(b);
  buildGraphics(b);
  buildVideos(b);
  buildSounds(b);
  buildWatchdogs(b);
  buildRedirdevs(b);
  buildHostdevs(b);
  buildMemballoon(b);
  buildRngs(b);
  buildLaunchSecurity(b);
  cmd.addArgs(...namespaced.args);
  if (caps.has('seccomp-sandbox')) b.add('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
  buildPanics(b);
  buildVsock(b);
  b.add('-msg', 'timestamp=on');
  return cmd;
}

