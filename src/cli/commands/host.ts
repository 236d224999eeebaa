// Host and hypervisor commands: virsh-host.c's subset, plus `version` and `uri`.
//
// JSON shapes (--json):
//   nodeinfo  { model, cpus, mhz, sockets, cores, threads, nodes, memoryKiB }
//   freecell  { cells: [{ cell, freeKiB }], totalKiB }   (one cell with --cellno; none without options)
//   version   { library: { name, version }, api: { type, version }, hypervisor: { type, version },
//               daemon?: string }
import type { ParsedCommand } from '../parse';
import { CommandError, formatKeyValues } from '../output';
import { type Session, optBool, optString } from '../session';
import { exclusive } from './lookup';

function printJSON(session: Session, value: unknown): void {
  session.print(`${JSON.stringify(value, null, 2)}\n`);
}

export async function nodeinfo(session: Session, cmd: ParsedCommand): Promise<void> {
  const conn = await session.conn();
  let info;
  try {
    info = await conn.nodeGetInfo();
  } catch (err) {
    throw new CommandError('failed to get node information', err);
  }
  if (optBool(cmd, 'json')) {
    const { model, cpus, mhz, sockets, cores, threads, nodes, memory } = info;
    return printJSON(session, { model, cpus, mhz, sockets, cores, threads, nodes, memoryKiB: memory });
  }
  session.print(
    formatKeyValues(
      [
        ['CPU model:', info.model],
        ['CPU(s):', String(info.cpus)],
        ['CPU frequency:', `${info.mhz} MHz`],
        ['CPU socket(s):', String(info.sockets)],
        ['Core(s) per socket:', String(info.cores)],
        ['Thread(s) per core:', String(info.threads)],
        ['NUMA cell(s):', String(info.nodes)],
        ['Memory size:', `${info.memory} KiB`],
      ],
      20,
    ),
  );
}

export async function capabilities(session: Session): Promise<void> {
  const conn = await session.conn();
  try {
    session.print(`${await conn.getCapabilities()}\n`);
  } catch (err) {
    throw new CommandError('failed to get capabilities', err);
  }
}

export async function domcapabilities(session: Session, cmd: ParsedCommand): Promise<void> {
  const conn = await session.conn();
  const get = (name: string) => optString(cmd, name) ?? null;
  try {
    session.print(`${await conn.getDomainCapabilities(get('emulatorbin'), get('arch'), get('machine'), get('virttype'), 0)}\n`);
  } catch (err) {
    throw new CommandError('failed to get emulator capabilities', err);
  }
}

export async function sysinfo(session: Session): Promise<void> {
  const conn = await session.conn();
  try {
    session.print(await conn.getSysinfo(0));
  } catch (err) {
    throw new CommandError('failed to get sysinfo', err);
  }
}

export async function hostname(session: Session): Promise<void> {
  const conn = await session.conn();
  try {
    session.print(`${await conn.getHostname()}\n`);
  } catch (err) {
    throw new CommandError('failed to get hostname', err);
  }
}

export async function uri(session: Session): Promise<void> {
  const conn = await session.conn();
  session.print(`${await conn.getURI()}\n`);
}

function versionString(v: number): string {
  return `${Math.floor(v / 1_000_000)}.${Math.floor(v / 1000) % 1000}.${v % 1000}`;
}

/**
 * virsh's four lines, with virtnode as the library: virsh names libvirt in "Compiled against
 * library" and "Using library" and gives libvirt's version for "Using API"; virtnode is both the
 * library and the API here, so those lines carry `virtnode` and its package version. "Running
 * hypervisor" is the driver's own answer, as in virsh (`TEST 0.0.2` on test:///default).
 */
export async function version(session: Session, cmd: ParsedCommand): Promise<void> {
  const conn = await session.conn();
  const { packageVersion } = require('../../version') as typeof import('../../version');
  const lib = packageVersion();
  const type = await conn.getType();
  const hvVersion = await conn.getVersion().catch(() => null);
  const daemon = optBool(cmd, 'daemon') ? versionString(await conn.getLibVersion()) : undefined;
  if (optBool(cmd, 'json')) {
    return printJSON(session, {
      library: { name: 'virtnode', version: lib },
      api: { type, version: lib },
      hypervisor: { type, version: hvVersion === null || hvVersion === 0 ? null : versionString(hvVersion) },
      ...(daemon !== undefined ? { daemon } : {}),
    });
  }
  let text = `Compiled against library: virtnode ${lib}\n`;
  text += `Using library: virtnode ${lib}\n`;
  text += `Using API: ${type} ${lib}\n`;
  if (hvVersion === null) throw new CommandError('failed to get the hypervisor version');
  text += hvVersion === 0 ? `Cannot extract running ${type} hypervisor version\n` : `Running hypervisor: ${type} ${versionString(hvVersion)}\n`;
  if (daemon !== undefined) text += `Running against daemon: ${daemon}\n`;
  session.print(text);
}

/** vshCommandOptInt: a strict base-10 int. */
function intOpt(cmd: ParsedCommand, name: string): number | undefined {
  const text = optString(cmd, name);
  if (text === undefined) return undefined;
  const value = /^\s*[+-]?\d+$/.test(text) ? Number.parseInt(text, 10) : Number.NaN;
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new CommandError(`Numeric value '${text}' for <${name}> option is malformed or out of range`);
  }
  return value;
}

export async function freecell(session: Session, cmd: ParsedCommand): Promise<void> {
  exclusive(cmd, ['all', 'cellno']);
  const cell = intOpt(cmd, 'cellno');
  const conn = await session.conn();
  const json = optBool(cmd, 'json');
  const kib = (bytes: bigint) => bytes / 1024n;
  if (optBool(cmd, 'all')) {
    const { parseXML, child, children } = require('../../conf/xml') as typeof import('../../conf/xml');
    const caps = parseXML(await conn.getCapabilities(), '(capabilities)');
    const cells = child(child(child(caps, 'host') ?? caps, 'topology') ?? caps, 'cells');
    const ids = (cells ? children(cells, 'cell') : []).map((c) => Number(c.attrs.get('id')));
    if (ids.length === 0) throw new CommandError('could not get information about NUMA topology');
    const rows: Array<{ cell: number; freeKiB: bigint }> = [];
    for (const id of ids) {
      const [bytes] = await conn.nodeGetCellsFreeMemory(id, 1);
      rows.push({ cell: id, freeKiB: kib(bytes) });
    }
    const total = rows.reduce((sum, r) => sum + r.freeKiB, 0n);
    if (json) {
      return printJSON(session, { cells: rows.map((r) => ({ cell: r.cell, freeKiB: Number(r.freeKiB) })), totalKiB: Number(total) });
    }
    let text = rows.map((r) => `${String(r.cell).padStart(5)}: ${String(r.freeKiB).padStart(10)} KiB\n`).join('');
    text += `${'-'.repeat(20)}\n`;
    text += `${'Total:'.padEnd(5)} ${String(total).padStart(10)} KiB\n`;
    return session.print(text);
  }
  if (cell !== undefined) {
    const [bytes] = await conn.nodeGetCellsFreeMemory(cell, 1);
    if (json) return printJSON(session, { cells: [{ cell, freeKiB: Number(kib(bytes)) }], totalKiB: Number(kib(bytes)) });
    return session.print(`${cell}: ${kib(bytes)} KiB\n`);
  }
  const bytes = await conn.nodeGetFreeMemory();
  if (json) return printJSON(session, { cells: [], totalKiB: Number(kib(bytes)) });
  session.print(`Total: ${kib(bytes)} KiB\n`);
}
