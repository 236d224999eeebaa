// buildCommandLine's contract beyond the golden files: it does not change the definition it is
// given (aliases and USB ports are assigned for the build only), it refuses what it cannot
// express, and the qemu.conf settings it takes change the command line as libvirt's do.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildCommandLine } from '../../../src/drivers/qemu/command';
import { qemuParseDomainXML } from '../../../src/drivers/qemu/postparse';
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
    const def = qemuParseDomainXML(minimal(`<graphics type='spice' port='5903' tlsPort='5904' autoport='no' listen='127.0.0.1'/>`), caps);
    assert.throws(() => buildCommandLine(def, caps), {
      code: 67, message: 'unsupported configuration: spice TLS port set in XML configuration, but TLS is disabled in qemu.conf',
    });
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
});
