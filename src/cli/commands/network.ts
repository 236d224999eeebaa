// Network commands: virsh-network.c's subset.
//
// JSON shapes (--json):
//   net-list  [{ name, uuid, active, autostart, persistent }]
//   net-info  { name, uuid, active, persistent, autostart, bridge: string|null }
import * as C from '../../constants';
import { Network } from '../../network';
import type { ParsedCommand } from '../parse';
import { CommandError, formatKeyValues, formatTable } from '../output';
import { type Session, optBool, optString, printXML } from '../session';
import { networkOpt, readFileArg } from './lookup';

async function attempt<T>(failure: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new CommandError(failure, err);
  }
}

const yesNo = (v: boolean | null, unknown = 'unknown') => (v === null ? unknown : v ? 'yes' : 'no');

export async function netList(session: Session, cmd: ParsedCommand): Promise<void> {
  if (['table', 'name', 'uuid'].filter((o) => optBool(cmd, o)).length > 1) {
    throw new CommandError('Only one argument from --table, --name and --uuid may be specified.');
  }
  let flags = C.VIR_CONNECT_LIST_NETWORKS_ACTIVE;
  if (optBool(cmd, 'inactive')) flags = C.VIR_CONNECT_LIST_NETWORKS_INACTIVE;
  if (optBool(cmd, 'all')) flags = C.VIR_CONNECT_LIST_NETWORKS_ACTIVE | C.VIR_CONNECT_LIST_NETWORKS_INACTIVE;
  if (optBool(cmd, 'persistent')) flags |= C.VIR_CONNECT_LIST_NETWORKS_PERSISTENT;
  if (optBool(cmd, 'transient')) flags |= C.VIR_CONNECT_LIST_NETWORKS_TRANSIENT;
  if (optBool(cmd, 'autostart')) flags |= C.VIR_CONNECT_LIST_NETWORKS_AUTOSTART;
  if (optBool(cmd, 'no-autostart')) flags |= C.VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART;
  const conn = await session.conn();
  const networks = await attempt('Failed to list networks', () => conn.listAllNetworks(flags));
  networks.sort((a, b) => {
    const na = a.getName().toLowerCase();
    const nb = b.getName().toLowerCase();
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
  if (optBool(cmd, 'uuid')) return session.print(networks.map((n) => `${n.getUUIDString()}\n`).join(''));
  if (optBool(cmd, 'name')) return session.print(networks.map((n) => `${n.getName()}\n`).join(''));
  const rows = [];
  for (const net of networks) {
    rows.push({
      name: net.getName(),
      uuid: net.getUUIDString(),
      active: await net.isActive().catch(() => null),
      autostart: await net.getAutostart().catch(() => null),
      persistent: await net.isPersistent().catch(() => null),
    });
  }
  if (optBool(cmd, 'json')) return session.print(`${JSON.stringify(rows, null, 2)}\n`);
  const cells = rows.map((r) => [
    r.name,
    r.active ? 'active' : 'inactive',
    yesNo(r.autostart, 'no autostart'),
    yesNo(r.persistent),
  ]);
  session.print(formatTable(session.quiet ? null : ['Name', 'State', 'Autostart', 'Persistent'], cells));
}

export async function netInfo(session: Session, cmd: ParsedCommand): Promise<void> {
  const net = await networkOpt(session, cmd);
  const active = await net.isActive().catch(() => null);
  const persistent = await net.isPersistent().catch(() => null);
  const autostart = await net.getAutostart().catch(() => null);
  const bridge = await net.getBridgeName().catch(() => null);
  if (optBool(cmd, 'json')) {
    session.print(`${JSON.stringify({ name: net.getName(), uuid: net.getUUIDString(), active, persistent, autostart, bridge }, null, 2)}\n`);
    return;
  }
  const pairs: Array<[string, string]> = [
    ['Name:', net.getName()],
    ['UUID:', net.getUUIDString()],
    ['Active:', yesNo(active)],
    ['Persistent:', yesNo(persistent)],
    ['Autostart:', yesNo(autostart, 'no autostart')],
  ];
  if (bridge !== null) pairs.push(['Bridge:', bridge]);
  session.print(formatKeyValues(pairs, 15));
}

export async function netDumpxml(session: Session, cmd: ParsedCommand): Promise<void> {
  const net = await networkOpt(session, cmd);
  printXML(session, cmd, await net.getXMLDesc(optBool(cmd, 'inactive') ? C.VIR_NETWORK_XML_INACTIVE : 0), '(network_definition)');
}

export async function netDefine(session: Session, cmd: ParsedCommand): Promise<void> {
  const file = optString(cmd, 'file') as string;
  const xml = await readFileArg(file);
  const conn = await session.conn();
  const validate = optBool(cmd, 'validate');
  const net = await attempt(`Failed to define network from ${file}`, () =>
    validate ? Network.defineXMLFlags(conn, xml, C.VIR_NETWORK_DEFINE_VALIDATE) : Network.defineXML(conn, xml),
  );
  session.print(`Network ${net.getName()} defined from ${file}\n`);
}

export async function netUndefine(session: Session, cmd: ParsedCommand): Promise<void> {
  const net = await networkOpt(session, cmd);
  const name = net.getName();
  await attempt(`Failed to undefine network ${name}`, () => net.undefine());
  session.print(`Network ${name} has been undefined\n`);
}

export async function netStart(session: Session, cmd: ParsedCommand): Promise<void> {
  const net = await networkOpt(session, cmd);
  const name = net.getName();
  await attempt(`Failed to start network ${name}`, () => net.create());
  session.print(`Network ${name} started\n`);
}

export async function netDestroy(session: Session, cmd: ParsedCommand): Promise<void> {
  const net = await networkOpt(session, cmd);
  const name = net.getName();
  await attempt(`Failed to destroy network ${name}`, () => net.destroy());
  session.print(`Network ${name} destroyed\n`);
}

export async function netAutostart(session: Session, cmd: ParsedCommand): Promise<void> {
  const net = await networkOpt(session, cmd);
  const name = net.getName();
  const disable = optBool(cmd, 'disable');
  await attempt(disable ? `failed to unmark network ${name} as autostarted` : `failed to mark network ${name} as autostarted`, () =>
    net.setAutostart(!disable),
  );
  session.print(disable ? `Network ${name} unmarked as autostarted\n` : `Network ${name} marked as autostarted\n`);
}
