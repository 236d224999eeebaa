// buildCommandLine's contract beyond the golden files: it does not change the definition it is
// given (aliases and USB ports are assigned for the build only), it refuses what it cannot
// express, and the qemu.conf settings it takes change the command line as libvirt's do.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildCommandLine } from '../../../src/drivers/qemu/command';
import { qemuParseDomainXML } from '../../../src/drivers/qemu/postparse';
import type { StorageLookup, StoragePoolInfo, StorageVolumeInfo } from '../../../src/drivers/qemu/storage-source';
import { loadTestCaps } from '../../../src/tools/qemu-test-env';

const testsDir = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'libvirt-9.0-tests');
const argvDir = path.join(testsDir, 'qemuxml2argvdata');
const repliesFile = path.join(testsDir, 'qemucapabilitiesdata', 'caps_8.0.0.x86_64.replies');

const SAMPLE = [
  'q35-multifunction', 'hostdev-usb-address', 'disk-usb-device', 'serial-many-chardev', 'hugepages-memaccess',
  'memory-hotplug-dimm-addr', 'fs9p', 'tpm-passthrough-crb', 'net-vhostuser', 'boot-order',
];

const HOST = { hugetlbfs: [{ mount: '/dev/hugepages2M', sizeKiB: 2048, isDefault: true }, { mount: '/dev/hugepages1G', sizeKiB: 1048576 }], tpmPassthroughFds: [1730, 1731] as [number, number] };

function minimal(devices: string, extra = ''): string {
  return `<domain type='qemu'><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>219136</memory><vcpu>1</vcpu>${extra}
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${devices}</devices></domain>`;
}

describe('qemu buildCommandLine', function () {
  if (!fs.existsSync(repliesFile)) {
    it.skip(`needs libvirt's test data in ${testsDir}`);
    return;
  }

  it('leaves the definition it is given exactly as it was', async function () {
    const caps = await loadTestCaps(repliesFile);
    for (const name of SAMPLE) {
      const def = qemuParseDomainXML(fs.readFileSync(path.join(argvDir, `${name}.xml`), 'utf8'), caps);
      const before = structuredClone(def);
      const first = buildCommandLine(def, caps, HOST).toString({ linebreaks: true });
      assert.deepStrictEqual(def, before, `${name}: definition changed`);
      assert.equal(buildCommandLine(def, caps, HOST).toString({ linebreaks: true }), first, `${name}: second build differs`);
    }
  });

  it('leaves the definition unchanged when it refuses a device', async function () {
    const caps = await loadTestCaps(repliesFile);
    const def = qemuParseDomainXML(minimal(`<input type='tablet' bus='usb'/><shmem name='shared'/>`), caps);
    const before = structuredClone(def);
    assert.throws(() => buildCommandLine(def, caps), { code: 67, message: /shmem devices are not supported yet/ });
    assert.deepStrictEqual(def, before);
  });

  it('needs hugetlbfs mounts for huge pages, as libvirt does', async function () {
    const caps = await loadTestCaps(repliesFile);
    const def = qemuParseDomainXML(minimal('', `<memoryBacking><hugepages/></memoryBacking>`), caps);
    assert.throws(() => buildCommandLine(def, caps), {
      code: 1, message: 'internal error: hugetlbfs filesystem is not mounted or disabled by administrator config',
    });
    const argv = buildCommandLine(def, caps, { hugetlbfs: [{ mount: '/mnt/huge', sizeKiB: 2048, isDefault: true }] }).toString({ linebreaks: true });
    assert.match(argv, /"qom-type":"memory-backend-file","id":"pc.ram","mem-path":"\/mnt\/huge\/libvirt\/qemu\/-1-g",.*"prealloc":true,"size":224395264/);
  });

  it('refuses a TLS port for SPICE unless qemu.conf enables SPICE TLS', async function () {
    const caps = await loadTestCaps(repliesFile);
    const xml = minimal(`<graphics type='spice' port='5903' tlsPort='5904' autoport='no' listen='127.0.0.1'/>`);
    const refusal = { code: 67, message: 'unsupported configuration: spice TLS port set in XML configuration, but TLS is disabled in qemu.conf' };
    // Refused when defined (libvirt's validation), and again at start should qemu.conf have changed.
    assert.throws(() => qemuParseDomainXML(xml, caps), refusal);
    const def = qemuParseDomainXML(xml, caps, undefined, { spiceTLS: true });
    assert.throws(() => buildCommandLine(def, caps), refusal);
    const argv = buildCommandLine(def, caps, { config: { spiceTLS: true, spiceTLSx509certdir: '/etc/my-pki' } }).toString({ linebreaks: true });
    assert.match(argv, /-spice port=5903,tls-port=5904,addr=127\.0\.0\.1,disable-ticketing=on,x509-dir=\/etc\/my-pki,seamless-migration=on/);
  });

  it('disables SPICE tickets unless the display or qemu.conf has a password', async function () {
    const caps = await loadTestCaps(repliesFile);
    const spice = (passwd: string) => qemuParseDomainXML(minimal(`<graphics type='spice' port='5903' autoport='no' listen='127.0.0.1'${passwd}/>`), caps);
    const spiceArg = (argv: string) => /^-spice (.*) \\$/m.exec(argv)?.[1];
    assert.equal(spiceArg(buildCommandLine(spice(''), caps).toString({ linebreaks: true })), 'port=5903,addr=127.0.0.1,disable-ticketing=on,seamless-migration=on');
    assert.equal(spiceArg(buildCommandLine(spice(" passwd='secret'"), caps).toString({ linebreaks: true })), 'port=5903,addr=127.0.0.1,seamless-migration=on');
    assert.equal(spiceArg(buildCommandLine(spice(''), caps, { config: { spicePassword: 'qemu.conf' } }).toString({ linebreaks: true })), 'port=5903,addr=127.0.0.1,seamless-migration=on');
  });

  it('puts VNC on TLS and SASL when qemu.conf says so, with SASL_CONF_PATH in the environment', async function () {
    const caps = await loadTestCaps(repliesFile);
    const def = qemuParseDomainXML(minimal(`<graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1'/>`), caps);
    const argv = buildCommandLine(def, caps, { config: { vncTLS: true, vncSASL: true, vncSASLdir: '/etc/sasl2' } }).toString({ linebreaks: true });
    assert.match(argv, /^SASL_CONF_PATH=\/etc\/sasl2 \\$/m);
    assert.match(argv, /-object '\{"qom-type":"tls-creds-x509","id":"vnc-tls-creds0","dir":"\/etc\/pki\/libvirt-vnc","endpoint":"server","verify-peer":false\}'/);
    assert.match(argv, /-vnc 127\.0\.0\.1:1,tls-creds=vnc-tls-creds0,sasl=on,audiodev=audio1/);
  });

  it('gives a guest without display the host audio backend only when qemu.conf allows it', async function () {
    const caps = await loadTestCaps(repliesFile);
    const silent = buildCommandLine(qemuParseDomainXML(minimal(''), caps), caps).toString({ linebreaks: true });
    assert.match(silent, /-audiodev '\{"id":"audio1","driver":"none"\}'/);
    const config = { nogfxAllowHostAudio: true, audioEnv: { QEMU_AUDIO_DRV: 'pa' } };
    const def = qemuParseDomainXML(minimal(''), caps, undefined, config);
    assert.match(buildCommandLine(def, caps).toString({ linebreaks: true }), /-audiodev '\{"id":"audio1","driver":"pa"\}'/);
    assert.throws(() => qemuParseDomainXML(minimal(''), caps, undefined, { nogfxAllowHostAudio: true, audioEnv: { QEMU_AUDIO_DRV: 'bogus' } }), {
      message: 'unsupported configuration: unknown QEMU_AUDIO_DRV setting bogus',
    });
  });

  const VOLUME_DISK = `<disk type='volume' device='disk'><source pool='images' volume='guest.qcow2'/><target dev='vda' bus='virtio'/></disk>`;
  const volumeStorage = (pool: StoragePoolInfo, vol: StorageVolumeInfo): StorageLookup => ({ lookupPool: () => pool, lookupVolume: () => vol });

  it('fails on a pool volume disk as on a missing pool when there is no storage driver', async function () {
    const caps = await loadTestCaps(repliesFile);
    const def = qemuParseDomainXML(minimal(VOLUME_DISK), caps);
    assert.throws(() => buildCommandLine(def, caps), {
      code: 49, domain: 18, message: "Storage pool not found: no storage pool with matching name 'images'",
    });
  });

  it('opens a pool volume as the file it is, in the format the pool gives or raw, keeping the definition', async function () {
    const caps = await loadTestCaps(repliesFile);
    const def = qemuParseDomainXML(minimal(VOLUME_DISK), caps);
    const before = structuredClone(def);
    const storage = volumeStorage({ type: 'dir', active: true }, { type: 'file', path: '/var/lib/images/guest.qcow2' });
    const argv = buildCommandLine(def, caps, { storage }).toString({ linebreaks: true });
    assert.match(argv, /-blockdev '\{"driver":"file","filename":"\/var\/lib\/images\/guest\.qcow2","node-name":"libvirt-1-storage"/);
    assert.match(argv, /-blockdev '\{"node-name":"libvirt-1-format","read-only":false,"driver":"raw","file":"libvirt-1-storage"\}'/);
    assert.deepStrictEqual(def, before);
  });

  it('refuses a volume of an inactive pool, and a source mode outside iSCSI pools', async function () {
    const caps = await loadTestCaps(repliesFile);
    const def = qemuParseDomainXML(minimal(VOLUME_DISK), caps);
    const inactive = volumeStorage({ type: 'dir', active: false }, { type: 'file', path: '/x' });
    assert.throws(() => buildCommandLine(def, caps, { storage: inactive }), {
      code: 67, message: "unsupported configuration: storage pool 'images' containing volume 'guest.qcow2' is not active",
    });
    const direct = qemuParseDomainXML(minimal(VOLUME_DISK.replace("volume='guest.qcow2'", "volume='guest.qcow2' mode='direct'")), caps);
    assert.throws(() => buildCommandLine(direct, caps, { storage: volumeStorage({ type: 'dir', active: true }, { type: 'file', path: '/x' }) }), {
      code: 27, message: 'XML error: disk source mode is only valid when storage pool is of iscsi type',
    });
  });

  it("reaches an iSCSI pool's LUN directly with the pool's credentials, not the disk's", async function () {
    const caps = await loadTestCaps(repliesFile);
    const def = qemuParseDomainXML(minimal(`<disk type='volume' device='disk'><auth username='mine'><secret type='iscsi' usage='x'/></auth>
      <source pool='san' volume='unit:0:0:7' mode='direct'/><target dev='vda' bus='virtio'/></disk>`), caps);
    const pool: StoragePoolInfo = {
      type: 'iscsi', active: true, hosts: [{ name: 'san.example.org', port: 3261 }], devices: ['iqn.2004-04.org.example:t1'],
      auth: { username: 'admin', secret: { uuid: '2ec115d7-3a88-3ceb-bc12-0ac909a6fd87' } },
    };
    const asked: Array<{ type: string; uuid?: string; usage?: string }> = [];
    const secrets = { masterKey: Buffer.alloc(32), lookup: (ref: { type: string; uuid?: string; usage?: string }) => (asked.push(ref), Buffer.from('pw')) };
    const argv = buildCommandLine(def, caps, { storage: volumeStorage(pool, { type: 'block', path: '/x' }), secrets }).toString({ linebreaks: true });
    assert.match(argv, /"driver":"iscsi","portal":"san\.example\.org:3261","target":"iqn\.2004-04\.org\.example:t1","lun":7,"transport":"tcp","user":"admin","password-secret":"libvirt-1-storage-auth-secret0"/);
    assert.deepStrictEqual(asked, [{ type: 'iscsi', uuid: '2ec115d7-3a88-3ceb-bc12-0ac909a6fd87', usage: undefined }]);
  });

  it('hands QEMU an fd group in an fd set of its own, and refuses a group never associated', async function () {
    const caps = await loadTestCaps(repliesFile);
    const def = qemuParseDomainXML(minimal(`<disk type='file' device='disk'><source file='/img' fdgroup='g1'/><target dev='vda' bus='virtio'/></disk>`), caps);
    assert.throws(() => buildCommandLine(def, caps), {
      code: 8, domain: 10, message: "invalid argument: file descriptor group 'g1' was not associated with the domain",
    });
    const argv = buildCommandLine(def, caps, { fdGroups: new Map([['g1', [40]]]) }).toString({ linebreaks: true });
    assert.match(argv, /-add-fd set=0,fd=40,opaque=libvirt-1-storage0 \\\n-blockdev '\{"driver":"file","filename":"\/dev\/fdset\/0","node-name":"libvirt-1-storage","read-only":false,"discard":"unmap"\}'/);
  });

  it('turns CPU features into QEMU properties, leaving out disabled ones this QEMU does not know', async function () {
    const caps = await loadTestCaps(repliesFile);
    const cpu = (features: string): string => `<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>Haswell</model>${features}</cpu>`;
    const def = qemuParseDomainXML(minimal('', cpu(`<feature policy='require' name='lahf_lm'/><feature policy='disable' name='pconfig'/><feature policy='forbid' name='vmx'/>`)).replace("type='qemu'", "type='kvm'"), caps);
    assert.match(buildCommandLine(def, caps).toString({ linebreaks: true }), /^-cpu Haswell,lahf-lm=on,vmx=off \\$/m);
    const optional = qemuParseDomainXML(minimal('', cpu(`<feature policy='optional' name='vmx'/>`)), caps);
    assert.throws(() => buildCommandLine(optional, caps), { code: 67, message: "unsupported configuration: CPU feature policy 'optional' is not supported yet" });
  });

  it('gives a KVM guest the host CPU (migratable unless it says not) and any guest QEMU\'s largest', async function () {
    const caps = await loadTestCaps(repliesFile);
    const kvm = (cpu: string): string => minimal('', cpu).replace("type='qemu'", "type='kvm'");
    const cpuLine = (xml: string): string | undefined => /^-cpu .*$/m.exec(buildCommandLine(qemuParseDomainXML(xml, caps), caps).toString({ linebreaks: true }))?.[0];
    const passthrough = qemuParseDomainXML(kvm("<cpu mode='host-passthrough'><feature policy='disable' name='vmx'/></cpu>"), caps);
    assert.deepEqual([...passthrough.cpu!.attrs], [['mode', 'host-passthrough'], ['check', 'none'], ['migratable', 'on']]);
    assert.equal(cpuLine(kvm("<cpu mode='host-passthrough'><feature policy='disable' name='vmx'/></cpu>")), '-cpu host,migratable=on,vmx=off \\');
    assert.equal(cpuLine(kvm("<cpu mode='host-passthrough' migratable='off'/>")), '-cpu host,migratable=off \\');
    assert.equal(cpuLine(minimal('', "<cpu mode='maximum'/>")), '-cpu max \\');
    assert.throws(() => buildCommandLine(qemuParseDomainXML(minimal('', "<cpu mode='host-passthrough'/>"), caps), caps), {
      code: 67,
      domain: 10,
      message: "unsupported configuration: CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 host is not supported by hypervisor",
    });
  });

  it('describes HMAT figures to QEMU and refuses a CPU-less initiator', async function () {
    const caps = await loadTestCaps(repliesFile);
    const numa = (ic: string): string => `<cpu><numa><cell id='0' cpus='0' memory='102400' unit='KiB'/><cell id='1' memory='102400' unit='KiB'/>
      <interconnects>${ic}</interconnects></numa></cpu>`;
    const good = qemuParseDomainXML(minimal('', numa(`<latency initiator='0' target='1' type='read' value='20'/>`)), caps);
    const argv = buildCommandLine(good, caps).toString({ linebreaks: true });
    assert.match(argv, /-machine pc,usb=off,dump-guest-core=off,hmat=on/);
    assert.match(argv, /-numa node,nodeid=1,initiator=0,memdev=ram-node1/);
    assert.match(argv, /-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=read-latency,latency=20/);
    const bad = qemuParseDomainXML(minimal('', numa(`<latency initiator='1' target='0' type='access' value='5'/>`)), caps);
    assert.throws(() => buildCommandLine(bad, caps), { code: 67, message: /NUMA node 1 doesn't have any CPUs/ });
  });
});
