// The rtnetlink half of a fake SR-IOV host: PFs that keep an admin MAC and a VLAN per VF, as an
// igb-like driver does, behind virtnode's VfLinkControl seam. Their state lives in a file of the
// fake tree, so that a second process over the same tree sees what the first one set. Drivers'
// quirks that libvirt works around can be switched on: the all-zero MAC refused with EINVAL, and
// VLANs refused with EPERM where the host does not control the embedded switch.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatMAC } from '../../src/util/mac';
import { NetlinkError, type LinkInfo, type VfSetting } from '../../src/util/netlink';
import type { VfLinkControl } from '../../src/util/netdev-vf';

export interface FakeVfState {
  mac: string;
  vlan: number;
  qos: number;
}

export interface FakePf {
  ifname: string;
  index: number;
  /** One entry per enabled VF, by VF index. */
  vfs: FakeVfState[];
}

/** One RTM_SETLINK as the fake PF received it. */
export interface FakeVfCall {
  ifname: string;
  vf: number;
  setting: { mac: string } | { vlan: number; qos: number };
}

const { EINVAL, ENODEV, EPERM } = os.constants.errno;

export class FakeNetlink implements VfLinkControl {
  /** RTM_SETLINK requests in the order they came (this process only). */
  readonly calls: FakeVfCall[] = [];
  /** The driver answers EINVAL to the all-zero MAC (libvirt then uses 02:00:00:00:00:00). */
  rejectZeroMac = false;
  /** VLAN settings are refused with EPERM (the embedded switch is not the host's). */
  vlanRefused = false;
  /** The next settings of these kinds fail with this -errno. */
  readonly failNext = new Map<'mac' | 'vlan', number>();
  private readonly stateFile: string;

  constructor(
    private readonly root: string,
    pfs: FakePf[],
  ) {
    this.stateFile = path.join(root, 'fake-netlink.json');
    if (!fs.existsSync(this.stateFile)) this.save(pfs);
  }

  private load(): FakePf[] {
    return JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as FakePf[];
  }

  private save(pfs: FakePf[]): void {
    fs.writeFileSync(this.stateFile, JSON.stringify(pfs, null, 2));
  }

  /** What the PF holds for a VF now. */
  vf(ifname: string, vf: number): FakeVfState {
    const state = this.load().find((p) => p.ifname === ifname)?.vfs[vf];
    if (!state) throw new Error(`no fake VF ${vf} on ${ifname}`);
    return state;
  }

  /** An interface the kernel knows: a PF whose network driver holds it (its /sys/class/net entry exists). */
  private pf(pfs: FakePf[], ifname: string): FakePf | undefined {
    return fs.existsSync(path.join(this.root, 'sys/class/net', ifname)) ? pfs.find((p) => p.ifname === ifname) : undefined;
  }

  async getLink(ifname: string): Promise<LinkInfo> {
    const pf = this.pf(this.load(), ifname);
    if (!pf) throw new NetlinkError(-ENODEV);
    return {
      index: pf.index,
      flags: Number.parseInt(fs.readFileSync(path.join(this.root, 'sys/class/net', ifname, 'flags'), 'utf8'), 16),
      ifname,
      numVf: pf.vfs.length,
      hasVfInfoList: true,
      vfs: pf.vfs.map((v, vf) => ({ vf, ...v })),
    };
  }

  async setVf(ifname: string, vf: number, setting: VfSetting): Promise<number> {
    const call: FakeVfCall =
      'mac' in setting ? { ifname, vf, setting: { mac: formatMAC(setting.mac) } } : { ifname, vf, setting: { vlan: setting.vlan, qos: setting.qos ?? 0 } };
    this.calls.push(call);
    const pfs = this.load();
    const pf = this.pf(pfs, ifname);
    if (!pf) return -ENODEV;
    const kind = 'mac' in setting ? 'mac' : 'vlan';
    const failure = this.failNext.get(kind);
    if (failure !== undefined) {
      this.failNext.delete(kind);
      return failure;
    }
    const state = pf.vfs[vf];
    if (!state) return -EINVAL;
    if ('mac' in setting) {
      if ((setting.mac[0] & 1) === 1) return -EINVAL;
      if (this.rejectZeroMac && setting.mac.every((b) => b === 0)) return -EINVAL;
      state.mac = formatMAC(setting.mac);
    } else {
      if (this.vlanRefused) return -EPERM;
      if (setting.vlan > 4095 || (setting.qos ?? 0) > 7) return -EINVAL;
      state.vlan = setting.vlan;
      state.qos = setting.qos ?? 0;
    }
    this.save(pfs);
    return 0;
  }
}
