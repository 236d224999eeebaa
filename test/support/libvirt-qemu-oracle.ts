// libvirt 9.0's own QEMU driver (Debian's libvirt-daemon-driver-qemu, driven through python3-libvirt
// on qemu:///embed?root=DIR) as the oracle for virtnode's domainXMLToNative: the same emulator
// probed by both, so the command lines may differ only where virtnode is wrong or where the two
// embed roots differ. One python process answers a whole batch (see libvirt-qemu-oracle.py).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PYTHON, hasPythonLibvirt } from './python-libvirt';

const SCRIPT = path.join(__dirname, 'libvirt-qemu-oracle.py');

/** Where Debian puts libvirt's loadable QEMU driver (package libvirt-daemon-driver-qemu). */
const DRIVER_MODULE_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib'].map((d) => path.join(d, 'libvirt', 'connection-driver', 'libvirt_driver_qemu.so'));

export const QEMU_BINARY = '/usr/bin/qemu-system-x86_64';

/** Why libvirt's QEMU driver cannot serve as oracle here, or null when it can. */
export function libvirtQemuMissing(): string | null {
  if (!hasPythonLibvirt()) return 'needs libvirt-python; install the Debian package python3-libvirt';
  if (!DRIVER_MODULE_DIRS.some((p) => fs.existsSync(p))) return "needs libvirt's QEMU driver; install the Debian package libvirt-daemon-driver-qemu";
  if (!fs.existsSync(QEMU_BINARY)) return `needs ${QEMU_BINARY}; install the Debian package qemu-system-x86`;
  return null;
}

/**
 * Why the oracle cannot answer for whole domains here, or null: libvirt's QEMU driver, root and
 * /dev/net/tun, as libvirt's pretend start opens a tap device for each interface.
 */
export function libvirtOracleHostMissing(): string | null {
  return (
    libvirtQemuMissing() ??
    (process.getuid?.() !== 0 ? "needs root: libvirt's pretend start opens a tap device for each interface" : null) ??
    (fs.existsSync('/dev/net/tun') ? null : 'needs /dev/net/tun, where libvirt opens its tap devices')
  );
}

/** The names a case list (libvirt-oracle-*-agreeing.txt) holds: one a line, '#' comments. */
export function readCaseList(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** A definition of a KVM guest as a plain QEMU (TCG) one where the host has no KVM. */
export function forVirtType(xml: string, accel: string): string {
  return accel === 'kvm' ? xml : xml.replace(/<domain type='kvm'/, "<domain type='qemu'");
}

/** libvirt's answer for one case: a command line, an error, or the signal it crashed with. */
export type OracleResult = { argv: string } | { xml: string } | { error: string; code: number; domain: number } | { crashed: string };

export interface OracleReply {
  results: Map<string, OracleResult>;
  /** Mean ms per call of each timed round. */
  timingRoundsMs?: number[];
  /** libvirt's embed root, for telling its paths from the caller's. */
  root: string;
}

export interface OracleRequest {
  cases?: Array<{ name: string; xml: string }>;
  /** 'argv' (default): domainXMLToNative; 'define': defineXML, then the inactive XML, then undefine. */
  mode?: 'argv' | 'define';
  timing?: { xml: string; rounds: number; calls: number };
}

type OracleLine =
  | { name: string; argv: string }
  | { name: string; xml: string }
  | { name: string; error: string; code: number; domain: number }
  | { timing: { rounds_ms: number[] } }
  | { unavailable: string };

/** libvirt's QEMU driver is installed but cannot run here; the message says why. */
export class LibvirtUnavailable extends Error {}

/**
 * Runs libvirt on a fresh embed root. A case that crashes libvirt is reported as such and the
 * rest go to a new process on the same root, whose capability cache spares it a second probe.
 */
export function runLibvirtOracle(request: OracleRequest): OracleReply {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'libvirt-oracle-'));
  const reply: OracleReply = { results: new Map(), root };
  let pending = request.cases ?? [];
  try {
    for (;;) {
      const result = spawnSync(PYTHON, [SCRIPT], {
        input: JSON.stringify({ root, cases: pending, mode: request.mode, timing: request.timing }),
        encoding: 'utf8',
        maxBuffer: 256 << 20,
      });
      for (const text of result.stdout.split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as OracleLine;
        if ('unavailable' in line) throw new LibvirtUnavailable(line.unavailable);
        if ('timing' in line) reply.timingRoundsMs = line.timing.rounds_ms;
        else if ('argv' in line) reply.results.set(line.name, { argv: line.argv });
        else if ('xml' in line) reply.results.set(line.name, { xml: line.xml });
        else reply.results.set(line.name, { error: line.error, code: line.code, domain: line.domain });
      }
      if (result.status === 0) return reply;
      const crashed = pending.find((c) => !reply.results.has(c.name));
      if (!result.signal || !crashed) throw new Error(`libvirt oracle failed (${result.status ?? result.signal}):\n${result.stderr}`);
      reply.results.set(crashed.name, { crashed: result.signal });
      pending = pending.filter((c) => !reply.results.has(c.name));
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
