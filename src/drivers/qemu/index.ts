// The QEMU connection driver (qemu:///system, qemu:///session, qemu:///embed?root=DIR), so far
// the connection-level entries that need no running domain: type, version, hostname, vCPU limit
// and domxml-to-native. The driver runs in the calling process, like libvirt's embedded driver.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConnectDriver, DriverSet, HypervisorDriver } from '../../driver';
import {
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_NO_CONNECT,
  VIR_FROM_NONE,
  VIR_FROM_QEMU,
  VIR_FROM_URI,
  virError,
} from '../../error';
import type { DomainDef, NetDef } from '../../conf/domain-def';
import type { QemuCaps } from './capabilities';
import { QemuCapsCache } from './caps-cache';
import { nvramDirOf, type QemuDriverConfig } from './config';
import { buildCommandLine } from './command';
import { keepAlive, QemuDriverState, type QemuDirs } from './domains';
import { firmwareDescriptorDirs, qemuFirmwareFillDomain, wantsFirmwareLookup } from './firmware';
import { gatherDomainCapsHost, gatherQemuHostFacts } from './host-facts';
import { qemuCapabilitiesXML, qemuDomainCapabilitiesXML, type QemuHostFacts } from './host-caps';
import { qemuDomainDriver } from './hypervisor';
import { qemuNodeDeviceDriver } from './node-device';
import { qemuAssignMissingPciAddresses, qemuParseDomainXML } from './postparse';
import { pathVirtioChannels, shortName } from './process';
import { checkFlags } from '../../util/flags';
import { kernelFiles } from '../../util/sysfs';

export type { QemuDirs };

/** The emulator a connection uses for the host's own architecture. */
export const QEMU_BINARY_NAME = 'qemu-system-x86_64';

/** virConnectDomainXMLToNative's one native format for QEMU. */
export const QEMU_CONFIG_FORMAT_ARGV = 'qemu-argv';

/** The directories of a privileged, per-user or embedded driver, per DESIGN.md. */
export function qemuDirsForURI(uri: URL): QemuDirs {
  const where = decodeURIComponent(uri.pathname);
  const privileged = process.getuid?.() === 0;
  if (where !== '/embed' && where !== '/session' && (where !== '/system' || !privileged)) {
    // qemuConnectOpen: a privileged driver serves /system and /session, a per-user one /session.
    throw virError(
      VIR_ERR_INTERNAL_ERROR,
      VIR_FROM_QEMU,
      `unexpected QEMU URI path '${where}', try ${privileged ? 'qemu:///system' : 'qemu:///session'}`,
    );
  }
  if (where === '/system') {
    return {
      configDir: '/etc/virtnode/qemu',
      stateDir: '/run/virtnode/qemu',
      hostdevStateDir: '/run/virtnode/hostdevmgr',
      logDir: '/var/log/virtnode/qemu',
      libDir: '/var/lib/virtnode/qemu',
      cacheDir: '/var/cache/virtnode/qemu',
    };
  }
  if (where === '/session') {
    const home = os.homedir();
    const config = process.env.XDG_CONFIG_HOME || path.join(home, '.config');
    const cache = process.env.XDG_CACHE_HOME || path.join(home, '.cache');
    const runtime = process.env.XDG_RUNTIME_DIR || config;
    return {
      configDir: path.join(config, 'virtnode', 'qemu'),
      stateDir: path.join(runtime, 'virtnode', 'qemu', 'run'),
      hostdevStateDir: path.join(runtime, 'virtnode', 'hostdevmgr'),
      logDir: path.join(cache, 'virtnode', 'qemu', 'log'),
      libDir: path.join(config, 'virtnode', 'qemu', 'lib'),
      cacheDir: path.join(cache, 'virtnode', 'qemu', 'cache'),
    };
  }
  if (where === '/embed') {
    const root = uri.searchParams.get('root');
    // libvirt 9.0 (checked with python3-libvirt): the URI layer reports the missing parameter,
    // the embed check a relative root.
    if (root === null || root === '') throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_URI, "Missing URI parameter 'root'");
    if (!path.isAbsolute(root)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_NONE, 'root path must be absolute');
    const base = path.resolve(root);
    return {
      configDir: path.join(base, 'etc', 'qemu'),
      stateDir: path.join(base, 'run', 'qemu'),
      hostdevStateDir: path.join(base, 'run', 'hostdevmgr'),
      logDir: path.join(base, 'log', 'qemu'),
      libDir: path.join(base, 'lib', 'qemu'),
      cacheDir: path.join(base, 'cache', 'qemu'),
      tlsDir: path.join(base, 'etc', 'pki', 'qemu'),
    };
  }
  throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, `unexpected QEMU URI path '${where}'`);
}

/**
 * Where the connection finds /sys and /dev/vfio: the host's, or for qemu:///embed the directory a
 * `sysfsroot=DIR` parameter names. That parameter is a test hook: it points the node device and
 * hostdev code at a fake sysfs tree.
 */
export function kernelRootForURI(uri: URL): string {
  const root = decodeURIComponent(uri.pathname) === '/embed' ? uri.searchParams.get('sysfsroot') : null;
  if (root === null || root === '') return '';
  if (!path.isAbsolute(root)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_NONE, 'sysfsroot path must be absolute');
  return path.resolve(root);
}

/** The first executable `name` in $PATH, or null. */
export async function findInPath(name: string, searchPath = process.env.PATH ?? ''): Promise<string | null> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      const st = await fsp.stat(candidate);
      if (!st.isFile()) continue;
      await fsp.access(candidate, fsp.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** One capabilities cache per cache directory, shared by every connection that uses it. */
const capsCaches = new Map<string, QemuCapsCache>();

function capsCacheFor(cacheDir: string): QemuCapsCache {
  let cache = capsCaches.get(cacheDir);
  if (!cache) {
    cache = new QemuCapsCache({ cacheDir });
    capsCaches.set(cacheDir, cache);
  }
  return cache;
}

/** The state behind one open connection. */
export class QemuConnection {
  private readonly capsCache: QemuCapsCache;
  private vhostNetCheck: { at: number; usable: boolean } | undefined;
  /** Whether this process runs as root, as libvirt's privileged driver (asked once: a syscall). */
  readonly privileged = process.getuid?.() === 0;

  constructor(
    readonly binary: string,
    readonly dirs: QemuDirs,
  ) {
    this.capsCache = capsCacheFor(path.join(dirs.cacheDir, 'capabilities'));
  }

  /** The capabilities of the connection's emulator: probed once, then from the cache. */
  caps(): Promise<QemuCaps> {
    return this.capsCache.lookup(this.binary);
  }

  /** The capabilities of another emulator (one a definition names), from the same cache. */
  emulatorCaps(binary: string): Promise<QemuCaps> {
    return this.capsCache.lookup(binary);
  }

  /**
   * qemuConnectDomainXMLToNative: the command line a real start of `xml` would run (domain id -1
   * as libvirt's pretend start leaves it, the monitor as a socket path), on one line.
   */
  async domainXMLToNative(format: string, xml: string, config: QemuDriverConfig): Promise<string> {
    if (format !== QEMU_CONFIG_FORMAT_ARGV) {
      throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `unsupported config type ${format}`);
    }
    let caps = await this.caps();
    let def = qemuParseDomainXML(xml, caps, undefined, config);
    const emulator = def.devices.emulator;
    if (emulator !== undefined && emulator !== caps.data.binary) {
      // The definition names another binary (qemu-system-i386, say): its capabilities decide,
      // defaults included, as libvirt parses with those of the domain's emulator.
      caps = await this.emulatorCaps(emulator);
      def = qemuParseDomainXML(xml, caps, undefined, config);
    }
    // A pretend fresh start: firmware autoselection reads the descriptors; nothing else does I/O.
    if (wantsFirmwareLookup(def)) {
      await qemuFirmwareFillDomain(def, { dirs: firmwareDescriptorDirs(this.privileged), nvramDir: nvramDirOf(config) });
    }
    return this.toNative(def, caps, config);
  }

  /** Whether /dev/vhost-net can be opened, looked at once a second at most (a syscall each). */
  private vhostNet(): boolean {
    const now = performance.now();
    if (this.vhostNetCheck === undefined || now - this.vhostNetCheck.at > 1000) {
      this.vhostNetCheck = { at: now, usable: vhostNetUsable() };
    }
    return this.vhostNetCheck.usable;
  }

  /**
   * The synchronous part of domainXMLToNative, given the parsed definition and its emulator's
   * capabilities: the caller's environment passed through as at a real start, interfaces turned
   * into bare taps (see pretendNetworking).
   */
  private toNative(def: DomainDef, caps: QemuCaps, config: QemuDriverConfig): string {
    pretendNetworking(def);
    const domainName = `domain--1-${shortName(def.name)}`;
    const domainDir = path.join(this.dirs.libDir, domainName);
    pathVirtioChannels(def, path.join(this.dirs.libDir, 'channel', 'target', domainName));
    // libvirt opens a tap (and /dev/vhost-net for virtio NICs where it can) and prints the fds it
    // got; nothing is opened here, the numbers only stand for them.
    let fd = FIRST_PRETEND_FD;
    const cmd = buildCommandLine(def, caps, {
      scratchDefinition: true,
      id: -1,
      libDir: domainDir,
      monitorPath: path.join(domainDir, 'monitor.sock'),
      hostEnv: { env: process.env, privileged: this.privileged },
      config,
      memoryBackingDir: path.join(this.dirs.libDir, 'ram'),
      openTap: () => fd++,
      openVhostNet: this.vhostNet() ? () => fd++ : undefined,
      // Neither is done for a pretend start: no vhost-vsock fd (-1), no CID acquired (0).
      vhostVsockFd: -1,
      vsockAutoCid: 0,
    });
    return cmd.toString({ linebreaks: false });
  }
}

/** The first fd a process has after stdin, stdout and stderr. */
const FIRST_PRETEND_FD = 3;

/** Whether this process could open /dev/vhost-net, as libvirt tries for each virtio NIC. */
function vhostNetUsable(): boolean {
  try {
    fs.accessSync('/dev/vhost-net', fs.constants.R_OK | fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * qemuConnectDomainXMLToNative's interfaces: a pretend start sets up no bridge, network or
 * macvtap, so each interface becomes a bare 'ethernet' one (a tap) that keeps only its MAC address
 * and model; its driver options, alias, address, boot order and the rest go, and it gets a new
 * address. libvirt 9.0 does the same to hostdev interfaces and then trips over their passthrough
 * half (an error, or a crash); virtnode leaves those as they are.
 */
function pretendNetworking(def: DomainDef): void {
  if (def.devices.interfaces.every((net) => net.type === 'hostdev')) return;
  def.devices.interfaces = def.devices.interfaces.map((net): NetDef =>
    net.type === 'hostdev' ? net : { kind: 'interface', type: 'ethernet', mac: net.mac, model: net.model, extra: [], info: {} });
  qemuAssignMissingPciAddresses(def);
}

/**
 * qemuConnectGetMaxVcpus: 16 for plain QEMU (TCG); for KVM the largest limit among the KVM
 * machine types the emulator reports (libvirt asks the kernel, which virtnode cannot without
 * an ioctl); anything else is an unknown type.
 */
async function maxVcpus(conn: QemuConnection, type: string | null): Promise<number> {
  if (type === null || type.toLowerCase() === 'qemu') return 16;
  if (type.toLowerCase() === 'kvm') {
    const caps = await conn.caps();
    return Math.max(0, ...caps.machines('kvm').map((m) => m.maxCpus));
  }
  throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_QEMU, `unknown type '${type}'`);
}

/**
 * One driver state per root directory in this process, shared by every connection to that root
 * (as one libvirtd serves all its clients), loaded when the first connection opens and let go
 * of, with QEMUs left running, when the last one closes.
 */
const states = new Map<string, { users: number; ready: Promise<QemuDriverState> }>();

async function acquireState(conn: QemuConnection, kernelRoot: string): Promise<QemuDriverState> {
  const key = conn.dirs.configDir;
  let entry = states.get(key);
  if (!entry) {
    const ready = (async () => {
      const state = new QemuDriverState(conn.dirs, await conn.caps(), conn.privileged, kernelRoot);
      state.emulatorCaps = (binary) => conn.emulatorCaps(binary);
      // Reconnecting talks to QEMUs whose monitors never hold the process open: this does.
      await keepAlive(() => state.load());
      return state;
    })();
    entry = { users: 0, ready };
    states.set(key, entry);
    ready.catch(() => {
      if (states.get(key) === entry) states.delete(key);
    });
  }
  entry.users++;
  try {
    return await entry.ready;
  } catch (err) {
    entry.users--;
    throw err;
  }
}

function releaseState(conn: QemuConnection): void {
  const key = conn.dirs.configDir;
  const entry = states.get(key);
  if (!entry || --entry.users > 0) return;
  states.delete(key);
  void entry.ready.then((state) => state.release());
}

/**
 * qemuConnectGetDomainCapabilities: the binary named, else the connection's; the arch, machine
 * type and virt type are checked against what that binary reports.
 */
async function domainCapabilities(
  conn: QemuConnection,
  emulatorbin: string | null,
  arch: string | null,
  machine: string | null,
  virttype: string | null,
): Promise<string> {
  const binary = emulatorbin ?? conn.binary;
  const caps = await conn.emulatorCaps(binary);
  // The machine type the answer is for, to pick the firmware that targets it.
  const accel = virttype === 'kvm' || (virttype === null && caps.has('kvm')) ? 'kvm' : 'qemu';
  const resolved = machine === null ? caps.defaultMachine(accel)?.name ?? null : caps.machines(accel).find((m) => m.name === machine || m.alias === machine)?.name ?? machine;
  const host = await gatherDomainCapsHost(arch ?? caps.arch, resolved, { privileged: conn.privileged });
  return qemuDomainCapabilitiesXML({ binary, caps }, { emulatorbin, arch, machine, virttype }, host);
}

function hypervisorDriver(conn: QemuConnection, state: QemuDriverState): HypervisorDriver {
  let closed = false;
  // Reading sysfs takes a few milliseconds: once per connection, as libvirt keeps its virCaps.
  let hostFacts: Promise<QemuHostFacts> | undefined;
  return {
    name: 'QEMU',
    ...qemuDomainDriver(state),
    async connectClose() {
      if (closed) return;
      closed = true;
      releaseState(conn);
    },
    async connectIsAlive() {
      return true;
    },
    async connectGetType() {
      return 'QEMU';
    },
    async connectGetVersion() {
      return (await conn.caps()).version;
    },
    async connectGetHostname() {
      return os.hostname();
    },
    async connectGetCapabilities() {
      if (!hostFacts) {
        hostFacts = gatherQemuHostFacts();
        hostFacts.catch(() => (hostFacts = undefined));
      }
      return qemuCapabilitiesXML(await hostFacts, [{ binary: conn.binary, caps: await conn.caps() }]);
    },
    async connectGetDomainCapabilities(emulatorbin, arch, machine, virttype, flags) {
      // libvirt 9.0 knows no flag for this call.
      checkFlags(flags, 0, 'qemuConnectGetDomainCapabilities', VIR_FROM_QEMU);
      return domainCapabilities(conn, emulatorbin, arch, machine, virttype);
    },
    connectGetMaxVcpus(type) {
      return maxVcpus(conn, type);
    },
    connectDomainXMLToNative(format, xml) {
      // qemu.conf's defaults are the driver state's, as in libvirt (one virQEMUDriverConfig).
      return conn.domainXMLToNative(format, xml, state.config);
    },
  };
}

export const qemuConnectDriver: ConnectDriver = {
  schemes: ['qemu'],
  async open(uri: URL, rawUri: string): Promise<DriverSet> {
    const dirs = qemuDirsForURI(uri);
    const kernelRoot = kernelRootForURI(uri);
    const binary = await findInPath(QEMU_BINARY_NAME);
    if (binary === null) {
      throw virError(VIR_ERR_NO_CONNECT, VIR_FROM_QEMU, `${rawUri}: cannot find '${QEMU_BINARY_NAME}' in PATH`);
    }
    const conn = new QemuConnection(binary, dirs);
    const state = await acquireState(conn, kernelRoot);
    return {
      hypervisor: hypervisorDriver(conn, state),
      // A fake tree stands for a sysfs root may read in full, as a privileged libvirt does.
      nodeDevice: qemuNodeDeviceDriver(kernelFiles(kernelRoot), conn.privileged || kernelRoot !== ''),
      allocateEventCallbackID: () => state.allocateCallbackID(),
    };
  },
};
