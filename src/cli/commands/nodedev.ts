// Node device commands: virsh-nodedev.c's subset.
//
// JSON shape (--json):
//   nodedev-list  [{ name, parent: string|null }]
import * as C from '../../constants';
import type { NodeDevice } from '../../node-device';
import type { ParsedCommand } from '../parse';
import { CommandError } from '../output';
import { type Session, optBool, optString, printXML } from '../session';
import { nodeDeviceOpt } from './lookup';

/** Capability names as virNodeDevCapTypeFromString knows them, with their listing flag. */
const CAP_FLAGS: Record<string, number> = {
  system: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM,
  pci: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV,
  usb_device: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV,
  usb: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_INTERFACE,
  net: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET,
  scsi_host: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST,
  scsi_target: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_TARGET,
  scsi: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI,
  storage: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_STORAGE,
  fc_host: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_FC_HOST,
  vports: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_VPORTS,
  scsi_generic: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_GENERIC,
  drm: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_DRM,
  mdev_types: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES,
  mdev: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV,
  ccw: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_CCW_DEV,
  css: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_CSS_DEV,
  vdpa: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_VDPA,
  ap_card: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_CARD,
  ap_queue: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_QUEUE,
  ap_matrix: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_MATRIX,
  vpd: C.VIR_CONNECT_LIST_NODE_DEVICES_CAP_VPD,
};

/** The flags virsh 9.0 passes to virConnectListAllNodeDevices. */
export function nodedevListFlags(cmd: ParsedCommand): number {
  const inactive = optBool(cmd, 'inactive');
  const all = optBool(cmd, 'all');
  const cap = optString(cmd, 'cap');
  if (all && inactive) throw new CommandError('Option --all is incompatible with --inactive');
  if (optBool(cmd, 'tree') && (cap !== undefined || inactive)) {
    throw new CommandError('Option --tree is incompatible with --cap and --inactive');
  }
  let flags = 0;
  if (cap !== undefined) {
    for (const name of cap.split(',')) {
      const bit = CAP_FLAGS[name];
      if (bit === undefined) throw new CommandError('Invalid capability type');
      flags |= bit;
    }
  }
  if (inactive || all) flags |= C.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE;
  if (!inactive) flags |= C.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE;
  return flags >>> 0;
}

/** vshTreePrint: children under their parent with `+- ` branches and `|` rails. */
export function formatTree(names: string[], parents: Array<string | null>): string {
  let out = '';
  const walk = (devid: number, lastdev: number, root: boolean, indentIn: string) => {
    let indent = indentIn;
    out += `${indent}${root ? '' : '+- '}${names[devid]}\n`;
    if (!root) indent += `${devid === lastdev ? ' ' : '|'} `;
    let nextLast = -1;
    names.forEach((_n, i) => {
      if (parents[i] === names[devid]) nextLast = i;
    });
    if (nextLast !== -1) out += `${indent}  |\n`;
    names.forEach((_n, i) => {
      if (parents[i] === names[devid]) walk(i, nextLast, false, `${indent}  `);
    });
    if (nextLast === -1 && devid === lastdev) out += `${indent}\n`;
  };
  names.forEach((_n, i) => {
    const parent = parents[i];
    if (parent === null || !names.includes(parent)) walk(i, -1, true, '');
  });
  return out;
}

export async function nodedevList(session: Session, cmd: ParsedCommand): Promise<void> {
  const flags = nodedevListFlags(cmd);
  const conn = await session.conn();
  let devices: NodeDevice[];
  try {
    devices = await conn.listAllNodeDevices(flags);
  } catch (err) {
    throw new CommandError('Failed to list node devices', err);
  }
  devices.sort((a, b) => {
    const na = a.getName().toLowerCase();
    const nb = b.getName().toLowerCase();
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
  const names = devices.map((d) => d.getName());
  const tree = optBool(cmd, 'tree');
  const json = optBool(cmd, 'json');
  if (!tree && !json) return session.print(names.map((n) => `${n}\n`).join(''));
  const parents = await Promise.all(devices.map((d) => d.getParent().catch(() => null)));
  if (json) {
    session.print(`${JSON.stringify(names.map((name, i) => ({ name, parent: parents[i] })), null, 2)}\n`);
    return;
  }
  session.print(formatTree(names, parents));
}

export async function nodedevDumpxml(session: Session, cmd: ParsedCommand): Promise<void> {
  const dev = await nodeDeviceOpt(session, cmd);
  printXML(session, cmd, await dev.getXMLDesc(0), '(node_device_definition)');
}

async function deviceAction(failure: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    throw new CommandError(failure, err);
  }
}

export async function nodedevDetach(session: Session, cmd: ParsedCommand): Promise<void> {
  const dev = await nodeDeviceOpt(session, cmd);
  const name = dev.getName();
  const driver = optString(cmd, 'driver');
  await deviceAction(`Failed to detach device ${name}`, () => (driver !== undefined ? dev.detachFlags(driver, 0) : dev.dettach()));
  session.print(`Device ${name} detached\n`);
}

export async function nodedevReattach(session: Session, cmd: ParsedCommand): Promise<void> {
  const dev = await nodeDeviceOpt(session, cmd);
  const name = dev.getName();
  await deviceAction(`Failed to re-attach device ${name}`, () => dev.reAttach());
  session.print(`Device ${name} re-attached\n`);
}

export async function nodedevReset(session: Session, cmd: ParsedCommand): Promise<void> {
  const dev = await nodeDeviceOpt(session, cmd);
  const name = dev.getName();
  await deviceAction(`Failed to reset device ${name}`, () => dev.reset());
  session.print(`Device ${name} reset\n`);
}
