// Domain commands: virsh-domain.c, virsh-domain-monitor.c and virsh-domain-list.c's subset.
//
// JSON shapes (--json), for scripts:
//   list       [{ id: number|null, name, uuid, state, persistent, autostart }]
//   dominfo    { id: number|null, name, uuid, osType, state, cpus, cpuTimeSeconds, maxMemoryKiB,
//                usedMemoryKiB, persistent, autostart, managedSave,
//                security: { model, doi, label: string|null, enforcing: boolean|null } | null }
//   domstate   { state, reason, stateCode, reasonCode }
//   domiflist  [{ interface, type, source, model, mac }]      (null where virsh prints '-')
//   domblklist [{ type, device, target, source }]            (null where virsh prints '-')
import * as C from '../../constants';
import { Domain } from '../../domain';
import { VIR_ERR_INVALID_ARG, VIR_ERR_NO_SUPPORT } from '../../error-codes';
import type { ParsedCommand } from '../parse';
import { CommandError, formatKeyValues, formatTable, withProgress } from '../output';
import { type Session, optBool, optList, optString, printXML } from '../session';
import { BY_NAME, BY_UUID, domainOpt, exclusive, lookupDomain, readFileArg } from './lookup';
import { domainReasonString, domainStateString } from './states';

function printJSON(session: Session, value: unknown): void {
  session.print(`${JSON.stringify(value, null, 2)}\n`);
}

/** Runs one domain operation; a failure prints virsh's `Failed to ...` line before the error. */
async function attempt<T>(failure: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new CommandError(failure, err);
  }
}

// ---- list ----

const STATE_FILTERS: Array<[string, number]> = [
  ['persistent', C.VIR_CONNECT_LIST_DOMAINS_PERSISTENT],
  ['transient', C.VIR_CONNECT_LIST_DOMAINS_TRANSIENT],
  ['with-managed-save', C.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE],
  ['without-managed-save', C.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE],
  ['autostart', C.VIR_CONNECT_LIST_DOMAINS_AUTOSTART],
  ['no-autostart', C.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART],
  ['with-snapshot', C.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT],
  ['without-snapshot', C.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT],
  ['with-checkpoint', C.VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT],
  ['without-checkpoint', C.VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT],
  ['state-running', C.VIR_CONNECT_LIST_DOMAINS_RUNNING],
  ['state-paused', C.VIR_CONNECT_LIST_DOMAINS_PAUSED],
  ['state-shutoff', C.VIR_CONNECT_LIST_DOMAINS_SHUTOFF],
  ['state-other', C.VIR_CONNECT_LIST_DOMAINS_OTHER],
];

/** The flags virsh 9.0 passes to virConnectListAllDomains for the given options. */
export function listFlags(cmd: ParsedCommand): number {
  let flags = C.VIR_CONNECT_LIST_DOMAINS_ACTIVE;
  if (optBool(cmd, 'inactive') || optBool(cmd, 'state-shutoff')) flags = C.VIR_CONNECT_LIST_DOMAINS_INACTIVE;
  if (optBool(cmd, 'all')) flags = C.VIR_CONNECT_LIST_DOMAINS_ACTIVE | C.VIR_CONNECT_LIST_DOMAINS_INACTIVE;
  for (const [name, bit] of STATE_FILTERS) if (optBool(cmd, name)) flags |= bit;
  return flags;
}

/** virsh's order: running domains by ID, then inactive ones by name, ignoring case. */
function sortDomains(domains: Domain[]): Domain[] {
  return domains.sort((a, b) => {
    const ia = a.getID();
    const ib = b.getID();
    if (ia !== -1 && ib !== -1) return ia - ib;
    if (ia !== -1) return -1;
    if (ib !== -1) return 1;
    const na = a.getName().toLowerCase();
    const nb = b.getName().toLowerCase();
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
}

async function domainTitle(dom: Domain): Promise<string> {
  const { parseXML, child, textOf } = require('../../conf/xml') as typeof import('../../conf/xml');
  const root = parseXML(await dom.getXMLDesc(0), '(domain_definition)');
  return textOf(child(root, 'title')) ?? '';
}

export async function list(session: Session, cmd: ParsedCommand): Promise<void> {
  exclusive(cmd, ['table', 'name'], ['table', 'uuid'], ['table', 'id']);
  const conn = await session.conn();
  let domains: Domain[];
  try {
    domains = sortDomains(await conn.listAllDomains(listFlags(cmd)));
  } catch (err) {
    throw new CommandError('Failed to list domains', err);
  }
  if (optBool(cmd, 'json')) {
    const rows = [];
    for (const dom of domains) {
      const { state } = await dom.getState();
      rows.push({
        id: dom.getID() === -1 ? null : dom.getID(),
        name: dom.getName(),
        uuid: dom.getUUIDString(),
        state: domainStateString(state),
        persistent: await dom.isPersistent(),
        autostart: await dom.getAutostart(),
      });
    }
    printJSON(session, rows);
    return;
  }
  const wantUUID = optBool(cmd, 'uuid');
  const wantName = optBool(cmd, 'name');
  const wantID = optBool(cmd, 'id');
  if (wantUUID || wantName || wantID) {
    let text = '';
    for (const dom of domains) {
      const id = dom.getID();
      if (wantID && !wantUUID && !wantName) {
        if (id !== -1) text += `${id}\n`;
        continue;
      }
      const parts: string[] = [];
      if (wantUUID) parts.push(dom.getUUIDString());
      if (wantID) parts.push(id === -1 ? '-' : String(id));
      if (wantName) parts.push(dom.getName());
      text += `${parts.join(' ')}\n`;
    }
    session.print(text);
    return;
  }
  const withTitle = optBool(cmd, 'title');
  const markSaved = optBool(cmd, 'managed-save');
  const rows: string[][] = [];
  for (const dom of domains) {
    const id = dom.getID();
    let state: string;
    try {
      const st = await dom.getState();
      state =
        markSaved && st.state === C.VIR_DOMAIN_SHUTOFF && (await dom.hasManagedSaveImage().catch(() => false))
          ? 'saved'
          : domainStateString(st.state);
    } catch {
      state = 'no state';
    }
    const row = [id === -1 ? '-' : String(id), dom.getName(), state];
    if (withTitle) row.push(await domainTitle(dom).catch(() => ''));
    rows.push(row);
  }
  const header = withTitle ? ['Id', 'Name', 'State', 'Title'] : ['Id', 'Name', 'State'];
  session.print(formatTable(session.quiet ? null : header, rows));
}

// ---- information ----

export async function dominfo(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  const conn = dom.getConnect();
  const id = dom.getID();
  const pairs: Array<[string, string]> = [
    ['Id:', id === -1 ? '-' : String(id)],
    ['Name:', dom.getName()],
    ['UUID:', dom.getUUIDString()],
  ];
  const osType = await dom.getOSType().catch(() => null);
  if (osType !== null) pairs.push(['OS Type:', osType]);
  const info = await dom.getInfo().catch(() => null);
  if (info) {
    pairs.push(['State:', domainStateString(info.state)]);
    pairs.push(['CPU(s):', String(info.nrVirtCpu)]);
    if (info.cpuTime !== 0n) pairs.push(['CPU time:', `${(Number(info.cpuTime) / 1e9).toFixed(1)}s`]);
    pairs.push(['Max memory:', info.maxMem === 0xffffffff ? 'no limit' : `${info.maxMem} KiB`]);
    pairs.push(['Used memory:', `${info.memory} KiB`]);
  }
  const persistent = await dom.isPersistent().catch(() => null);
  pairs.push(['Persistent:', persistent === null ? 'unknown' : persistent ? 'yes' : 'no']);
  const autostart = await dom.getAutostart().catch(() => null);
  if (autostart !== null) pairs.push(['Autostart:', autostart ? 'enable' : 'disable']);
  const managedSave = await dom.hasManagedSaveImage().catch(() => null);
  pairs.push(['Managed save:', managedSave === null ? 'unknown' : managedSave ? 'yes' : 'no']);
  const model = await conn.nodeGetSecurityModel().catch(() => null);
  let label: { label: string; enforcing: boolean } | null = null;
  if (model && model.model !== '') {
    pairs.push(['Security model:', model.model]);
    pairs.push(['Security DOI:', model.doi]);
    label = await dom.getSecurityLabel().catch(() => null);
    if (label && label.label !== '') {
      pairs.push(['Security label:', `${label.label} (${label.enforcing ? 'enforcing' : 'permissive'})`]);
    }
  }
  if (optBool(cmd, 'json')) {
    printJSON(session, {
      id: id === -1 ? null : id,
      name: dom.getName(),
      uuid: dom.getUUIDString(),
      osType,
      state: info ? domainStateString(info.state) : null,
      cpus: info?.nrVirtCpu ?? null,
      cpuTimeSeconds: info ? Number(info.cpuTime) / 1e9 : null,
      maxMemoryKiB: info?.maxMem ?? null,
      usedMemoryKiB: info?.memory ?? null,
      persistent,
      autostart,
      managedSave,
      security:
        model && model.model !== ''
          ? {
              model: model.model,
              doi: model.doi,
              label: label && label.label !== '' ? label.label : null,
              enforcing: label && label.label !== '' ? label.enforcing : null,
            }
          : null,
    });
    return;
  }
  session.print(formatKeyValues(pairs, 15));
}

export async function domstate(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  const { state, reason } = await dom.getState();
  if (optBool(cmd, 'json')) {
    printJSON(session, { state: domainStateString(state), reason: domainReasonString(state, reason), stateCode: state, reasonCode: reason });
  } else if (optBool(cmd, 'reason')) {
    session.print(`${domainStateString(state)} (${domainReasonString(state, reason)})\n`);
  } else {
    session.print(`${domainStateString(state)}\n`);
  }
}

export async function domid(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd, BY_NAME | BY_UUID);
  const id = dom.getID();
  session.print(id === -1 ? '-\n' : `${id}\n`);
}

export async function domname(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  session.print(`${dom.getName()}\n`);
}

export async function domuuid(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  session.print(`${dom.getUUIDString()}\n`);
}

export async function dumpxml(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  let flags = 0;
  if (optBool(cmd, 'inactive')) flags |= C.VIR_DOMAIN_XML_INACTIVE;
  if (optBool(cmd, 'security-info')) flags |= C.VIR_DOMAIN_XML_SECURE;
  if (optBool(cmd, 'update-cpu')) flags |= C.VIR_DOMAIN_XML_UPDATE_CPU;
  if (optBool(cmd, 'migratable')) flags |= C.VIR_DOMAIN_XML_MIGRATABLE;
  printXML(session, cmd, await dom.getXMLDesc(flags), '(domain_definition)');
}

/** Interfaces and disks as virsh's XPath queries see them, from the domain's XML. */
async function devicesOf(dom: Domain, inactive: boolean, kind: 'interface' | 'disk') {
  const { parseXML, child, children } = require('../../conf/xml') as typeof import('../../conf/xml');
  const root = parseXML(await dom.getXMLDesc(inactive ? C.VIR_DOMAIN_XML_INACTIVE : 0), '(domain_definition)');
  const devices = child(root, 'devices');
  return { list: devices ? children(devices, kind) : [], child };
}

/** The first of `names` among the element's attributes, in document order (an XPath union). */
function firstAttr(el: import('../../conf/xml').XmlElement | undefined, names: string[]): string | null {
  if (!el) return null;
  for (const [key, value] of el.attrs) if (names.includes(key)) return value;
  return null;
}

export async function domiflist(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  const { list, child } = await devicesOf(dom, optBool(cmd, 'inactive'), 'interface');
  const rows = list.map((iface) => ({
    interface: child(iface, 'target')?.attrs.get('dev') ?? null,
    type: iface.attrs.get('type') ?? '',
    source: firstAttr(child(iface, 'source'), ['bridge', 'dev', 'network', 'name', 'path']),
    model: child(iface, 'model')?.attrs.get('type') ?? null,
    mac: child(iface, 'mac')?.attrs.get('address') ?? null,
  }));
  if (optBool(cmd, 'json')) return printJSON(session, rows);
  const header = session.quiet ? null : ['Interface', 'Type', 'Source', 'Model', 'MAC'];
  session.print(formatTable(header, rows.map((r) => [r.interface ?? '-', r.type, r.source ?? '-', r.model ?? '-', r.mac ?? '-'])));
}

export async function domblklist(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  const details = optBool(cmd, 'details');
  const { list, child } = await devicesOf(dom, optBool(cmd, 'inactive'), 'disk');
  const rows = list.map((disk) => {
    const source = child(disk, 'source');
    let path = firstAttr(source, ['file', 'dev', 'dir', 'name', 'volume']);
    const pool = source?.attrs.get('pool');
    if (pool && path !== null) path = `${pool}/${path}`;
    return {
      type: disk.attrs.get('type') ?? '',
      device: disk.attrs.get('device') ?? '',
      target: child(disk, 'target')?.attrs.get('dev') ?? '',
      source: path,
    };
  });
  if (optBool(cmd, 'json')) return printJSON(session, rows);
  const header = session.quiet ? null : details ? ['Type', 'Device', 'Target', 'Source'] : ['Target', 'Source'];
  const cells = rows.map((r) => (details ? [r.type, r.device, r.target, r.source ?? '-'] : [r.target, r.source ?? '-']));
  session.print(formatTable(header, cells));
}

// ---- life cycle ----

export async function define(session: Session, cmd: ParsedCommand): Promise<void> {
  const file = optString(cmd, 'file') as string;
  const xml = await readFileArg(file);
  const conn = await session.conn();
  const flags = optBool(cmd, 'validate') ? C.VIR_DOMAIN_DEFINE_VALIDATE : 0;
  const dom = await attempt(`Failed to define domain from ${file}`, () =>
    flags ? Domain.defineXMLFlags(conn, xml, flags) : Domain.defineXML(conn, xml),
  );
  session.print(`Domain '${dom.getName()}' defined from ${file}\n`);
}

export async function create(session: Session, cmd: ParsedCommand): Promise<void> {
  if (optBool(cmd, 'console')) throw new CommandError('--console is not supported by virtnode');
  const file = optString(cmd, 'file') as string;
  const xml = await readFileArg(file);
  const conn = await session.conn();
  let flags = 0;
  if (optBool(cmd, 'paused')) flags |= C.VIR_DOMAIN_START_PAUSED;
  if (optBool(cmd, 'autodestroy')) flags |= C.VIR_DOMAIN_START_AUTODESTROY;
  if (optBool(cmd, 'validate')) flags |= C.VIR_DOMAIN_START_VALIDATE;
  if (optBool(cmd, 'reset-nvram')) flags |= C.VIR_DOMAIN_START_RESET_NVRAM;
  const dom = await attempt(`Failed to create domain from ${file}`, () =>
    withProgress(`creating domain from ${file}`, Domain.createXML(conn, xml, flags), session.stdout),
  );
  session.print(`Domain '${dom.getName()}' created from ${file}\n`);
}

export async function start(session: Session, cmd: ParsedCommand): Promise<void> {
  if (optBool(cmd, 'console')) throw new CommandError('--console is not supported by virtnode');
  const dom = await domainOpt(session, cmd, BY_NAME | BY_UUID);
  if (dom.getID() !== -1) throw new CommandError('Domain is already active');
  let flags = 0;
  if (optBool(cmd, 'paused')) flags |= C.VIR_DOMAIN_START_PAUSED;
  if (optBool(cmd, 'autodestroy')) flags |= C.VIR_DOMAIN_START_AUTODESTROY;
  if (optBool(cmd, 'bypass-cache')) flags |= C.VIR_DOMAIN_START_BYPASS_CACHE;
  if (optBool(cmd, 'force-boot')) flags |= C.VIR_DOMAIN_START_FORCE_BOOT;
  if (optBool(cmd, 'reset-nvram')) flags |= C.VIR_DOMAIN_START_RESET_NVRAM;
  const name = dom.getName();
  if (flags & C.VIR_DOMAIN_START_FORCE_BOOT) {
    // virsh emulates a forced boot where the driver rejects the flag: drop the managed save, retry.
    try {
      await withProgress(`starting domain '${name}'`, dom.createWithFlags(flags), session.stdout);
      session.print(`Domain '${name}' started\n`);
      return;
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code !== VIR_ERR_NO_SUPPORT && code !== VIR_ERR_INVALID_ARG) throw err;
    }
    if (await dom.hasManagedSaveImage().catch(() => false)) await dom.managedSaveRemove();
    flags &= ~C.VIR_DOMAIN_START_FORCE_BOOT;
  }
  await attempt(`Failed to start domain '${name}'`, () =>
    withProgress(`starting domain '${name}'`, flags ? dom.createWithFlags(flags) : dom.create(), session.stdout),
  );
  session.print(`Domain '${name}' started\n`);
}

export async function destroy(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  let flags = 0;
  if (optBool(cmd, 'graceful')) flags |= C.VIR_DOMAIN_DESTROY_GRACEFUL;
  if (optBool(cmd, 'remove-logs')) flags |= C.VIR_DOMAIN_DESTROY_REMOVE_LOGS;
  const name = dom.getName();
  await attempt(`Failed to destroy domain '${name}'`, () =>
    withProgress(`destroying domain '${name}'`, flags ? dom.destroyFlags(flags) : dom.destroy(), session.stdout),
  );
  session.print(`Domain '${name}' destroyed\n`);
}

const SHUTDOWN_MODES: Record<string, number> = {
  acpi: C.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN,
  agent: C.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT,
  initctl: C.VIR_DOMAIN_SHUTDOWN_INITCTL,
  signal: C.VIR_DOMAIN_SHUTDOWN_SIGNAL,
  paravirt: C.VIR_DOMAIN_SHUTDOWN_PARAVIRT,
};

function modeFlags(cmd: ParsedCommand): number {
  const mode = optString(cmd, 'mode');
  if (mode === undefined) return 0;
  let flags = 0;
  for (const word of mode.split(',')) {
    const bit = SHUTDOWN_MODES[word];
    if (bit === undefined) {
      throw new CommandError(`Unknown mode ${word} value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'`);
    }
    flags |= bit;
  }
  return flags;
}

export async function shutdown(session: Session, cmd: ParsedCommand): Promise<void> {
  const flags = modeFlags(cmd);
  const dom = await domainOpt(session, cmd);
  const name = dom.getName();
  await attempt(`Failed to shutdown domain '${name}'`, () => (flags ? dom.shutdownFlags(flags) : dom.shutdown()));
  session.print(`Domain '${name}' is being shutdown\n`);
}

export async function reboot(session: Session, cmd: ParsedCommand): Promise<void> {
  const flags = modeFlags(cmd);
  const dom = await domainOpt(session, cmd);
  const name = dom.getName();
  await attempt(`Failed to reboot domain '${name}'`, () => dom.reboot(flags));
  session.print(`Domain '${name}' is being rebooted\n`);
}

export async function reset(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  const name = dom.getName();
  await attempt(`Failed to reset domain '${name}'`, () => dom.reset(0));
  session.print(`Domain '${name}' was reset\n`);
}

export async function suspend(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  const name = dom.getName();
  await attempt(`Failed to suspend domain '${name}'`, () => dom.suspend());
  session.print(`Domain '${name}' suspended\n`);
}

export async function resume(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  const name = dom.getName();
  await attempt(`Failed to resume domain '${name}'`, () => dom.resume());
  session.print(`Domain '${name}' resumed\n`);
}

const UNDEFINE_FLAGS: Array<[string, number]> = [
  ['managed-save', C.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE],
  ['snapshots-metadata', C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA],
  ['checkpoints-metadata', C.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA],
  ['nvram', C.VIR_DOMAIN_UNDEFINE_NVRAM],
  ['keep-nvram', C.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM],
  ['tpm', C.VIR_DOMAIN_UNDEFINE_TPM],
  ['keep-tpm', C.VIR_DOMAIN_UNDEFINE_KEEP_TPM],
];

export async function undefine(session: Session, cmd: ParsedCommand): Promise<void> {
  exclusive(cmd, ['nvram', 'keep-nvram'], ['tpm', 'keep-tpm']);
  const dom = await domainOpt(session, cmd);
  const storage = ['storage', 'remove-all-storage', 'delete-storage-volume-snapshots', 'wipe-storage'].find((o) => cmd.opts.has(o));
  if (storage) {
    if (await dom.isActive()) throw new CommandError('Storage volume deletion is supported only on stopped domains');
    throw new CommandError(`--${storage} is not supported by virtnode: it has no storage driver`);
  }
  let flags = 0;
  for (const [name, bit] of UNDEFINE_FLAGS) if (optBool(cmd, name)) flags |= bit;
  // As virsh does: flags for things the domain does not have are dropped (virtnode keeps no
  // snapshots), and a driver that rejects the remaining ones gets a plain undefine instead,
  // unless removing NVRAM was asked for.
  flags &= ~C.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
  if (flags & C.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE && !(await dom.hasManagedSaveImage().catch(() => true))) {
    flags &= ~C.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE;
  }
  const name = dom.getName();
  await attempt(`Failed to undefine domain '${name}'`, async () => {
    try {
      await dom.undefineFlags(flags);
    } catch (err) {
      const code = (err as { code?: number }).code;
      const retry = (code === VIR_ERR_NO_SUPPORT || code === VIR_ERR_INVALID_ARG) && !(flags & C.VIR_DOMAIN_UNDEFINE_NVRAM);
      if (!retry) throw err;
      await dom.undefine();
    }
  });
  session.print(`Domain '${name}' has been undefined\n`);
}

export async function autostart(session: Session, cmd: ParsedCommand): Promise<void> {
  const dom = await domainOpt(session, cmd);
  const name = dom.getName();
  const disable = optBool(cmd, 'disable');
  await attempt(disable ? `Failed to unmark domain '${name}' as autostarted` : `Failed to mark domain '${name}' as autostarted`, () =>
    dom.setAutostart(!disable),
  );
  session.print(disable ? `Domain '${name}' unmarked as autostarted\n` : `Domain '${name}' marked as autostarted\n`);
}

// ---- devices ----

async function deviceChange(session: Session, cmd: ParsedCommand, attach: boolean): Promise<void> {
  exclusive(cmd, ['persistent', 'current'], ['current', 'live'], ['current', 'config']);
  const dom = await domainOpt(session, cmd);
  const file = optString(cmd, 'file') as string;
  const xml = await readFileArg(file);
  let flags = 0;
  if (optBool(cmd, 'config') || optBool(cmd, 'persistent')) flags |= C.VIR_DOMAIN_AFFECT_CONFIG;
  if (optBool(cmd, 'live')) flags |= C.VIR_DOMAIN_AFFECT_LIVE;
  if (optBool(cmd, 'persistent') && (await dom.isActive())) flags |= C.VIR_DOMAIN_AFFECT_LIVE;
  const withFlags = flags !== 0 || optBool(cmd, 'current');
  if (attach) {
    await attempt(`Failed to attach device from ${file}`, () =>
      withProgress('attaching device', withFlags ? dom.attachDeviceFlags(xml, flags) : dom.attachDevice(xml), session.stdout),
    );
    session.print('Device attached successfully\n');
  } else {
    await attempt(`Failed to detach device from ${file}`, () =>
      withProgress('detaching device', withFlags ? dom.detachDeviceFlags(xml, flags) : dom.detachDevice(xml), session.stdout),
    );
    session.print('Device detached successfully\n');
  }
}

export function attachDevice(session: Session, cmd: ParsedCommand): Promise<void> {
  return deviceChange(session, cmd, true);
}

export function detachDevice(session: Session, cmd: ParsedCommand): Promise<void> {
  return deviceChange(session, cmd, false);
}

// ---- QEMU specifics ----

export async function domxmlToNative(session: Session, cmd: ParsedCommand): Promise<void> {
  exclusive(cmd, ['domain', 'xml']);
  const format = optString(cmd, 'format') as string;
  const domainName = optString(cmd, 'domain');
  const xmlFile = optString(cmd, 'xml');
  let xml: string;
  if (domainName !== undefined) {
    const dom = await lookupDomain(session, domainName);
    xml = await dom.getXMLDesc(0);
  } else if (xmlFile !== undefined) {
    xml = await readFileArg(xmlFile);
  } else {
    throw new CommandError('need either domain or domain XML');
  }
  const conn = await session.conn();
  session.print(await conn.domainXMLToNative(format, xml, 0));
}

/** libvirt's pretty JSON: two-space indentation, as virJSONValueToString(..., true) writes it. */
function prettyJSON(text: string): string {
  return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
}

/**
 * QMP text for the words given: JSON as it is, or `NAME ARG...` wrapped as virsh does it,
 * `{"execute":NAME,"arguments":{ARG,ARG...}}`.
 */
export function qmpCommand(words: string[]): string {
  const joined = words.join(' ');
  if (joined.trimStart().startsWith('{')) return joined;
  const [execute, ...rest] = words;
  const wrapped: { execute: string; arguments?: unknown } = { execute };
  if (rest.length > 0) {
    const body = `{${rest.join(',')}}`;
    try {
      wrapped.arguments = JSON.parse(body);
    } catch (err) {
      throw new CommandError(
        `failed to wrap arguments '${rest.join(' ')}' into a QMP command wrapper`,
        new Error(`internal error: cannot parse json ${body}: ${(err as Error).message}`),
      );
    }
  }
  return JSON.stringify(wrapped);
}

export async function qemuMonitorCommand(session: Session, cmd: ParsedCommand): Promise<void> {
  exclusive(cmd, ['hmp', 'pretty'], ['hmp', 'return-value']);
  if (cmd.opts.has('pass-fds')) throw new CommandError('--pass-fds is not supported by virtnode');
  const dom = await domainOpt(session, cmd);
  const hmp = optBool(cmd, 'hmp');
  const text = hmp ? optList(cmd, 'cmd').join(' ') : qmpCommand(optList(cmd, 'cmd'));
  let result = await withProgress(
    'waiting for the monitor',
    dom.qemuMonitorCommand(text, hmp ? C.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP : 0),
    session.stdout,
  );
  if (optBool(cmd, 'return-value')) {
    const parsed = JSON.parse(result) as { return?: unknown };
    if (!('return' in parsed)) throw new CommandError("'return' member missing");
    const value = parsed.return;
    result = optBool(cmd, 'pretty') ? JSON.stringify(value, null, 2) : typeof value === 'string' ? value : JSON.stringify(value);
    session.print(`${result}\n`);
    return;
  }
  if (optBool(cmd, 'pretty')) {
    session.print(prettyJSON(result));
    return;
  }
  session.print(result.endsWith('\n') && hmp ? result : `${result}\n`);
}
