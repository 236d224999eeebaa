// Probing a real QEMU binary and caching the result on disk, per binary (path, size, mtime), as
// libvirt's capabilities cache does (virQEMUCapsCacheLookup / qemuProcessQMP*). A cache entry is
// JSON written atomically: temp file, fsync, rename, fsync of the directory.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, VIR_FROM_QEMU, VirError, virError } from '../../error';
import { writeFileAtomic } from '../../util/atomic-file';
import { packageVersion } from '../../version';
import { OpenProbePeer, ProbePeer, probeQemuCaps, QemuAccel, QemuCaps, QemuCapsData } from './capabilities';
import { QemuMonitor } from './monitor';

/** Bumped whenever the prober's output changes shape or meaning; older entries are re-probed. */
const CACHE_FORMAT = 1;
const PROBE_TIMEOUT_MS = 30_000;

interface CacheEntry {
  format: number;
  virtnode: string;
  binary: string;
  size: number;
  mtimeMs: number;
  caps: QemuCapsData;
}

export interface ProbeQemuBinaryOptions {
  /** Directory for cache entries; created when missing. */
  cacheDir: string;
  /** Starts a probe process; defaults to spawnProbeProcess (tests count calls through it). */
  openPeer?: (binary: string, accel: QemuAccel) => Promise<ProbePeer>;
}

function systemError(message: string, err: NodeJS.ErrnoException): VirError {
  const full = `${message}: ${describeErrno(err)}`;
  return new VirError({ code: VIR_ERR_SYSTEM_ERROR, domain: VIR_FROM_QEMU, message: full, str1: full, int1: err.errno ?? -1 });
}

/** strerror text of a node errno error ("ENOENT: no such file..., stat '/x'" -> "No such file or directory"). */
function describeErrno(err: NodeJS.ErrnoException): string {
  const known: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    ENOTDIR: 'Not a directory',
    ELOOP: 'Too many levels of symbolic links',
  };
  return known[err.code ?? ''] ?? err.message;
}

/**
 * The probe process as libvirt starts it (qemuProcessQMPInit): no config, no devices, QMP only;
 * the accelerator is chosen with -accel rather than the legacy `-machine none,accel=kvm:tcg`.
 */
export function probeArgs(socketPath: string, accel: QemuAccel): string[] {
  return [
    '-S',
    '-no-user-config',
    '-nodefaults',
    '-nographic',
    '-machine',
    'none',
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-accel', 'tcg'] : ['-accel', 'tcg']),
    '-qmp',
    `unix:${socketPath},server=on,wait=off`,
  ];
}

/**
 * Starts `binary` as a probe process and connects the driver's monitor to its QMP socket, giving
 * up as soon as the process exits. close() kills the process and removes its directory. With
 * 'kvm' QEMU falls back to TCG when KVM is unavailable, and the prober learns which it got from
 * query-kvm. The monitor has negotiated capabilities already; the prober's own qmp_capabilities
 * then gets CommandNotFound, which it takes as done.
 */
export async function spawnProbeProcess(binary: string, accel: QemuAccel): Promise<ProbePeer> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'virtnode-qmp-'));
  const socketPath = path.join(dir, 'qmp.monitor');
  const child = spawn(binary, probeArgs(socketPath, accel), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exited = false;
  let exitStatus: string | null = null;
  let spawnError: Error | null = null;
  const gone = new AbortController();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 65536) stderr += chunk;
  });
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = signal ? `signal ${signal}` : `status ${code}`;
      exited = true;
      gone.abort();
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited = true;
      gone.abort();
      resolve();
    });
  });
  // After exit (or a failed spawn), once stderr has been read to its end.
  const stdioClosed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const cleanup = async (): Promise<void> => {
    if (!exited) child.kill('SIGKILL');
    await exit;
    await fsp.rm(dir, { recursive: true, force: true });
  };
  let monitor: QemuMonitor;
  try {
    monitor = await QemuMonitor.open(socketPath, { timeoutMs: PROBE_TIMEOUT_MS, signal: gone.signal });
  } catch (err) {
    const wasRunning = !exited;
    await cleanup();
    await stdioClosed;
    const lastStderrLine = stderr.trim().split('\n').pop();
    const reason = spawnError
      ? (spawnError as Error).message
      : lastStderrLine ||
        (wasRunning ? ((err as VirError).str2 ?? (err as Error).message) : `QEMU exited with ${exitStatus}`);
    throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, `Failed to probe QEMU binary with QMP: ${reason}`);
  }
  return {
    command: (name, args) => monitor.command(name, args),
    close: async () => {
      monitor.close();
      await cleanup();
    },
  };
}

function cachePath(cacheDir: string, binary: string): string {
  return path.join(cacheDir, `${createHash('sha256').update(binary).digest('hex')}.json`);
}

async function readCache(file: string, binary: string, stat: fs.Stats): Promise<QemuCaps | null> {
  let entry: CacheEntry;
  try {
    entry = JSON.parse(await fsp.readFile(file, 'utf8')) as CacheEntry;
  } catch {
    return null;
  }
  const valid =
    entry.format === CACHE_FORMAT &&
    entry.virtnode === packageVersion() &&
    entry.binary === binary &&
    entry.size === stat.size &&
    entry.mtimeMs === stat.mtimeMs;
  return valid ? QemuCaps.fromJSON(entry.caps) : null;
}

async function statBinary(binary: string): Promise<fs.Stats> {
  try {
    return await fsp.stat(binary);
  } catch (err) {
    throw systemError(`Cannot check QEMU binary ${binary}`, err as NodeJS.ErrnoException);
  }
}

/**
 * The capabilities of a QEMU binary: from the cache when the binary's path, size and mtime
 * match the entry, otherwise probed (one or two QEMU processes) and written to the cache.
 */
export async function probeQemuBinary(binary: string, options: ProbeQemuBinaryOptions): Promise<QemuCaps> {
  const absolute = path.resolve(binary);
  const stat = await statBinary(absolute);
  const file = cachePath(options.cacheDir, absolute);
  const cached = await readCache(file, absolute, stat);
  if (cached) return cached;

  const openPeer = options.openPeer ?? spawnProbeProcess;
  const open: OpenProbePeer = (accel) => openPeer(absolute, accel);
  const caps = await probeQemuCaps(open, absolute);

  const entry: CacheEntry = {
    format: CACHE_FORMAT,
    virtnode: packageVersion(),
    binary: absolute,
    size: stat.size,
    mtimeMs: stat.mtimeMs,
    caps: caps.toJSON(),
  };
  await fsp.mkdir(options.cacheDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(entry));
  return caps;
}

/** How long a lookup trusts the previous check of the binary before it stats it again. */
const REVALIDATE_MS = 1000;

/**
 * The in-memory front of the disk cache (libvirt's virFileCache): a lookup costs one stat while
 * the binary is unchanged (at most one a second: a stat through the thread pool costs more than
 * a whole domxml-to-native conversion), and concurrent lookups of one binary share a single probe.
 */
export class QemuCapsCache {
  private readonly entries = new Map<string, { size: number; mtimeMs: number; checkedAt: number; caps: Promise<QemuCaps> }>();

  /** The last absolute path asked for, so that the common lookup resolves no path. */
  private lastBinary: string | undefined;

  constructor(private readonly options: ProbeQemuBinaryOptions) {}

  lookup(binary: string): Promise<QemuCaps> {
    // Checked within the last second: the cached promise itself, with no async hop around it.
    if (binary === this.lastBinary) {
      const recent = this.entries.get(binary);
      if (recent && performance.now() - recent.checkedAt < REVALIDATE_MS) return recent.caps;
    }
    return this.revalidate(binary);
  }

  private async revalidate(binary: string): Promise<QemuCaps> {
    const absolute = path.resolve(binary);
    // An absolute, normalised path names the same file whatever the working directory.
    this.lastBinary = absolute === binary ? binary : undefined;
    const recent = this.entries.get(absolute);
    const now = performance.now();
    if (recent && now - recent.checkedAt < REVALIDATE_MS) return recent.caps;
    const stat = await statBinary(absolute);
    const hit = this.entries.get(absolute);
    if (hit && hit.size === stat.size && hit.mtimeMs === stat.mtimeMs) {
      hit.checkedAt = performance.now();
      return hit.caps;
    }
    const caps = probeQemuBinary(absolute, this.options);
    this.entries.set(absolute, { size: stat.size, mtimeMs: stat.mtimeMs, checkedAt: performance.now(), caps });
    caps.catch(() => {
      if (this.entries.get(absolute)?.caps === caps) this.entries.delete(absolute);
    });
    return caps;
  }
}
