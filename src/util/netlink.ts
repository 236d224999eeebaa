// rtnetlink messages for SR-IOV VF configuration (include/uapi/linux/netlink.h, rtnetlink.h,
// if_link.h), built and read here byte by byte; the addon only carries them to the kernel and
// back (native/netlink.cc). Host byte order throughout, as netlink uses: little-endian on every
// machine virtnode runs on.
import os from 'node:os';
import { formatMAC } from './mac';

export const NETLINK_ROUTE = 0;

export const NLMSG_HDRLEN = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
/** In an NLMSG_ERROR: the copy of the request is cut to its header. */
export const NLM_F_CAPPED = 0x100;
/** In an NLMSG_ERROR: extended-ack attributes follow the request's copy. */
export const NLM_F_ACK_TLVS = 0x200;
/** NLMSGERR_ATTR_MSG: the kernel's text for an error. */
const NLMSGERR_ATTR_MSG = 1;

export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const AF_UNSPEC = 0;
export const IFINFOMSG_LEN = 16;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_NUM_VF = 21;
export const IFLA_VFINFO_LIST = 22;
export const IFLA_EXT_MASK = 29;
export const IFLA_VF_INFO = 1;
export const IFLA_VF_MAC = 1;
export const IFLA_VF_VLAN = 2;
export const RTEXT_FILTER_VF = 1 << 0;
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

const NLA_HDRLEN = 4;
/** NLA_F_NESTED and NLA_F_NET_BYTEORDER ride in the top bits of an attribute's type. */
const NLA_TYPE_MASK = 0x3fff;
/** struct ifla_vf_mac: u32 vf, u8 mac[32] */
const IFLA_VF_MAC_LEN = 36;
/** struct ifla_vf_vlan: u32 vf, vlan, qos */
const IFLA_VF_VLAN_LEN = 12;

const align4 = (n: number) => (n + 3) & ~3;

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The bytes after the 16-byte header, nlmsg_len - 16 of them. */
  payload: Buffer;
}

export interface NetlinkAttr {
  /** The attribute type without the nested / byte-order flag bits. */
  type: number;
  payload: Buffer;
}

/** A reply the decoder cannot walk: lengths that do not add up, a missing header. */
export class NetlinkMalformedError extends Error {
  constructor(what: string) {
    super(`malformed netlink message: ${what}`);
  }
}

const errnoNames = new Map(Object.entries(os.constants.errno).map(([name, value]) => [value, name]));

/** The kernel's "no" in an NLMSG_ERROR, shaped like Node's system errors (errno negative). */
export class NetlinkError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall = 'netlink';
  /** NLMSGERR_ATTR_MSG, when the kernel said why. */
  readonly extAck?: string;

  constructor(error: number, extAck?: string) {
    const code = errnoNames.get(-error) ?? `errno ${-error}`;
    super(`${code}: netlink request refused${extAck ? ` (${extAck})` : ''}`);
    this.errno = error;
    this.code = code;
    this.extAck = extAck;
  }
}

export function encodeMessage(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const header = Buffer.alloc(NLMSG_HDRLEN);
  header.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt32LE(seq >>> 0, 8);
  header.writeUInt32LE(0, 12); // the kernel's port id: 0
  return Buffer.concat([header, body]);
}

/** One attribute: the 4-byte header (length counts the payload, not the padding), payload, zero padding. */
export function encodeAttr(type: number, payload: Buffer): Buffer {
  const len = NLA_HDRLEN + payload.length;
  const out = Buffer.alloc(align4(len));
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, NLA_HDRLEN);
  return out;
}

/** A nest, typed without NLA_F_NESTED as libnl (and so libvirt) sends it; the kernel takes both. */
export function encodeNested(type: number, children: Buffer[]): Buffer {
  return encodeAttr(type, Buffer.concat(children));
}

export function encodeU32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0, 0);
  return b;
}

/** A C string attribute payload: the bytes and the terminating NUL. */
export function encodeString(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.alloc(1)]);
}

/** struct ifinfomsg: family, pad, type, index (signed), flags, change. */
export function encodeIfinfomsg(index: number): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(AF_UNSPEC, 0);
  b.writeInt32LE(index, 4);
  return b;
}

/** The messages of one datagram, in order. */
export function decodeMessages(datagram: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  for (let at = 0; at < datagram.length; ) {
    if (datagram.length - at < NLMSG_HDRLEN) throw new NetlinkMalformedError(`${datagram.length - at} stray bytes after the last message`);
    const len = datagram.readUInt32LE(at);
    if (len < NLMSG_HDRLEN || len > datagram.length - at) throw new NetlinkMalformedError(`nlmsg_len ${len} at offset ${at} of ${datagram.length}`);
    out.push({
      type: datagram.readUInt16LE(at + 4),
      flags: datagram.readUInt16LE(at + 6),
      seq: datagram.readUInt32LE(at + 8),
      pid: datagram.readUInt32LE(at + 12),
      payload: datagram.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at += align4(len);
  }
  return out;
}

/** The attributes packed in `buf`, in order. */
export function decodeAttrs(buf: Buffer): NetlinkAttr[] {
  const out: NetlinkAttr[] = [];
  for (let at = 0; at + NLA_HDRLEN <= buf.length; ) {
    const len = buf.readUInt16LE(at);
    if (len < NLA_HDRLEN || len > buf.length - at) throw new NetlinkMalformedError(`nla_len ${len} at offset ${at} of ${buf.length}`);
    out.push({ type: buf.readUInt16LE(at + 2) & NLA_TYPE_MASK, payload: buf.subarray(at + NLA_HDRLEN, at + len) });
    at += align4(len);
  }
  return out;
}

/**
 * The error code of an NLMSG_ERROR (0 for an ACK, else -errno) and the kernel's extended-ack
 * text when it gave one.
 */
export function decodeError(msg: NetlinkMessage): { error: number; extAck?: string } {
  if (msg.payload.length < 4 + NLMSG_HDRLEN) throw new NetlinkMalformedError(`NLMSG_ERROR of ${msg.payload.length} bytes`);
  const error = msg.payload.readInt32LE(0);
  if ((msg.flags & NLM_F_ACK_TLVS) === 0) return { error };
  const requestLen = msg.payload.readUInt32LE(4);
  const copied = (msg.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : align4(requestLen);
  const tlvs = decodeAttrs(msg.payload.subarray(Math.min(msg.payload.length, 4 + copied)));
  const text = tlvs.find((a) => a.type === NLMSGERR_ATTR_MSG)?.payload;
  return text ? { error, extAck: text.toString('utf8').replace(/\0.*$/s, '') } : { error };
}

// ---- Links and their VFs ----

/** What `ip link set <pf> vf <n> ...` changes: one setting per message, as libvirt sends them. */
export type VfSetting = { mac: readonly number[] } | { vlan: number; qos?: number };

export interface VfInfo {
  vf: number;
  /** The VF's (admin) MAC: the first 6 of ifla_vf_mac's 32 bytes. */
  mac: string;
  vlan: number;
  qos: number;
}

export interface LinkInfo {
  index: number;
  /** ifi_flags: IFF_UP, ... */
  flags: number;
  ifname?: string;
  /** IFLA_NUM_VF; absent for a device with no parent bus device (ifb, lo). */
  numVf?: number;
  /** Whether IFLA_VFINFO_LIST was there at all (libvirt's "missing IFLA_VF_INFO"). */
  hasVfInfoList: boolean;
  vfs: VfInfo[];
}

/**
 * RTM_GETLINK of one interface by name, asking for VF information without statistics (which can
 * overflow a 64 KiB attribute on a PF with many VFs). NLM_F_ACK makes the kernel close the
 * answer with an ACK, so the transport knows it is complete.
 */
export function encodeGetLink(ifname: string, seq: number): Buffer {
  const body = Buffer.concat([
    encodeIfinfomsg(0),
    encodeAttr(IFLA_IFNAME, encodeString(ifname)),
    encodeAttr(IFLA_EXT_MASK, encodeU32(RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS)),
  ]);
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, body);
}

/**
 * RTM_SETLINK of one VF setting through its PF, addressed as libvirt does (index -1 and the
 * name): IFLA_VFINFO_LIST { IFLA_VF_INFO { IFLA_VF_MAC | IFLA_VF_VLAN } }.
 */
export function encodeSetVf(ifname: string, vf: number, setting: VfSetting, seq: number): Buffer {
  let attr: Buffer;
  if ('mac' in setting) {
    const payload = Buffer.alloc(IFLA_VF_MAC_LEN);
    payload.writeUInt32LE(vf, 0);
    Buffer.from(setting.mac).copy(payload, 4);
    attr = encodeAttr(IFLA_VF_MAC, payload);
  } else {
    const payload = Buffer.alloc(IFLA_VF_VLAN_LEN);
    payload.writeUInt32LE(vf, 0);
    payload.writeUInt32LE(setting.vlan, 4);
    payload.writeUInt32LE(setting.qos ?? 0, 8);
    attr = encodeAttr(IFLA_VF_VLAN, payload);
  }
  const body = Buffer.concat([
    encodeIfinfomsg(-1),
    encodeAttr(IFLA_IFNAME, encodeString(ifname)),
    encodeNested(IFLA_VFINFO_LIST, [encodeNested(IFLA_VF_INFO, [attr])]),
  ]);
  return encodeMessage(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, body);
}

/** The answer to `seq` among the datagrams: its messages, ending with the NLMSG_ERROR or NLMSG_DONE. */
function answerTo(datagrams: Buffer[], seq: number): NetlinkMessage[] {
  const messages = datagrams.flatMap(decodeMessages).filter((m) => m.seq === seq);
  const end = messages.findIndex((m) => m.type === NLMSG_ERROR || m.type === NLMSG_DONE);
  if (end < 0) throw new NetlinkMalformedError(`no NLMSG_ERROR or NLMSG_DONE for seq ${seq}`);
  return messages.slice(0, end + 1);
}

/** The outcome of a request sent with NLM_F_ACK and no answer but the ACK: 0, or -errno. */
export function decodeAck(datagrams: Buffer[], seq: number): number {
  const answer = answerTo(datagrams, seq);
  const last = answer[answer.length - 1];
  return last.type === NLMSG_DONE ? 0 : decodeError(last).error;
}

function decodeVfInfo(nest: Buffer): Partial<VfInfo> {
  const info: Partial<VfInfo> = {};
  for (const attr of decodeAttrs(nest)) {
    if (attr.type === IFLA_VF_MAC && attr.payload.length >= 10) {
      info.vf = attr.payload.readUInt32LE(0);
      info.mac = formatMAC([...attr.payload.subarray(4, 10)]);
    } else if (attr.type === IFLA_VF_VLAN && attr.payload.length >= IFLA_VF_VLAN_LEN) {
      info.vf ??= attr.payload.readUInt32LE(0);
      info.vlan = attr.payload.readUInt32LE(4);
      info.qos = attr.payload.readUInt32LE(8);
    }
  }
  return info;
}

/**
 * The RTM_NEWLINK answering an RTM_GETLINK. Rejects with NetlinkError when the kernel said no
 * (ENODEV for a name it does not know).
 */
export function decodeLinkReply(datagrams: Buffer[], seq: number): LinkInfo {
  const answer = answerTo(datagrams, seq);
  const last = answer[answer.length - 1];
  if (last.type === NLMSG_ERROR) {
    const { error, extAck } = decodeError(last);
    if (error !== 0) throw new NetlinkError(error, extAck);
  }
  const link = answer.find((m) => m.type === RTM_NEWLINK);
  if (!link) throw new NetlinkMalformedError('no RTM_NEWLINK in the answer');
  if (link.payload.length < IFINFOMSG_LEN) throw new NetlinkMalformedError(`RTM_NEWLINK of ${link.payload.length} bytes`);
  const info: LinkInfo = { index: link.payload.readInt32LE(4), flags: link.payload.readUInt32LE(8), hasVfInfoList: false, vfs: [] };
  for (const attr of decodeAttrs(link.payload.subarray(IFINFOMSG_LEN))) {
    if (attr.type === IFLA_IFNAME) info.ifname = attr.payload.toString('utf8').replace(/\0.*$/s, '');
    else if (attr.type === IFLA_NUM_VF && attr.payload.length >= 4) info.numVf = attr.payload.readUInt32LE(0);
    else if (attr.type === IFLA_VFINFO_LIST) {
      info.hasVfInfoList = true;
      for (const entry of decodeAttrs(attr.payload)) {
        if (entry.type !== IFLA_VF_INFO) continue;
        const vf = decodeVfInfo(entry.payload);
        if (vf.vf !== undefined) info.vfs.push({ vf: vf.vf, mac: vf.mac ?? '00:00:00:00:00:00', vlan: vf.vlan ?? 0, qos: vf.qos ?? 0 });
      }
    }
  }
  return info;
}
