// The QEMU driver's domains (libvirt's virQEMUDriver state plus qemu_driver.c's lifecycle
// entries): persistent definitions on disk, running QEMUs with status files so that another
// process can reconnect, a lock per running domain, events, and the QMP events that move a
// domain's state. One state object serves every connection of this process to one root.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DomainDef } from '../../conf/domain-def';
import { formatDomainXML } from '../../conf/domain-format';
import { VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE, VIR_DOMAIN_DEF_PARSE_STATUS } from '../../conf/domain-parse';
import {
  VIR_DOMAIN_EVENT_DEFINED,
  VIR_DOMAIN_EVENT_DEFINED_ADDED,
  VIR_DOMAIN_EVENT_DEFINED_UPDATED,
  VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
  VIR_DOMAIN_EVENT_ID_LIFECYCLE,
  VIR_DOMAIN_EVENT_ID_REBOOT,
  VIR_DOMAIN_EVENT_RESUMED,
  VIR_DOMAIN_EVENT_RESUMED_UNPAUSED,
  VIR_DOMAIN_EVENT_SHUTDOWN,
  VIR_DOMAIN_EVENT_SHUTDOWN_GUEST,
  VIR_DOMAIN_EVENT_SHUTDOWN_HOST,
  VIR_DOMAIN_EVENT_STARTED,
  VIR_DOMAIN_EVENT_STARTED_BOOTED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
  VIR_DOMAIN_EVENT_STOPPED_FAILED,
  VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
  VIR_DOMAIN_EVENT_SUSPENDED,
  VIR_DOMAIN_EVENT_SUSPENDED_PAUSED,
  VIR_DOMAIN_EVENT_UNDEFINED,
  VIR_DOMAIN_EVENT_UNDEFINED_REMOVED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_PAUSED_UNKNOWN,
  VIR_DOMAIN_PAUSED_USER,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_RUNNING_BOOTED,
  VIR_DOMAIN_RUNNING_UNKNOWN,
  VIR_DOMAIN_RUNNING_UNPAUSED,
  VIR_DOMAIN_SHUTDOWN,
  VIR_DOMAIN_SHUTDOWN_UNKNOWN,
  VIR_DOMAIN_SHUTOFF,
  VIR_DOMAIN_SHUTOFF_CRASHED,
  VIR_DOMAIN_SHUTOFF_DESTROYED,
  VIR_DOMAIN_SHUTOFF_FAILED,
  VIR_DOMAIN_SHUTOFF_SHUTDOWN,
  VIR_DOMAIN_XML_INACTIVE,
  VIR_DOMAIN_XML_SECURE,
  VIR_DOMAIN_UNDEFINE_KEEP_NVRAM,
  VIR_DOMAIN_UNDEFINE_NVRAM,
} from '../../constants';
import type { DomainEvent, DomainRef } from '../../driver';
import { DriverEventState } from '../event-state';
import {
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_INVALID,
  VIR_ERR_OPERATION_TIMEOUT,
  VIR_FROM_DOMAIN,
  VIR_FROM_QEMU,
  virError,
} from '../../error';
import { formatPciAddress } from '../../util/pci';
import { PidLock } from '../../util/pidlock';
import type { QemuCaps } from './capabilities';
import { writeFileAtomic } from '../../util/atomic-file';
import type { QemuMonitorEvent as RawMonitorEvent } from './monitor';
import { QemuMonitor } from './monitor';
import { qemuAssignDeviceAliases, qemuParseDomainXML } from './postparse';
import { hostDriverConfig, nvramDirOf, nvramPathIn, type QemuDriverConfig } from './config';
import { fileSystemError, firmwareDescriptorDirs, qemuFirmwareFillDomain, qemuPrepareNVRAM } from './firmware';
import { assignVfioBackend, hostdevManager, pciHostdevRequests, usbHostdevs, type HostdevManager } from './hostdev';
import { cleanupQemu, launchQemu, logTail, type ProcessIdentity, QemuProcess } from './process';

/** Where a domain's local variable store is, named or implied by firmware='efi'. */
function nvramPathOf(def: DomainDef, config: QemuDriverConfig): string | undefined {
  if (def.os.nvram) return def.os.nvram.path;
  return def.os.firmware === 'efi' ? nvramPathIn(nvramDirOf(config), def.name) : undefined;
}

/** Where one driver root keeps its files (libvirt's virQEMUDriverConfig directories). */
export interface QemuDirs {
  configDir: string;
  stateDir: string;
  /** Where VFs' network settings are saved while domains use them (libvirt's hostdev manager stateDir). */
  hostdevStateDir: string;
  logDir: string;
  libDir: string;
  cacheDir: string;
  /** default_tls_x509_cert_dir when it is not the host's /etc/pki/qemu (an embedded driver's). */
  tlsDir?: string;
}

/**
 * qemuProcessGraphicsSetupPassword: the passwords of VNC and SPICE displays go to QEMU through the
 * monitor (the command line only says password=on, or leaves SPICE's tickets on), each valid until
 * its passwdValidTo or for ever.
 */
async function setGraphicsPasswords(def: DomainDef, monitor: QemuMonitor): Promise<void> {
  for (const g of def.devices.graphics) {
    if (g.type !== 'vnc' && g.type !== 'spice') continue;
    const get = (k: string): string | undefined => g.attrs.find(([n]) => n === k)?.[1];
    const password = get('passwd');
    if (password === undefined) continue;
    await monitor.command('set_password', { protocol: g.type, password, connected: get('connected') ?? 'keep' });
    const validTo = get('passwdValidTo');
    const until = validTo === undefined ? undefined : Math.floor(Date.parse(`${validTo}Z`) / 1000);
    const time = until === undefined ? 'never' : until <= Date.now() / 1000 ? 'now' : String(until);
    await monitor.command('expire_password', { protocol: g.type, time });
  }
}

/** qemuProcessSetupBalloon, its statistics: the guest reports them every <stats period=> seconds. */
async function setBalloonStatsPeriod(def: DomainDef, monitor: QemuMonitor): Promise<void> {
  const balloon = def.devices.memballoon;
  const stats = balloon?.children.find((c) => c.name === 'stats');
  const period = Number(stats?.attrs.get('period') ?? 0);
  if (!balloon?.info.alias || !(period > 0)) return;
  await monitor.command('qom-set', { path: `/machine/peripheral/${balloon.info.alias}`, property: 'guest-stats-polling-interval', value: period });
}

/** What a status file holds: enough to find QEMU again and to show the domain meanwhile. */
interface StatusFile extends ProcessIdentity {
  id: number;
  state: number;
  reason: number;
  persistent: boolean;
  /** The live definition, formatted with its aliases and addresses. */
  xml: string;
  /** Block node index per disk target. */
  diskNodeIndexes: Array<[string, number]>;
  /** Host PCI devices virtnode moved to vfio-pci for this domain (libvirt's hostdev origstates). */
  hostdevsDetached?: string[];
}

/** Per-process run-time facts of an active domain, beside what QEMU itself knows. */
interface Runtime {
  proc: QemuProcess;
  /** Set when the guest asked to power off: the monitor's EOF is then a shutdown, not a crash. */
  gotShutdown: boolean;
  /** reboot(): the guest's power-off is turned into a reset (libvirt's fake reboot). */
  fakeReboot: boolean;
  /** Suppresses STOP/RESUME bookkeeping while the start sequence runs its own `cont`. */
  starting: boolean;
  pausedReason: number;
  runningReason: number;
  /** Resolvers waiting for DEVICE_DELETED of an alias. */
  deviceWaiters: Map<string, Array<() => void>>;
  /** Block node index per disk target, kept across hotplugs. */
  diskNodeIndexes: Map<string, number>;
}

export interface QemuDomainObj {
  /** The live definition while active, the persistent one otherwise. */
  def: DomainDef;
  /** The persistent definition kept aside while the domain runs. */
  newDef: DomainDef | null;
  id: number;
  state: number;
  reason: number;
  persistent: boolean;
  autostart: boolean;
  /** This process drives the running QEMU. */
  run: Runtime | null;
  /** The lock that says so. */
  lock: PidLock | null;
  /** Active under another process, which holds the lock (its pid). */
  foreignPid: number | null;
  /** Serialises jobs on this domain (libvirt's job lock, within one process). */
  job: Promise<unknown>;
}

const XML_FORMAT_FLAGS = VIR_DOMAIN_XML_SECURE;
const XML_FORMAT_INACTIVE = VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE;
/** How long a reconnect waits for a running QEMU's monitor. */
const RECONNECT_MONITOR_TIMEOUT_MS = 5_000;

/**
 * Runs `fn` with the process kept alive: monitors and QEMU children are unreferenced so that
 * running domains never hold a script open, so an API call in flight must hold it itself.
 */
export async function keepAlive<T>(fn: () => Promise<T>): Promise<T> {
  const hold = setInterval(() => {}, 1 << 30);
  try {
    return await fn();
  } finally {
    clearInterval(hold);
  }
}

export function isActive(obj: QemuDomainObj): boolean {
  return obj.id !== -1;
}

/** virDomainObjCheckActive */
export function checkActive(obj: QemuDomainObj): void {
  if (!isActive(obj)) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'domain is not running');
}

export class QemuDriverState extends DriverEventState {
  readonly domains = new Map<string, QemuDomainObj>();
  private readonly byName = new Map<string, QemuDomainObj>();
  private nextID = 1;

  /** qemu.conf's defaults for the driver's directories (nvram and TLS directories, ...). */
  readonly config: QemuDriverConfig;

  /** The capabilities of another emulator a definition names (the connection's cache). */
  emulatorCaps?: (binary: string) => Promise<QemuCaps>;

  constructor(
    readonly dirs: QemuDirs,
    readonly caps: QemuCaps,
    readonly privileged: boolean,
    /** Where /sys and /dev/vfio are: '' on the host, a fake tree in tests. */
    readonly kernelRoot = '',
  ) {
    super();
    this.config = hostDriverConfig(dirs.libDir, dirs.tlsDir);
  }

  /** The host PCI devices domains are given (one manager per kernel root in the process). */
  get hostdevs(): HostdevManager {
    return hostdevManager(this.kernelRoot);
  }

  // ---- loading ----

  /** qemuStateInitialize: persistent definitions, then running domains from their status files. */
  async load(): Promise<void> {
    for (const dir of [this.dirs.configDir, this.dirs.stateDir, nvramDirOf(this.config)]) await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const autostartDir = path.join(this.dirs.configDir, 'autostart');
    for (const file of (await fsp.readdir(this.dirs.configDir)).sort()) {
      if (!file.endsWith('.xml')) continue;
      let def: DomainDef;
      try {
        def = qemuParseDomainXML(await fsp.readFile(path.join(this.dirs.configDir, file), 'utf8'), this.caps, undefined, this.config);
      } catch {
        continue; // libvirt skips a definition it cannot load and goes on with the others.
      }
      const obj = this.insert(def);
      obj.persistent = true;
      obj.autostart = fs.existsSync(path.join(autostartDir, file));
    }
    this.hostdevs.forgetScope(this.dirs.configDir);
    for (const file of (await fsp.readdir(this.dirs.stateDir)).sort()) {
      if (file.endsWith('.status')) await this.reconnect(path.join(this.dirs.stateDir, file));
    }
    await this.autostart();
  }

  /**
   * qemuAutostartDomains, done once per state directory as libvirt's virDriverShouldAutostart
   * does (a marker file; /run is empty after a host boot): autostart domains that are not
   * running start. One that fails to start is left shut off, as libvirt logs and goes on.
   */
  private async autostart(): Promise<void> {
    try {
      await fsp.writeFile(path.join(this.dirs.stateDir, 'autostarted'), '', { flag: 'wx' });
    } catch {
      return; // done before
    }
    for (const obj of [...this.domains.values()]) {
      if (!obj.autostart || isActive(obj)) continue;
      await this.runJob(obj, () => this.start(obj, false)).catch(() => {});
    }
  }

  private readStatus(file: string): StatusFile | null {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as StatusFile;
    } catch {
      return null;
    }
  }

  /** qemuProcessReconnect: one status file. */
  private async reconnect(file: string): Promise<void> {
    const status = this.readStatus(file);
    if (status === null) return;
    let live: DomainDef;
    try {
      // As libvirt reads its status XML: the live state as it was written, not validated again.
      live = qemuParseDomainXML(status.xml, this.caps, VIR_DOMAIN_DEF_PARSE_STATUS | VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE, this.config);
    } catch {
      return; // not ours to understand: left alone rather than guessed at
    }
    let obj = this.domains.get(live.uuid);
    if (!obj) {
      obj = this.insert(live);
      obj.persistent = false;
    }
    if (obj.persistent) obj.newDef = obj.def;
    obj.def = live;
    obj.id = status.id;
    obj.state = status.state;
    obj.reason = status.reason;
    this.nextID = Math.max(this.nextID, status.id + 1);
    // virHostdevUpdateActiveDomainDevices: its host devices are its own again, so another
    // domain cannot take them, and they go back to the host when it stops.
    this.hostdevs.adoptDomainDevices(live.name, pciHostdevRequests(live), this.dirs.configDir, status.hostdevsDetached);
    this.hostdevs.adoptUsbDevices(live.name, usbHostdevs(live.devices.hostdevs), this.dirs.configDir);
    await this.takeOver(obj, status);
  }

  /**
   * Drives an active domain found on disk: takes its lock and connects to its monitor. When
   * another live process holds the lock, the domain is shown as that process last wrote it. When
   * QEMU is gone, it died while nobody watched: the domain stops as crashed.
   */
  private async takeOver(obj: QemuDomainObj, status: StatusFile): Promise<void> {
    const lock = PidLock.acquire(this.lockPath(obj));
    if (!(lock instanceof PidLock)) {
      obj.foreignPid = lock.pid;
      return;
    }
    obj.lock = lock;
    obj.foreignPid = null;
    const proc = new QemuProcess(status, null);
    obj.run = this.newRuntime(proc, new Map(status.diskNodeIndexes ?? []));
    if (proc.isAlive()) {
      try {
        proc.monitor = await QemuMonitor.open(status.monitorPath, {
          timeoutMs: RECONNECT_MONITOR_TIMEOUT_MS,
          domainName: obj.def.name,
        });
        proc.monitor.unref();
        this.watch(obj, obj.run);
        const reply = (await proc.monitor.command('query-status')) as { running?: boolean; status?: string };
        this.syncRunState(obj, reply.running === true, reply.status);
        await this.writeStatus(obj);
        return;
      } catch {
        // A QEMU whose monitor does not answer cannot be driven: libvirt kills it.
        await this.stopProcess(obj, VIR_DOMAIN_SHUTOFF_FAILED, VIR_DOMAIN_EVENT_STOPPED_FAILED);
        return;
      }
    }
    await this.stopProcess(obj, VIR_DOMAIN_SHUTOFF_CRASHED, VIR_DOMAIN_EVENT_STOPPED_FAILED);
  }

  /** After a reconnect: QEMU's own run state wins over what the status file said. */
  private syncRunState(obj: QemuDomainObj, running: boolean, status: string | undefined): void {
    if (running && obj.state !== VIR_DOMAIN_RUNNING) {
      obj.state = VIR_DOMAIN_RUNNING;
      obj.reason = VIR_DOMAIN_RUNNING_UNKNOWN;
    } else if (!running && obj.state === VIR_DOMAIN_RUNNING) {
      obj.state = VIR_DOMAIN_PAUSED;
      obj.reason = status === 'shutdown' ? VIR_DOMAIN_PAUSED_UNKNOWN : VIR_DOMAIN_PAUSED_UNKNOWN;
    }
  }

  /**
   * Before a job on an active domain: a domain shown from another process's status file is taken
   * over once that process has let go of it, or refused while it still holds it.
   */
  async ensureDriven(obj: QemuDomainObj): Promise<void> {
    if (obj.foreignPid === null) return;
    const file = this.statusPath(obj);
    const lock = PidLock.acquire(this.lockPath(obj));
    if (!(lock instanceof PidLock)) {
      obj.foreignPid = lock.pid;
      throw virError(
        VIR_ERR_OPERATION_TIMEOUT,
        VIR_FROM_QEMU,
        `cannot acquire state change lock (held by pid ${lock.pid})`,
      );
    }
    lock.release();
    const status = this.readStatus(file);
    if (status === null) {
      // The other process stopped it meanwhile.
      obj.foreignPid = null;
      this.markInactive(obj, VIR_DOMAIN_SHUTOFF_DESTROYED);
      return;
    }
    await this.takeOver(obj, status);
  }

  /** Lets go of every running domain (the last connection closed): QEMU keeps running. */
  release(): void {
    for (const obj of this.domains.values()) {
      if (obj.run) {
        obj.run.proc.stopping = true;
        obj.run.proc.monitor?.close();
        obj.run = null;
      }
      obj.lock?.release();
      obj.lock = null;
    }
  }

  // ---- the list ----

  private insert(def: DomainDef): QemuDomainObj {
    const obj: QemuDomainObj = {
      def,
      newDef: null,
      id: -1,
      state: VIR_DOMAIN_SHUTOFF,
      reason: 0,
      persistent: false,
      autostart: false,
      run: null,
      lock: null,
      foreignPid: null,
      job: Promise.resolve(),
    };
    this.domains.set(def.uuid, obj);
    this.byName.set(def.name, obj);
    return obj;
  }

  private remove(obj: QemuDomainObj): void {
    this.domains.delete(obj.def.uuid);
    if (this.byName.get(obj.def.name) === obj) this.byName.delete(obj.def.name);
  }

  refOf(obj: QemuDomainObj): DomainRef {
    return { name: obj.def.name, uuid: obj.def.uuid, id: obj.id };
  }

  /** The domain a virDomainPtr names (by uuid, as libvirt's qemuDomainObjFromDomain). */
  fromRef(ref: DomainRef): QemuDomainObj {
    const obj = this.domains.get(ref.uuid);
    if (!obj) {
      throw virError(VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, `no domain with matching uuid '${ref.uuid}' (${ref.name})`);
    }
    return obj;
  }

  findByName(name: string): QemuDomainObj | undefined {
    return this.byName.get(name);
  }

  findByID(id: number): QemuDomainObj | undefined {
    for (const obj of this.domains.values()) if (obj.id === id && id !== -1) return obj;
    return undefined;
  }

  /** Runs `fn` after every earlier job on `obj` has finished. */
  runJob<T>(obj: QemuDomainObj, fn: () => Promise<T>): Promise<T> {
    const result = obj.job.then(() => keepAlive(fn), () => keepAlive(fn));
    obj.job = result.catch(() => {});
    return result;
  }

  // ---- files ----

  private configPath(name: string): string {
    return path.join(this.dirs.configDir, `${name}.xml`);
  }

  private autostartPath(name: string): string {
    return path.join(this.dirs.configDir, 'autostart', `${name}.xml`);
  }

  private statusPath(obj: QemuDomainObj): string {
    return path.join(this.dirs.stateDir, `${obj.def.name}.status`);
  }

  private lockPath(obj: QemuDomainObj): string {
    return path.join(this.dirs.stateDir, `${obj.def.uuid}.lock`);
  }

  private async writeConfig(def: DomainDef): Promise<void> {
    await fsp.mkdir(this.dirs.configDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.configPath(def.name), formatDomainXML(def, XML_FORMAT_INACTIVE));
  }

  async writeStatus(obj: QemuDomainObj): Promise<void> {
    if (!obj.run) return;
    const status: StatusFile = {
      ...obj.run.proc.identity,
      id: obj.id,
      state: obj.state,
      reason: obj.reason,
      persistent: obj.persistent,
      xml: formatDomainXML(obj.def, XML_FORMAT_FLAGS, { id: obj.id }),
      diskNodeIndexes: [...obj.run.diskNodeIndexes],
      hostdevsDetached: pciHostdevRequests(obj.def)
        .map((h) => formatPciAddress(h.address))
        .filter((name) => this.hostdevs.detachedByUs(name)),
    };
    await writeFileAtomic(this.statusPath(obj), JSON.stringify(status));
  }

  // ---- define / undefine ----

  /**
   * virDomainObjListAdd for a persistent definition: replaces the definition with the same uuid
   * (kept aside while it runs) or adds a new one; the file is written before memory changes.
   */
  async define(def: DomainDef): Promise<{ obj: QemuDomainObj; replaced: boolean }> {
    const existing = this.domains.get(def.uuid);
    this.checkNameAndUuid(def, existing);
    await this.writeConfig(def);
    if (existing) {
      if (isActive(existing)) existing.newDef = def;
      else existing.def = def;
      existing.persistent = true;
      this.emitLifecycle(existing, VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_UPDATED);
      return { obj: existing, replaced: true };
    }
    const obj = this.insert(def);
    obj.persistent = true;
    this.emitLifecycle(obj, VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED);
    return { obj, replaced: false };
  }

  private checkNameAndUuid(def: DomainDef, existing: QemuDomainObj | undefined): void {
    if (existing && existing.def.name !== def.name) {
      throw virError(
        VIR_ERR_OPERATION_FAILED,
        VIR_FROM_DOMAIN,
        `domain '${existing.def.name}' is already defined with uuid ${existing.def.uuid}`,
      );
    }
    const byName = this.byName.get(def.name);
    if (!existing && byName) {
      throw virError(VIR_ERR_OPERATION_FAILED, VIR_FROM_DOMAIN, `domain '${byName.def.name}' already exists with uuid ${byName.def.uuid}`);
    }
  }

  /** A changed persistent definition (device attach/detach with AFFECT_CONFIG): file, then memory. */
  async replaceConfig(obj: QemuDomainObj, def: DomainDef): Promise<void> {
    await this.writeConfig(def);
    if (obj.newDef) obj.newDef = def;
    else obj.def = def;
  }

  /** qemuDomainUndefineFlags: the files go first; a running domain becomes transient. */
  async undefine(obj: QemuDomainObj, flags = 0): Promise<void> {
    if (!obj.persistent) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, 'cannot undefine transient domain');
    // The variable store a UEFI domain accumulated goes with it only when asked to.
    const nvram = nvramPathOf(obj.def, this.config);
    if (nvram !== undefined && fs.existsSync(nvram)) {
      if (flags & VIR_DOMAIN_UNDEFINE_NVRAM) {
        await fsp.unlink(nvram).catch((e: NodeJS.ErrnoException) => {
          throw fileSystemError(`failed to remove nvram: ${nvram}`, e);
        });
      } else if (!(flags & VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)) {
        throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, 'cannot undefine domain with nvram');
      }
    }
    const name = (obj.newDef ?? obj.def).name;
    await fsp.rm(this.autostartPath(name), { force: true });
    await fsp.rm(this.configPath(name), { force: true });
    obj.autostart = false;
    this.emitLifecycle(obj, VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
    if (isActive(obj)) {
      obj.persistent = false;
      obj.newDef = null;
      await this.writeStatus(obj);
    } else {
      this.remove(obj);
    }
  }

  async setAutostart(obj: QemuDomainObj, autostart: boolean): Promise<void> {
    if (!obj.persistent) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, 'cannot set autostart for transient domain');
    if (obj.autostart === autostart) return;
    const link = this.autostartPath(obj.def.name);
    if (autostart) {
      await fsp.mkdir(path.dirname(link), { recursive: true, mode: 0o700 });
      await fsp.rm(link, { force: true });
      await fsp.symlink(this.configPath(obj.def.name), link);
    } else {
      await fsp.rm(link, { force: true });
    }
    obj.autostart = autostart;
  }

  // ---- start / stop ----

  /** createXML: a transient domain that starts now (or joins the inactive one with its uuid). */
  async createTransient(def: DomainDef, paused: boolean, resetNvram = false): Promise<QemuDomainObj> {
    let obj = this.domains.get(def.uuid);
    this.checkNameAndUuid(def, obj);
    if (obj && isActive(obj)) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, `domain '${obj.def.name}' is already active`);
    const added = !obj;
    obj ??= this.insert(def);
    const target = obj;
    try {
      await this.runJob(target, () => this.start(target, paused, def, resetNvram));
    } catch (err) {
      if (added) this.remove(target);
      throw err;
    }
    return target;
  }

  /**
   * qemuProcessStart: lock, id, live definition, QEMU launched stopped, `cont` unless paused,
   * status file. A failure leaves the domain as it was.
   */
  async start(obj: QemuDomainObj, paused: boolean, liveInput?: DomainDef, resetNvram = false): Promise<void> {
    if (isActive(obj)) {
      throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'domain is already running');
    }
    const lock = PidLock.acquire(this.lockPath(obj));
    if (!(lock instanceof PidLock)) {
      throw virError(VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU, `cannot acquire state change lock (held by pid ${lock.pid})`);
    }
    const id = this.nextID++;
    const live = structuredClone(liveInput ?? obj.def);
    qemuAssignDeviceAliases(live);
    const diskNodeIndexes = new Map<string, number>();
    // qemuProcessPrepareHost: host PCI devices detached to vfio-pci and marked as this domain's
    // before QEMU opens them; every failure from here on gives them back.
    const hostdevs = pciHostdevRequests(live);
    try {
      await this.hostdevs.checkPassthroughSupport(hostdevs);
      await this.hostdevs.prepareDomainDevices(live.name, hostdevs, this.dirs.configDir, this.dirs.hostdevStateDir);
      for (const dev of [...live.devices.interfaces, ...live.devices.hostdevs]) assignVfioBackend(dev);
    } catch (err) {
      lock.release();
      throw err;
    }
    // Host USB devices are found (by their IDs, into the live definition) and marked as this
    // domain's before the command line names their nodes.
    const usbDevices = usbHostdevs(live.devices.hostdevs);
    try {
      await this.hostdevs.prepareUsbDevices(live.name, usbDevices, this.dirs.configDir, true);
    } catch (err) {
      await this.hostdevs.releaseDomainDevices(live.name, hostdevs, this.dirs.configDir, this.dirs.hostdevStateDir);
      lock.release();
      throw err;
    }
    let proc: QemuProcess;
    try {
      // qemuProcessPrepareDomain / qemuProcessPrepareHost: the firmware, and its variable store.
      await qemuFirmwareFillDomain(live, { dirs: firmwareDescriptorDirs(this.privileged), nvramDir: nvramDirOf(this.config), resetNvram });
      await qemuPrepareNVRAM(live, resetNvram);
      proc = await launchQemu({
        diskNodeIndexes,
        id,
        def: live,
        caps: this.caps,
        dirs: { libDir: this.dirs.libDir, logDir: this.dirs.logDir, config: this.config },
        privileged: this.privileged,
        monitorTimeoutMs: 30_000,
      });
    } catch (err) {
      await this.hostdevs.releaseUsbDevices(live.name, usbDevices, this.dirs.configDir);
      await this.hostdevs.releaseDomainDevices(live.name, hostdevs, this.dirs.configDir, this.dirs.hostdevStateDir);
      lock.release();
      throw err;
    }
    const run = this.newRuntime(proc, diskNodeIndexes);
    run.starting = true;
    obj.lock = lock;
    obj.run = run;
    if (obj.persistent && !liveInput) obj.newDef = obj.def;
    else if (obj.persistent && liveInput) obj.newDef = obj.def;
    obj.def = live;
    obj.id = id;
    obj.state = VIR_DOMAIN_PAUSED;
    obj.reason = VIR_DOMAIN_PAUSED_USER;
    this.watch(obj, run);
    try {
      await this.fillPtyPaths(obj, proc.monitor!);
      await setGraphicsPasswords(obj.def, proc.monitor!);
      await setBalloonStatsPeriod(obj.def, proc.monitor!);
      if (!paused) await proc.monitor!.command('cont');
      run.starting = false;
      obj.state = paused ? VIR_DOMAIN_PAUSED : VIR_DOMAIN_RUNNING;
      obj.reason = paused ? VIR_DOMAIN_PAUSED_USER : VIR_DOMAIN_RUNNING_BOOTED;
      await this.writeStatus(obj);
    } catch (err) {
      // QEMU that dies after its monitor came up (a bad -device, say) says why in the log.
      const died = proc.monitor?.isOpen === false || !proc.isAlive();
      await proc.waitExit(died ? 1000 : 0);
      const tail = died ? await logTail(proc.identity.logPath, proc.logOffset) : '';
      await this.stopProcess(obj, VIR_DOMAIN_SHUTOFF_FAILED, null);
      if (died) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, `qemu unexpectedly closed the monitor: ${tail}`);
      throw err;
    }
    this.emitLifecycle(obj, VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED);
    if (paused) this.emitLifecycle(obj, VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
  }

  /** qemuProcessRefreshChannelState / pty lookup: where QEMU put each pty chardev. */
  private async fillPtyPaths(obj: QemuDomainObj, monitor: QemuMonitor): Promise<void> {
    const chrs = [...obj.def.devices.serials, ...obj.def.devices.consoles, ...obj.def.devices.parallels, ...obj.def.devices.channels];
    if (!chrs.some((c) => c.type === 'pty')) return;
    const list = (await monitor.command('query-chardev')) as Array<{ label: string; filename: string }>;
    const ptys = new Map(list.filter((c) => c.filename.startsWith('pty:')).map((c) => [c.label, c.filename.slice(4)]));
    for (const chr of chrs) {
      if (chr.type !== 'pty' || !chr.info.alias) continue;
      const tty = ptys.get(`char${chr.info.alias}`);
      if (tty === undefined) continue;
      const source = chr.sources[0];
      if (source) source.attrs.set('path', tty);
      else chr.sources.push({ name: 'source', attrs: new Map([['path', tty]]), children: [], line: 0 });
    }
    // A console that shares the first serial port shows the same pty.
    const serialTty = obj.def.devices.serials[0]?.sources[0]?.attrs.get('path');
    for (const con of obj.def.devices.consoles) {
      if (con.type === 'pty' && serialTty && !con.sources[0]?.attrs.get('path')) {
        if (con.sources[0]) con.sources[0].attrs.set('path', serialTty);
        else con.sources.push({ name: 'source', attrs: new Map([['path', serialTty]]), children: [], line: 0 });
      }
      if (con.type === 'pty') con.tty = con.sources[0]?.attrs.get('path');
    }
  }

  /** destroy: SIGTERM (then SIGKILL unless graceful), then the stop. */
  async destroy(obj: QemuDomainObj, graceful: boolean): Promise<void> {
    checkActive(obj);
    await this.ensureDriven(obj);
    const run = obj.run;
    if (!run) return;
    run.proc.stopping = true;
    await run.proc.kill(graceful).catch((err) => {
      run.proc.stopping = false;
      throw err;
    });
    await this.stopProcess(obj, VIR_DOMAIN_SHUTOFF_DESTROYED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
  }

  /**
   * qemuProcessStop: QEMU gone for good (killed if it still runs), log line, files removed, lock
   * released, the persistent definition back in place, the stop event; a transient domain leaves
   * the list.
   */
  async stopProcess(obj: QemuDomainObj, reason: number, eventDetail: number | null): Promise<void> {
    const run = obj.run;
    if (!run) return;
    run.proc.stopping = true;
    run.proc.monitor?.close();
    await run.proc.kill(false).catch(() => {});
    await cleanupQemu(run.proc.identity, reason);
    await this.hostdevs.releaseDomainDevices(obj.def.name, pciHostdevRequests(obj.def), this.dirs.configDir, this.dirs.hostdevStateDir);
    await this.hostdevs.releaseUsbDevices(obj.def.name, usbHostdevs(obj.def.devices.hostdevs), this.dirs.configDir);
    await fsp.rm(this.statusPath(obj), { force: true });
    for (const waiters of run.deviceWaiters.values()) for (const w of waiters) w();
    obj.run = null;
    obj.lock?.release();
    obj.lock = null;
    this.markInactive(obj, reason);
    if (eventDetail !== null) this.emitLifecycle(obj, VIR_DOMAIN_EVENT_STOPPED, eventDetail);
    if (!obj.persistent) this.remove(obj);
  }

  private markInactive(obj: QemuDomainObj, reason: number): void {
    obj.id = -1;
    obj.state = VIR_DOMAIN_SHUTOFF;
    obj.reason = reason;
    if (obj.newDef) {
      obj.def = obj.newDef;
      obj.newDef = null;
    }
    if (!obj.persistent && obj.run === null && obj.foreignPid === null) this.remove(obj);
  }

  // ---- guest control over QMP ----

  /** The monitor of a running domain this process drives. */
  async monitorOf(obj: QemuDomainObj): Promise<QemuMonitor> {
    checkActive(obj);
    await this.ensureDriven(obj);
    const monitor = obj.run?.proc.monitor;
    if (!monitor) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, 'monitor must not be NULL');
    return monitor;
  }

  async suspend(obj: QemuDomainObj): Promise<void> {
    const monitor = await this.monitorOf(obj);
    if (obj.state === VIR_DOMAIN_PAUSED) return;
    obj.run!.pausedReason = VIR_DOMAIN_PAUSED_USER;
    await monitor.command('stop');
    this.onStop(obj);
  }

  async resume(obj: QemuDomainObj): Promise<void> {
    const monitor = await this.monitorOf(obj);
    if (obj.state === VIR_DOMAIN_RUNNING) {
      throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, 'domain is already running');
    }
    obj.run!.runningReason = VIR_DOMAIN_RUNNING_UNPAUSED;
    await monitor.command('cont');
    this.onResume(obj);
  }

  /** ACPI power button: the guest decides; its power-off arrives later as a SHUTDOWN event. */
  async shutdown(obj: QemuDomainObj): Promise<void> {
    const monitor = await this.monitorOf(obj);
    obj.run!.fakeReboot = false;
    await monitor.command('system_powerdown');
  }

  /** reboot: the guest powers off through ACPI and virtnode resets it instead of stopping it. */
  async reboot(obj: QemuDomainObj): Promise<void> {
    const monitor = await this.monitorOf(obj);
    obj.run!.fakeReboot = true;
    await monitor.command('system_powerdown');
  }

  async reset(obj: QemuDomainObj): Promise<void> {
    const monitor = await this.monitorOf(obj);
    await monitor.command('system_reset');
  }

  // ---- QMP events ----

  private newRuntime(proc: QemuProcess, diskNodeIndexes: Map<string, number>): Runtime {
    return {
      diskNodeIndexes,
      proc,
      gotShutdown: false,
      fakeReboot: false,
      starting: false,
      pausedReason: VIR_DOMAIN_PAUSED_UNKNOWN,
      runningReason: VIR_DOMAIN_RUNNING_UNPAUSED,
      deviceWaiters: new Map(),
    };
  }

  private watch(obj: QemuDomainObj, run: Runtime): void {
    const monitor = run.proc.monitor!;
    monitor.addEventListener((ev) => this.onMonitorEvent(obj, run, ev));
    monitor.addCloseListener(() => {
      if (run.proc.stopping || obj.run !== run) return;
      // QEMU went away on its own: a guest power-off (we kill it then) or a crash.
      const shutdown = run.gotShutdown;
      void this.runJob(obj, async () => {
        if (obj.run !== run) return;
        await this.stopProcess(
          obj,
          shutdown ? VIR_DOMAIN_SHUTOFF_SHUTDOWN : VIR_DOMAIN_SHUTOFF_CRASHED,
          shutdown ? VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN : VIR_DOMAIN_EVENT_STOPPED_FAILED,
        );
      });
    });
  }

  private onMonitorEvent(obj: QemuDomainObj, run: Runtime, ev: RawMonitorEvent): void {
    if (obj.run !== run) return;
    this.forwardQemuEvent(obj, ev);
    switch (ev.event) {
      case 'STOP':
        if (!run.starting) this.onStop(obj);
        break;
      case 'RESUME':
        if (!run.starting) this.onResume(obj);
        break;
      case 'RESET':
        this.emit({ eventID: VIR_DOMAIN_EVENT_ID_REBOOT, dom: this.refOf(obj), args: [] });
        break;
      case 'SHUTDOWN':
        // QEMU reports its own SIGTERM as a host shutdown: a destroy in progress, not news.
        if (!run.proc.stopping) this.onGuestShutdown(obj, run, ev.data?.guest === true);
        break;
      case 'DEVICE_DELETED':
        this.onDeviceDeleted(obj, run, typeof ev.data?.device === 'string' ? ev.data.device : null);
        break;
    }
  }

  private onStop(obj: QemuDomainObj): void {
    if (obj.state !== VIR_DOMAIN_RUNNING || !obj.run) return;
    obj.state = VIR_DOMAIN_PAUSED;
    obj.reason = obj.run.pausedReason;
    obj.run.pausedReason = VIR_DOMAIN_PAUSED_UNKNOWN;
    void this.writeStatus(obj);
    this.emitLifecycle(obj, VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
  }

  private onResume(obj: QemuDomainObj): void {
    if (obj.state !== VIR_DOMAIN_PAUSED || !obj.run) return;
    obj.state = VIR_DOMAIN_RUNNING;
    obj.reason = obj.run.runningReason;
    obj.run.runningReason = VIR_DOMAIN_RUNNING_UNPAUSED;
    void this.writeStatus(obj);
    this.emitLifecycle(obj, VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED);
  }

  /**
   * qemuProcessHandleShutdown + qemuProcessShutdownOrReboot: QEMU (run with -no-shutdown) has
   * stopped the CPUs after the guest powered off. A reboot request or on_poweroff='restart'
   * resets and resumes it; otherwise QEMU is killed and the domain stops with reason shutdown.
   */
  private onGuestShutdown(obj: QemuDomainObj, run: Runtime, byGuest: boolean): void {
    const restart = run.fakeReboot || obj.def.onPoweroff === 'restart';
    obj.state = VIR_DOMAIN_SHUTDOWN;
    obj.reason = VIR_DOMAIN_SHUTDOWN_UNKNOWN;
    this.emitLifecycle(obj, VIR_DOMAIN_EVENT_SHUTDOWN, byGuest ? VIR_DOMAIN_EVENT_SHUTDOWN_GUEST : VIR_DOMAIN_EVENT_SHUTDOWN_HOST);
    void this.runJob(obj, async () => {
      if (obj.run !== run) return;
      if (restart) {
        run.fakeReboot = false;
        const monitor = run.proc.monitor!;
        await monitor.command('system_reset');
        obj.state = VIR_DOMAIN_PAUSED;
        run.runningReason = VIR_DOMAIN_RUNNING_BOOTED;
        await monitor.command('cont');
        this.onResume(obj);
        return;
      }
      run.gotShutdown = true;
      await this.stopProcess(obj, VIR_DOMAIN_SHUTOFF_SHUTDOWN, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
    }).catch(() => {});
  }

  private onDeviceDeleted(obj: QemuDomainObj, run: Runtime, alias: string | null): void {
    if (alias === null) return;
    this.removeLiveDevice?.(obj, alias);
    for (const w of run.deviceWaiters.get(alias) ?? []) w();
    run.deviceWaiters.delete(alias);
    this.emit({ eventID: VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, dom: this.refOf(obj), args: [alias] });
  }

  /** Set by the hotplug code: forgets a device QEMU has deleted. */
  removeLiveDevice?: (obj: QemuDomainObj, alias: string) => void;

  /** Stops waiting for `alias` (device_del itself failed). */
  cancelDeviceWait(obj: QemuDomainObj, alias: string): void {
    for (const w of obj.run?.deviceWaiters.get(alias) ?? []) w();
    obj.run?.deviceWaiters.delete(alias);
  }

  /** Resolves when QEMU reports `alias` deleted, or false after `ms`. */
  waitDeviceDeleted(obj: QemuDomainObj, alias: string, ms: number): Promise<boolean> {
    const run = obj.run;
    if (!run) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      const list = run.deviceWaiters.get(alias) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      run.deviceWaiters.set(alias, list);
    });
  }

  // ---- events out ----

  emit(ev: DomainEvent): void {
    this.emitDomain(ev);
  }

  emitLifecycle(obj: QemuDomainObj, event: number, detail: number): void {
    this.emit({ eventID: VIR_DOMAIN_EVENT_ID_LIFECYCLE, dom: this.refOf(obj), args: [event, detail] });
  }

  private forwardQemuEvent(obj: QemuDomainObj, ev: RawMonitorEvent): void {
    if (!this.hasQemuListeners()) return;
    this.emitQemu({
      dom: this.refOf(obj),
      event: ev.event,
      seconds: ev.timestamp.seconds,
      micros: ev.timestamp.microseconds,
      details: ev.data === undefined ? null : JSON.stringify(ev.data),
    });
  }
}
