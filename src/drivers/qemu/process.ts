// Starting and stopping one QEMU process for a domain (libvirt's qemu_process.c): the per-domain
// directory and master key, the log file, the command line, the spawn with -S, the monitor
// handshake, `cont`, and on the way out the kill, the log's last line and the cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DomainDef } from '../../conf/domain-def';
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, VIR_FROM_QEMU, VirError, virError } from '../../error';
import { processIsSame, processStartTime } from '../../util/proc';
import { packageVersion } from '../../version';
import type { QemuCaps } from './capabilities';
import { buildCommandLine, qemuNamespaceCommandline } from './command';
import { hostDriverConfig, type QemuDriverConfig } from './config';
import type { Command } from '../../util/command';
import { QemuMonitor } from './monitor';
import { makeElement } from './postparse';

/** virDomainShutoffReason names, as the log's `shutting down, reason=` line writes them. */
export const SHUTOFF_REASON_NAMES = ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from snapshot', 'daemon'];

/** How long destroy waits after SIGTERM before SIGKILL (virProcessKillPainfully: 10 s). */
const SIGTERM_GRACE_MS = 10_000;
/** How long it waits after SIGKILL. */
const SIGKILL_GRACE_MS = 5_000;

/** virDomainDefGetShortName: the first 20 characters of the name. */
export function shortName(name: string): string {
  return [...name].slice(0, 20).join('');
}

/** virTimeStringNow: `YYYY-MM-DD HH:MM:SS.mmm+0000` in UTC. */
export function logTimestamp(date = new Date()): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}+0000`;
}

/** The directories a connection keeps its domains' files in. */
export interface ProcessDirs {
  libDir: string;
  logDir: string;
  /** qemu.conf's settings, the driver state's (default: those of a driver whose libDir this is). */
  config?: QemuDriverConfig;
}

/** What a status file records about a running QEMU so that another process can reconnect. */
export interface ProcessIdentity {
  pid: number;
  /** /proc start time of the pid, so that a recycled pid is not taken for QEMU. */
  startTime: string;
  monitorPath: string;
  domainDir: string;
  logPath: string;
}

/**
 * qemuDomainPrepareChannel: a virtio channel on a UNIX socket without a path of its own listens
 * on `<channel dir>/<target name>`, as libvirt fills it in before building the command.
 */
export function pathVirtioChannels(def: DomainDef, channelDir: string): void {
  for (const chr of def.devices.channels) {
    const targetAttr = (key: string) => chr.target?.attrs.find(([k]) => k === key)?.[1];
    const name = targetAttr('name');
    if (chr.type !== 'unix' || targetAttr('type') !== 'virtio' || !name) continue;
    const source = chr.sources[0];
    if (source?.attrs.get('path')) continue;
    const filled = path.join(channelDir, name);
    if (source) source.attrs.set('path', filled);
    else chr.sources.push(makeElement('source', [['mode', 'bind'], ['path', filled]]));
  }
}

/** The start of a log entry: libvirt's `starting up` line with our own version in its place. */
function startingUpLine(caps: QemuCaps): string {
  const v = caps.version;
  const qemuVersion = `${Math.floor(v / 1_000_000) % 1000}.${Math.floor(v / 1000) % 1000}.${v % 1000}${caps.package}`;
  return `${logTimestamp()}: starting up virtnode version: ${packageVersion()}, qemu version: ${qemuVersion}, kernel: ${os.release()}, hostname: ${os.hostname()}\n`;
}

/** Appends to a domain's log file; errors are not fatal to the operation being logged. */
export async function appendLog(logPath: string, text: string): Promise<void> {
  try {
    await fsp.appendFile(logPath, text, { mode: 0o600 });
  } catch {
    // A log that cannot be written must not turn a stop into a failure.
  }
}

/** The last lines QEMU wrote to the log after `offset`, for "process exited" errors. */
export async function logTail(logPath: string, offset: number): Promise<string> {
  try {
    const text = await fsp.readFile(logPath, 'utf8');
    return text.slice(offset).trim();
  } catch {
    return '';
  }
}

/** One QEMU process of a running domain. */
export class QemuProcess {
  monitor: QemuMonitor | null = null;
  /** Set while virtnode itself is taking QEMU down, so the monitor's EOF is expected. */
  stopping = false;
  /** Where QEMU's own output starts in the log file (for start errors). */
  logOffset = 0;
  private exitWaiters: Array<() => void> = [];
  private exited = false;

  constructor(
    readonly identity: ProcessIdentity,
    readonly child: ChildProcess | null,
  ) {
    child?.once('exit', () => this.markExited());
  }

  get pid(): number {
    return this.identity.pid;
  }

  /** Whether the QEMU process is still alive. */
  isAlive(): boolean {
    if (this.exited) return false;
    if (this.child) return this.child.exitCode === null && this.child.signalCode === null;
    return processIsSame(this.identity.pid, this.identity.startTime);
  }

  markExited(): void {
    if (this.exited) return;
    this.exited = true;
    for (const w of this.exitWaiters.splice(0)) w();
  }

  /** Resolves true once the process has exited, false after `ms`. */
  waitExit(ms: number): Promise<boolean> {
    if (!this.isAlive()) {
      this.markExited();
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      let poll: NodeJS.Timeout | undefined;
      const done = (ok: boolean) => {
        clearTimeout(timer);
        clearInterval(poll);
        resolve(ok);
      };
      const timer = setTimeout(() => done(!this.isAlive()), ms);
      this.exitWaiters.push(() => done(true));
      // A QEMU this process did not spawn gives no exit event: its monitor's EOF usually wakes
      // us, and a short poll covers the rest.
      if (!this.child) {
        poll = setInterval(() => {
          if (!this.isAlive()) this.markExited();
        }, 5);
      }
    });
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(this.identity.pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }

  /**
   * virProcessKillPainfully: SIGTERM, then SIGKILL when QEMU outlives the grace period. With
   * `graceful`, only SIGTERM; a QEMU still alive afterwards is an error.
   */
  async kill(graceful: boolean): Promise<void> {
    if (!this.isAlive()) return;
    this.signal('SIGTERM');
    if (await this.waitExit(SIGTERM_GRACE_MS)) return;
    if (graceful) {
      throw new VirError({
        code: VIR_ERR_SYSTEM_ERROR,
        domain: VIR_FROM_QEMU,
        message: `Failed to terminate process ${this.pid} with SIGTERM: Device or resource busy`,
        int1: 16,
      });
    }
    this.signal('SIGKILL');
    if (await this.waitExit(SIGKILL_GRACE_MS)) return;
    throw new VirError({
      code: VIR_ERR_SYSTEM_ERROR,
      domain: VIR_FROM_QEMU,
      message: `Failed to kill process ${this.pid}: Device or resource busy`,
      int1: 16,
    });
  }
}

/** Where a running domain's files live: libvirt's domain-<id>-<short name> directories. */
export function domainPaths(id: number, name: string, dirs: ProcessDirs) {
  const dirName = `domain-${id}-${shortName(name)}`;
  const domainDir = path.join(dirs.libDir, dirName);
  return {
    domainDir,
    monitorPath: path.join(domainDir, 'monitor.sock'),
    channelDir: path.join(dirs.libDir, 'channel', 'target', dirName),
    logPath: path.join(dirs.logDir, `${name}.log`),
  };
}

/**
 * The command line of a running domain, built the same way at start and for every hotplug, so
 * that a device's QEMU options are identical in both.
 */
export function liveCommand(def: DomainDef, caps: QemuCaps, id: number, dirs: ProcessDirs, privileged: boolean, diskNodeIndexes: Map<string, number>): Command {
  const paths = domainPaths(id, def.name, dirs);
  pathVirtioChannels(def, paths.channelDir);
  return buildCommandLine(def, caps, {
    id,
    libDir: paths.domainDir,
    monitorPath: paths.monitorPath,
    hostEnv: { env: process.env, privileged },
    diskNodeIndexes,
    isHostCdrom,
    config: dirs.config ?? hostDriverConfig(dirs.libDir),
    memoryBackingDir: path.join(dirs.libDir, 'ram'),
  });
}

/** Linux's block major for SCSI (and SATA, USB) CD-ROM drives, /dev/srN. */
const SCSI_CDROM_MAJOR = 11;

/**
 * virFileIsCDROM, by device number instead of the CDROM_GET_CAPABILITY ioctl: a block device
 * whose major is the CD-ROM drives'.
 */
function isHostCdrom(devPath: string): boolean {
  try {
    const st = fs.statSync(devPath);
    return st.isBlockDevice() && Math.floor(st.rdev / 256) % 4096 === SCSI_CDROM_MAJOR;
  } catch {
    return false;
  }
}

export interface StartOptions {
  id: number;
  /** The live definition (aliases assigned, a copy of the persistent one). */
  def: DomainDef;
  caps: QemuCaps;
  dirs: ProcessDirs;
  privileged: boolean;
  /** Budget for the monitor to come up (libvirt's 30 s). */
  monitorTimeoutMs: number;
  /** Filled with the block node index of each disk. */
  diskNodeIndexes: Map<string, number>;
}

/**
 * qemuProcessLaunch: prepares the domain directory, writes the log header and the command,
 * spawns QEMU stopped (-S) and connects to its monitor. The caller resumes the CPUs. On any
 * failure QEMU is killed, the directory removed, the log told `reason=failed`, and the error
 * thrown: nothing is left behind.
 */
export async function launchQemu(opts: StartOptions): Promise<QemuProcess> {
  const { def, caps, dirs } = opts;
  // A <transient> disk's overlay is made (and a shared-backing one hotplugged) over QMP once QEMU
  // runs; starting without that would write to the image itself.
  if (def.devices.disks.some((d) => d.transient)) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'transient disks are not supported yet');
  // <reservations managed='yes'> needs the domain's own qemu-pr-helper daemon running first.
  const managedPR = def.devices.disks.some((d) => d.source?.children.some((c) => c.name === 'reservations' && c.attrs.get('managed') === 'yes'));
  if (managedPR) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'managed persistent reservations are not supported yet');
  // An NVMe disk is a VFIO device: the host side (driver binding, locked memory) is not set up yet.
  if (def.devices.disks.some((d) => d.type === 'nvme')) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'NVMe disks are not supported yet');
  // SEV needs /dev/sev, the host's platform data and the certificate/session files written first.
  if (def.launchSecurity) throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU, 'launch security is not supported yet');
  const { domainDir, monitorPath, logPath, channelDir } = domainPaths(opts.id, def.name, dirs);
  const cmd = liveCommand(def, caps, opts.id, dirs, opts.privileged, opts.diskNodeIndexes);

  await fsp.mkdir(dirs.logDir, { recursive: true, mode: 0o700 });
  await fsp.rm(domainDir, { recursive: true, force: true });
  await fsp.mkdir(domainDir, { recursive: true, mode: 0o700 });
  if (def.devices.channels.length > 0) await fsp.mkdir(channelDir, { recursive: true, mode: 0o700 });
  let logOffset = 0;
  let child: ChildProcess | null = null;
  let proc: QemuProcess | null = null;
  try {
    await fsp.writeFile(path.join(domainDir, 'master-key.aes'), randomBytes(32), { mode: 0o600 });
    let header = startingUpLine(caps) + cmd.toString({ linebreaks: true }) + '\n';
    if (qemuNamespaceCommandline(def).args.length > 0) {
      header += `${logTimestamp()}: Domain id=${opts.id} is tainted: custom-argv\n`;
    }
    await appendLog(logPath, header);
    logOffset = (await fsp.stat(logPath)).size;

    // QEMU writes its stderr straight into the log, as virtlogd would have it.
    const logFd = fs.openSync(logPath, 'a');
    try {
      child = spawn(cmd.binary, cmd.args, {
        env: Object.fromEntries(cmd.env),
        stdio: ['ignore', logFd, logFd],
        detached: true,
      });
    } finally {
      fs.closeSync(logFd);
    }
    const spawned = child;
    const spawnError = await new Promise<Error | null>((resolve) => {
      spawned.once('spawn', () => resolve(null));
      spawned.once('error', (err) => resolve(err));
    });
    if (spawnError) {
      const e = spawnError as NodeJS.ErrnoException;
      throw new VirError({
        code: VIR_ERR_SYSTEM_ERROR,
        domain: VIR_FROM_QEMU,
        message: `Cannot find QEMU binary ${cmd.binary}: ${e.code === 'ENOENT' ? 'No such file or directory' : e.message}`,
      });
    }
    const pid = spawned.pid!;
    const identity: ProcessIdentity = { pid, startTime: processStartTime(pid) ?? '', monitorPath, domainDir, logPath };
    proc = new QemuProcess(identity, spawned);
    proc.logOffset = logOffset;

    const exitedEarly = new Promise<'exited'>((resolve) => spawned.once('exit', () => resolve('exited')));
    const opening = QemuMonitor.open(monitorPath, { timeoutMs: opts.monitorTimeoutMs, domainName: def.name });
    // QEMU exiting before the handshake is over (or resetting the half-open monitor as it
    // exits) is reported as libvirt does, with what QEMU wrote to the log.
    const exitedSoon = async (): Promise<boolean> =>
      proc!.waitExit(1000);
    let first: QemuMonitor | 'exited';
    try {
      first = await Promise.race([opening, exitedEarly]);
    } catch (err) {
      if (!(await exitedSoon())) throw err;
      first = 'exited';
    }
    if (first === 'exited') {
      opening.then((m) => m.close(), () => {});
      const tail = await logTail(logPath, logOffset);
      throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, `process exited while connecting to monitor: ${tail}`);
    }
    proc.monitor = first;
    // A running domain must not keep the caller's process alive; its monitor notices an exit.
    first.unref();
    spawned.unref();
    return proc;
  } catch (err) {
    if (proc) {
      proc.stopping = true;
      proc.monitor?.close();
      await proc.kill(false).catch(() => {});
    }
    await fsp.rm(domainDir, { recursive: true, force: true });
    if (logOffset > 0) await appendLog(logPath, `${logTimestamp()}: shutting down, reason=failed\n`);
    throw err;
  }
}

/** qemuProcessStop's file cleanup: the domain directory goes, the log gets its last line. */
export async function cleanupQemu(identity: ProcessIdentity, reason: number): Promise<void> {
  await appendLog(identity.logPath, `${logTimestamp()}: shutting down, reason=${SHUTOFF_REASON_NAMES[reason] ?? 'unknown'}\n`);
  await fsp.rm(identity.domainDir, { recursive: true, force: true });
}
