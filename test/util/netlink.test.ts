// rtnetlink VF configuration: the bytes virtnode sends and reads (checked against messages laid
// out by hand from if_link.h), then the same requests against this machine's kernel through the
// addon, which has no SR-IOV NIC: no VFs to list, EOPNOTSUPP for VF settings, ENODEV for a
// missing interface, and no socket left behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { VIR_ERR_INTERNAL_ERROR, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, VirError } from '../../src/error';
import { native, packageRoot } from '../../src/native';
import {
  NetlinkError,
  NetlinkMalformedError,
  decodeAck,
  decodeError,
  decodeLinkReply,
  decodeMessages,
  encodeGetLink,
  encodeSetVf,
} from '../../src/util/netlink';
import { KernelVfLinks, getVfConfig, setVfNetConfig } from '../../src/util/netdev-vf';
import { rejection } from '../support/rejection';

/** Bytes written as hex pairs, spaces and newlines ignored. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

const zeros = (n: number) => '00'.repeat(n);

/** The error `p` rejects with, whatever its class (the raw layers reject with system errors). */
async function failure(p: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await p;
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  assert.fail('expected the call to fail');
}

describe('util/netlink: rtnetlink messages for VF configuration', () => {
  it('RTM_GETLINK by name asks for VF info without stats and for an ACK', () => {
    assert.deepEqual(
      encodeGetLink('lo', 0x01020304),
      hex(`30000000 1200 0500 04030201 00000000
           00000000 00000000 00000000 00000000
           0700 0300 6c6f0000
           0800 1d00 09000000`),
    );
  });

  it('RTM_SETLINK of a VF MAC goes to the PF by name (index -1), nested list > info > ifla_vf_mac', () => {
    assert.deepEqual(
      encodeSetVf('eth0', 3, { mac: [0x52, 0x54, 0x00, 0x6d, 0x90, 0x02] }, 7),
      hex(`5c000000 1300 0500 07000000 00000000
           00000000 ffffffff 00000000 00000000
           0900 0300 65746830 00000000
           3000 1600
             2c00 0100
               2800 0100 03000000 5254006d9002 ${zeros(26)}`),
    );
  });

  it('RTM_SETLINK of a VF VLAN carries ifla_vf_vlan {vf, vlan, qos}', () => {
    assert.deepEqual(
      encodeSetVf('eth0', 1, { vlan: 42 }, 8),
      hex(`44000000 1300 0500 08000000 00000000
           00000000 ffffffff 00000000 00000000
           0900 0300 65746830 00000000
           1800 1600
             1400 0100
               1000 0200 01000000 2a000000 00000000`),
    );
  });

  /** A PF with two VFs as the kernel answers RTM_GETLINK (nests flagged NLA_F_NESTED), then the ACK. */
  const pfReply = hex(`b0000000 1000 0000 09000000 d2040000
    0000 0100 05000000 03100000 00000000
    0b00 0300 656e7031733000 00
    0800 1500 02000000
    7c00 1680
      3c00 0180
        2800 0100 00000000 5254006d9002 ${zeros(26)}
        1000 0200 00000000 2a000000 00000000
      3c00 0180
        2800 0100 01000000 000000000000 ${zeros(26)}
        1000 0200 01000000 00000000 00000000
    24000000 0200 0001 09000000 d2040000
    00000000
    30000000 1200 0500 09000000 00000000`);

  it('reads a link: index, flags, name, IFLA_NUM_VF and each VF MAC and VLAN', () => {
    assert.deepEqual(decodeLinkReply([pfReply], 9), {
      index: 5,
      flags: 0x1003,
      ifname: 'enp1s0',
      numVf: 2,
      hasVfInfoList: true,
      vfs: [
        { vf: 0, mac: '52:54:00:6d:90:02', vlan: 42, qos: 0 },
        { vf: 1, mac: '00:00:00:00:00:00', vlan: 0, qos: 0 },
      ],
    });
    // Messages for other requests are not this one's answer.
    assert.throws(() => decodeLinkReply([pfReply], 10), NetlinkMalformedError);
  });

  it('reads NLMSG_ERROR: the -errno and the extended-ack text', () => {
    const refused = hex(`30000000 0200 0003 0b000000 00000000
      a1ffffff
      5c000000 1300 0500 0b000000 00000000
      0900 0100 6e6f706500 000000`);
    assert.equal(decodeAck([refused], 11), -95);
    assert.deepEqual(decodeError(decodeMessages(refused)[0]), { error: -95, extAck: 'nope' });
    const missing = hex(`24000000 0200 0001 0c000000 00000000 edffffff 30000000 1200 0500 0c000000 00000000`);
    const err = (() => {
      try {
        decodeLinkReply([missing], 12);
      } catch (e) {
        return e as NetlinkError;
      }
      throw new Error('decoded a refusal');
    })();
    assert.ok(err instanceof NetlinkError);
    assert.deepEqual([err.errno, err.code], [-19, 'ENODEV']);
  });

  it('refuses lengths that do not add up rather than reading past them', () => {
    assert.throws(() => decodeMessages(hex('40000000 0200 0000 01000000 00000000 00000000')), NetlinkMalformedError);
    assert.throws(() => decodeMessages(hex('0c000000 0200 0000 01000000 00000000')), NetlinkMalformedError);
    const badAttr = Buffer.from(pfReply.subarray(0, 0xb0));
    badAttr.writeUInt16LE(0x200, 16 + 16 + 12 + 8); // the VF list claims more than the message holds
    assert.throws(() => decodeLinkReply([Buffer.concat([badAttr, pfReply.subarray(0xb0)])], 9), NetlinkMalformedError);
  });
});

describe('util/netlink on this machine\'s kernel (rtnetlink, no SR-IOV NIC)', function () {
  const links = new KernelVfLinks();
  const MAC = '52:54:00:6d:90:02';
  let noVfDevice = 'lo';

  before(async function () {
    try {
      await links.getLink('lo');
    } catch (err) {
      console.log(`      skipped: rtnetlink is not usable here (${(err as Error).message})`);
      this.skip();
    }
    // An interface without VF support that nothing else uses: an ifb if there is one.
    noVfDevice = fs.readdirSync('/sys/class/net').find((n) => /^ifb\d+$/.test(n)) ?? 'lo';
    const probe = await links.setVf(noVfDevice, 0, { mac: [0x52, 0x54, 0, 0x6d, 0x90, 2] });
    if (probe === -1 || probe === -13) {
      console.log('      skipped: RTM_SETLINK needs CAP_NET_ADMIN');
      this.skip();
    }
  });

  it('RTM_GETLINK of every interface matches sysfs, and none has VFs', async () => {
    for (const name of fs.readdirSync('/sys/class/net')) {
      const link = await links.getLink(name);
      assert.equal(link.ifname, name);
      assert.equal(link.index, Number(fs.readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8')));
      // ifi_flags adds the operational bits (RUNNING, LOWER_UP) to what sysfs shows; IFF_UP is in both.
      assert.equal(link.flags & 1, Number.parseInt(fs.readFileSync(`/sys/class/net/${name}/flags`, 'utf8'), 16) & 1);
      // A device on a bus reports IFLA_NUM_VF 0; a virtual one (lo, ifb) none at all.
      const hasParent = fs.existsSync(`/sys/class/net/${name}/device`);
      assert.equal(link.numVf, hasParent ? 0 : undefined, name);
      assert.deepEqual(link.vfs, []);
    }
  });

  it('reading VF config of a device without VFs fails as libvirt does', async () => {
    const err = await rejection(getVfConfig(links, 'lo', 0));
    assert.deepEqual([err.code, err.domain, err.message], [VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'internal error: missing IFLA_VF_INFO in netlink response']);
  });

  it('setting a VF MAC or VLAN where the driver cannot: EOPNOTSUPP, named in libvirt\'s words', async () => {
    assert.equal(await links.setVf(noVfDevice, 0, { mac: [0x52, 0x54, 0, 0x6d, 0x90, 2] }), -95);
    assert.equal(await links.setVf(noVfDevice, 0, { vlan: 42 }), -95);
    const mac = await rejection(setVfNetConfig(links, noVfDevice, 0, MAC, null));
    assert.ok(mac instanceof VirError);
    assert.deepEqual([mac.code, mac.domain, mac.int1, mac.message], [
      VIR_ERR_SYSTEM_ERROR,
      VIR_FROM_NONE,
      95,
      `Cannot set interface MAC to ${MAC} for ifname ${noVfDevice} vf 0: Operation not supported`,
    ]);
    const vlan = await rejection(setVfNetConfig(links, noVfDevice, 2, null, 42));
    assert.equal(vlan.message, `Cannot set interface vlanid to 42 for ifname ${noVfDevice} vf 2: Operation not supported`);
    // Clearing a VLAN nobody asked for tolerates EPERM only; EOPNOTSUPP still fails.
    const clear = await rejection(setVfNetConfig(links, noVfDevice, 0, null, null));
    assert.equal(clear.message, `Cannot set interface vlanid to 0 for ifname ${noVfDevice} vf 0: Operation not supported`);
  });

  it('a name the kernel does not know: ENODEV with errno, before and after the policy layer', async () => {
    const raw = await failure(links.getLink('vn-nosuch0'));
    assert.ok(raw instanceof NetlinkError);
    assert.deepEqual([raw.code, raw.errno], ['ENODEV', -19]);
    assert.equal(await links.setVf('vn-nosuch0', 0, { vlan: 0 }), -19);
    const err = await rejection(getVfConfig(links, 'vn-nosuch0', 0));
    assert.deepEqual([err.code, err.domain, err.int1, err.message], [
      VIR_ERR_SYSTEM_ERROR,
      VIR_FROM_NONE,
      19,
      'Unable to get index for interface vn-nosuch0: No such device',
    ]);
  });

  it('socket failures reject with errno, code and syscall', async () => {
    const err = await failure(native().netlinkRequest(99, encodeGetLink('lo', 1), 2000));
    assert.deepEqual([err.code, err.errno, err.syscall], ['EPROTONOSUPPORT', -93, 'socket']);
    assert.equal(err.message, 'EPROTONOSUPPORT: Protocol not supported, socket');
    assert.throws(() => native().netlinkRequest(0, Buffer.alloc(8), 2000), TypeError);
  });

  it('leaves no fd behind across many requests, answered or refused, one at a time or at once', async () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    // One round first, so that whatever the process opens once (lazily, for good) is not counted.
    await links.getLink('lo');
    await links.setVf(noVfDevice, 0, { vlan: 1 });
    await links.getLink('vn-nosuch0').catch(() => undefined);
    const before = fds();
    for (let i = 0; i < 100; i++) {
      await links.getLink('lo');
      await links.setVf(noVfDevice, 0, { vlan: 1 });
      await links.getLink('vn-nosuch0').catch(() => undefined);
      await native().netlinkRequest(99, encodeGetLink('lo', 1), 2000).catch(() => undefined);
    }
    const together = await Promise.all(Array.from({ length: 32 }, () => links.getLink('lo')));
    assert.ok(together.every((l) => l.ifname === 'lo'));
    assert.equal(fds(), before);
  });

  it('survives worker threads terminated while their requests are in flight', function () {
    this.timeout(60_000);
    const fixture = path.join(__dirname, '..', 'data', 'native', 'terminate-mid-netlink.js');
    const result = spawnSync(process.execPath, [fixture, packageRoot, require.resolve('node-gyp-build'), encodeGetLink('lo', 5).toString('hex')], {
      encoding: 'utf8',
    });
    assert.equal(result.signal, null, `the process died of ${result.signal}:\n${result.stderr}`);
    assert.equal(result.status, 0, result.stderr);
    // The last request is answered by the RTM_NEWLINK and the ACK.
    assert.deepEqual(JSON.parse(result.stdout), { terminated: 48, replies: 2, leakedSockets: 0 });
  });

  it('a message the kernel does not answer ends in ETIMEDOUT from poll, and the socket is closed', async () => {
    // Without NLM_F_REQUEST the kernel drops the message, and without NLM_F_ACK says nothing.
    const silent = Buffer.from(encodeGetLink('lo', 77));
    silent.writeUInt16LE(0, 6);
    const before = fs.readdirSync('/proc/self/fd').length;
    const err = await failure(native().netlinkRequest(0, silent, 100));
    assert.deepEqual([err.code, err.errno, err.syscall], ['ETIMEDOUT', -110, 'poll']);
    assert.equal(fs.readdirSync('/proc/self/fd').length, before);
  });
});
