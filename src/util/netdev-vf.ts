// An SR-IOV VF's network settings as its PF holds them (libvirt's virnetdev.c, VF half): the
// "admin" MAC and VLAN tag read and set over rtnetlink, saved before a guest gets the VF and
// restored after. The kernel is behind the VfLinkControl seam, so tests can put a fake PF there.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_SYSTEM_ERROR,
  VIR_FROM_NET,
  VIR_FROM_NONE,
  VirError,
  virError,
} from '../error';
import { native, type NativeSystemError } from '../native';
import { writeFileAtomic } from './atomic-file';
import { formatMAC, parseMAC } from './mac';
import {
  NETLINK_ROUTE,
  NetlinkError,
  NetlinkMalformedError,
  decodeAck,
  decodeLinkReply,
  encodeGetLink,
  encodeSetVf,
  type LinkInfo,
  type VfSetting,
} from './netlink';
import { kernelRootSeam } from './sysfs';

/** The kernel's rtnetlink, as far as VF configuration needs it. */
export interface VfLinkControl {
  /**
   * RTM_GETLINK of an interface with its VF list. Rejects with a NetlinkError when the kernel
   * refuses (ENODEV: no such interface), or a VirError when the socket itself fails.
   */
  getLink(ifname: string): Promise<LinkInfo>;
  /** RTM_SETLINK of one VF setting through the PF: 0, or the kernel's -errno. */
  setVf(ifname: string, vf: number, setting: VfSetting): Promise<number>;
}

/** How long libvirt waits for the kernel's answer (NETLINK_ACK_TIMEOUT_S). */
const NETLINK_ACK_TIMEOUT_MS = 2000;

const { EINVAL, EPERM, ERANGE } = os.constants.errno;

let lastSeq = Math.floor(Date.now() / 1000) >>> 0;

/** virReportSystemError: "<what>: <strerror>", errno in int1. */
function systemError(what: string, errno: number, domain: number): VirError {
  const message = `${what}: ${native().strerror(errno)}`;
  return new VirError({ code: VIR_ERR_SYSTEM_ERROR, domain, message, str1: message, int1: errno });
}

/** A failure of the socket rather than an answer from the kernel, in virNetlinkCommand's words. */
function transportError(err: unknown): VirError {
  const e = err as NativeSystemError;
  const errno = Math.abs(e.errno ?? 0);
  const what =
    e.syscall === 'socket'
      ? `cannot connect to netlink socket with protocol ${NETLINK_ROUTE}`
      : e.syscall === 'sendto'
        ? 'cannot send to netlink socket'
        : e.syscall === 'poll' && e.code === 'ETIMEDOUT'
          ? 'no valid netlink response was received'
          : 'nl_recv failed';
  return systemError(what, errno, VIR_FROM_NET);
}

/** This host's kernel, through the addon. */
export class KernelVfLinks implements VfLinkControl {
  private async request(message: Buffer): Promise<Buffer[]> {
    try {
      return await native().netlinkRequest(NETLINK_ROUTE, message, NETLINK_ACK_TIMEOUT_MS);
    } catch (err) {
      throw transportError(err);
    }
  }

  async getLink(ifname: string): Promise<LinkInfo> {
    const seq = (lastSeq = (lastSeq + 1) >>> 0);
    return decodeLinkReply(await this.request(encodeGetLink(ifname, seq)), seq);
  }

  async setVf(ifname: string, vf: number, setting: VfSetting): Promise<number> {
    const seq = (lastSeq = (lastSeq + 1) >>> 0);
    return decodeAck(await this.request(encodeSetVf(ifname, vf, setting, seq)), seq);
  }
}

/** Fake PFs registered by tests, by the kernel root (sysfsroot) they belong to. */
const vfLinksSeam = kernelRootSeam<VfLinkControl>(() => new KernelVfLinks());

/** Test hook: netlink for `root` goes to `links` until the returned function is called. */
export function substituteVfLinks(root: string, links: VfLinkControl): () => void {
  return vfLinksSeam.substitute(root, links);
}

/** The rtnetlink for a kernel root: a registered fake, else this host's kernel. */
export function vfLinks(root = ''): VfLinkControl {
  return vfLinksSeam.get(root);
}

const ZERO_MAC = '00:00:00:00:00:00';
/** What libvirt sets instead when a driver refuses the all-zero MAC: only the locally administered bit. */
const ALT_ZERO_MAC = '02:00:00:00:00:00';

/** virNetDevGetVfConfig: the admin MAC and VLAN tag the PF holds for VF `vf`. */
export async function getVfConfig(links: VfLinkControl, pf: string, vf: number): Promise<{ mac: string; vlan: number }> {
  let link: LinkInfo;
  try {
    link = await links.getLink(pf);
  } catch (err) {
    // libvirt resolves the name to an index first (virNetDevGetIndex), which is where a missing
    // interface shows; the dump itself then names the index it asked for.
    if (err instanceof NetlinkError && err.code === 'ENODEV') throw systemError(`Unable to get index for interface ${pf}`, -err.errno, VIR_FROM_NONE);
    if (err instanceof NetlinkError) throw systemError(`error dumping ${pf} (0) interface`, -err.errno, VIR_FROM_NET);
    if (err instanceof NetlinkMalformedError) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NET, 'malformed netlink response message');
    throw err;
  }
  if (!link.hasVfInfoList) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'missing IFLA_VF_INFO in netlink response');
  const info = link.vfs.find((v) => v.vf === vf);
  if (!info) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `couldn't find IFLA_VF_INFO for VF ${vf} in netlink response`);
  return { mac: info.mac, vlan: info.vlan };
}

/** virNetDevSendVfSetLinkRequest: the kernel's 0 or -errno. */
async function sendVfSetting(links: VfLinkControl, pf: string, vf: number, setting: VfSetting): Promise<number> {
  try {
    return await links.setVf(pf, vf, setting);
  } catch (err) {
    if (err instanceof NetlinkMalformedError) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'malformed netlink response message');
    throw err;
  }
}

/**
 * virNetDevSetVfMac. Resolves to false when the driver refused the all-zero MAC with EINVAL and
 * `allowRetry` is set: the caller then tries ALT_ZERO_MAC.
 */
async function setVfMac(links: VfLinkControl, pf: string, vf: number, mac: string, allowRetry: boolean): Promise<boolean> {
  const bytes = parseMAC(mac);
  if (!bytes) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `cannot parse MAC address '${mac}'`);
  const rc = await sendVfSetting(links, pf, vf, { mac: bytes });
  if (rc === -EINVAL && allowRetry && formatMAC(bytes) === ZERO_MAC) return false;
  if (rc < 0) throw systemError(`Cannot set interface MAC to ${formatMAC(bytes)} for ifname ${pf} vf ${vf}`, -rc, VIR_FROM_NONE);
  return true;
}

/**
 * virNetDevSetVfVlan. `vlan` null clears the tag without the caller having asked for it: a PF
 * whose embedded switch the host does not control answers EPERM, which is then no failure.
 */
async function setVfVlan(links: VfLinkControl, pf: string, vf: number, vlan: number | null): Promise<void> {
  if (vlan !== null && (vlan < 0 || vlan > 4095)) {
    // libvirt reports this one with the errno value as the error code.
    throw virError(ERANGE, VIR_FROM_NONE, `vlanid out of range: ${vlan}`);
  }
  const rc = await sendVfSetting(links, pf, vf, { vlan: vlan ?? 0 });
  if (rc === -EPERM && vlan === null) return;
  if (rc < 0) throw systemError(`Cannot set interface vlanid to ${vlan ?? 0} for ifname ${pf} vf ${vf}`, -rc, VIR_FROM_NONE);
}

/**
 * virNetDevSetNetConfig through the PF (virNetDevSetVfConfig and its retry): the MAC first, then
 * the VLAN, one message each so that a failure names its setting.
 */
export async function setVfNetConfig(links: VfLinkControl, pf: string, vf: number, mac: string | null, vlan: number | null): Promise<void> {
  if (mac !== null && !(await setVfMac(links, pf, vf, mac, true))) await setVfMac(links, pf, vf, ALT_ZERO_MAC, false);
  await setVfVlan(links, pf, vf, vlan);
}

/** What virNetDevSaveNetConfig keeps of a VF (the JSON keys are libvirt's). */
export interface SavedVfConfig {
  /** The admin MAC the PF held for the VF. */
  adminMac: string;
  vlanTag: number;
  /** The VF's own MAC, when a host network driver held it. */
  mac?: string;
}

/** <stateDir>/<pf>_vf<N>, as libvirt names it. */
export function vfConfigPath(stateDir: string, pf: string, vf: number): string {
  return path.join(stateDir, `${pf}_vf${vf}`);
}

/**
 * virNetDevSaveNetConfig for VF `vf` of `pf`: its admin MAC and VLAN from the PF, and `vfMac`,
 * the MAC of the VF's own host interface if it has one, to `<stateDir>/<pf>_vf<vf>`.
 * `vfIfname` only names the device in the error message.
 */
export async function saveVfNetConfig(
  links: VfLinkControl,
  pf: string,
  vf: number,
  vfIfname: string | null,
  vfMac: string | null,
  stateDir: string,
): Promise<SavedVfConfig> {
  const { mac: adminMac, vlan: vlanTag } = await getVfConfig(links, pf, vf);
  const saved: SavedVfConfig = vfMac !== null ? { adminMac, vlanTag, mac: vfMac } : { adminMac, vlanTag };
  try {
    await fsp.mkdir(stateDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(vfConfigPath(stateDir, pf, vf), `${JSON.stringify(saved, null, 2)}\n`);
  } catch (err) {
    const errno = Math.abs((err as NodeJS.ErrnoException).errno ?? 0);
    throw systemError(`Unable to preserve mac/vlan tag for device = ${vfIfname ?? '(null)'}, vf = ${vf}`, errno, VIR_FROM_NONE);
  }
  return saved;
}

/**
 * virNetDevReadNetConfig: what was saved for the VF, and the file removed; null when nothing was
 * saved. A file that is not a saved config is left where it is and reported.
 */
export async function readVfNetConfig(pf: string, vf: number, stateDir: string): Promise<SavedVfConfig | null> {
  const file = vfConfigPath(stateDir, pf, vf);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw systemError(`Failed to open file '${file}'`, Math.abs((err as NodeJS.ErrnoException).errno ?? 0), VIR_FROM_NONE);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `invalid json in net device saved config file '${file}': '${text.slice(0, 60)}'`);
  }
  const mac = typeof json.mac === 'string' ? json.mac : undefined;
  const adminMac = typeof json.adminMac === 'string' ? json.adminMac : undefined;
  if (mac === undefined && adminMac === undefined) {
    throw virError(
      VIR_ERR_INTERNAL_ERROR,
      VIR_FROM_NONE,
      `network device saved config file '${file}' has unexpected contents, missing both 'MAC' and 'adminMAC': '${text.slice(0, 60)}'`,
    );
  }
  for (const value of [mac, adminMac]) {
    if (value !== undefined && !parseMAC(value)) {
      throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `cannot parse MAC address '${value}' from file '${file}'`);
    }
  }
  await fsp.rm(file, { force: true });
  const vlanTag = typeof json.vlanTag === 'number' && Number.isInteger(json.vlanTag) ? json.vlanTag : -1;
  return { adminMac: adminMac ?? ZERO_MAC, vlanTag, ...(mac !== undefined ? { mac } : {}) };
}

/**
 * virHostdevRestoreNetConfig for a VF: the saved settings go back through the PF. The VF's own
 * former MAC becomes its admin MAC, which its host driver takes when it binds again; the VLAN is
 * set back explicitly. Resolves to false when nothing was saved.
 */
export async function restoreVfNetConfig(links: VfLinkControl, pf: string, vf: number, stateDir: string): Promise<boolean> {
  const saved = await readVfNetConfig(pf, vf, stateDir);
  if (!saved) return false;
  await setVfNetConfig(links, pf, vf, saved.mac ?? saved.adminMac, saved.vlanTag >= 0 ? saved.vlanTag : 0);
  return true;
}

