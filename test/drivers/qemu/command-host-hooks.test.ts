// What the command line takes from the host or the caller (made-up UUIDs, SCSI generic nodes,
// vhost-scsi fds, passt sockets), and what a real start refuses until virtnode does the host side:
// without the hook, the construct is refused with a VirError rather than rendered half right.
import assert from 'node:assert/strict';
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU } from '../../../src/error';
import { buildCommandLine } from '../../../src/drivers/qemu/command';
import { qemuParseDomainXML } from '../../../src/drivers/qemu/postparse';
import { launchQemu } from '../../../src/drivers/qemu/process';
import { FAKE_BASIC_FLAGS, fakeTestCaps } from '../../../src/tools/qemu-test-env';

const caps = fakeTestCaps([...FAKE_BASIC_FLAGS, 'device.json', 'object.qapified', 'netdev.json', 'netdev.stream', 'compat-deprecated']);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function domain(devices: string, extra = '', root = "<domain type='qemu'>"): string {
  return `${root}<name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>219136</memory><vcpu>1</vcpu>${extra}
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${devices}</devices></domain>`;
}

function unsupported(message: string): Partial<Record<string, unknown>> {
  return { code: VIR_ERR_CONFIG_UNSUPPORTED, domain: VIR_FROM_QEMU, message: `unsupported configuration: ${message}` };
}

describe('qemu command line: host hooks and refusals', function () {
  it('1. makes up a random version-4 genid for an empty <genid/>, or takes it from the injected source', function () {
    const xml = domain('', '<genid/>');
    const a = qemuParseDomainXML(xml, caps).genid!;
    const b = qemuParseDomainXML(xml, caps).genid!;
    assert.match(a, UUID_RE);
    assert.notEqual(a, b);
    const fixed = qemuParseDomainXML(xml, caps, undefined, {}, () => '00010203-0405-4607-8809-0a0b0c0d0e0f');
    assert.equal(fixed.genid, '00010203-0405-4607-8809-0a0b0c0d0e0f');
    assert.match(buildCommandLine(fixed, caps).args.join(' '), /"guid":"00010203-0405-4607-8809-0a0b0c0d0e0f"/);
  });

  it('2. refuses a passt interface when no passt state directory is configured', function () {
    const def = qemuParseDomainXML(domain("<interface type='user'><backend type='passt'/><model type='virtio'/></interface>"), caps);
    assert.throws(() => buildCommandLine(def, caps), unsupported('the passt backend is not supported yet'));
    const args = buildCommandLine(def, caps, { config: { passtStateDir: '/run/p' } }).args.join(' ');
    assert.match(args, /"type":"stream","addr":\{"type":"unix","path":"\/run\/p\/-1-g-net0.socket"\},"server":false/);
  });

  it('3. refuses a SCSI hostdev on an adapter without a way to find its SCSI generic node', function () {
    const hostdev = `<controller type='scsi' index='0' model='lsilogic'/>
      <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='0'/></source>
      <address type='drive' controller='0' bus='0' target='0' unit='1'/></hostdev>`;
    const def = qemuParseDomainXML(domain(hostdev), caps);
    assert.throws(() => buildCommandLine(def, caps), unsupported('SCSI host device settings are not supported yet'));
    const args = buildCommandLine(def, caps, { scsiGenericName: (adapter, bus, target, unit) => `sg-${adapter}-${bus}-${target}-${unit}` }).args;
    assert.ok(args.includes('{"driver":"host_device","filename":"/dev/sg-scsi_host0-0-0-0","node-name":"libvirt-1-backend","read-only":false}'));
  });

  it('4. refuses a vhost-scsi hostdev without an opener for /dev/vhost-scsi', function () {
    const def = qemuParseDomainXML(domain("<hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' wwpn='naa.5123456789abcde0'/></hostdev>"), caps);
    assert.throws(() => buildCommandLine(def, caps), unsupported('SCSI host device settings are not supported yet'));
    assert.match(buildCommandLine(def, caps, { openVhostScsi: () => 7 }).args.join(' '), /"driver":"vhost-scsi-pci","wwpn":"naa.5123456789abcde0","vhostfd":"7"/);
  });

  it('5. applies <qemu:override> frontend properties and refuses QEMU namespace elements it does not know', function () {
    const root = "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>";
    const disk = "<disk type='file' device='disk'><source file='/i.img'/><target dev='vda' bus='virtio'/><alias name='ua-d'/></disk>";
    const override = `<qemu:override><qemu:device alias='ua-d'><qemu:frontend>
      <qemu:property name='drive' type='remove'/><qemu:property name='x' type='unsigned' value='5'/></qemu:frontend></qemu:device></qemu:override>`;
    const args = buildCommandLine(qemuParseDomainXML(domain(disk, '', root).replace('</domain>', `${override}</domain>`), caps), caps).args;
    const device = args.find((a) => a.includes('"id":"ua-d"'))!;
    assert.ok(!device.includes('"drive"'));
    assert.ok(device.endsWith('"x":5}'));
    const bogus = qemuParseDomainXML(domain('', '', root).replace('</domain>', "<qemu:deprecation behavior='bogus'/></domain>"), caps);
    assert.throws(() => buildCommandLine(bogus, caps), unsupported("QEMU namespace deprecation behavior 'bogus' is not supported yet"));
    const reject = qemuParseDomainXML(domain('', '', root).replace('</domain>', "<qemu:deprecation behavior='reject'/></domain>"), caps);
    assert.ok(buildCommandLine(reject, caps).args.includes('{"deprecated-output":"hide","deprecated-input":"reject"}'));
  });

  it('6. a real start refuses transient disks, managed reservations, NVMe disks and SEV before touching the host', async function () {
    const cases: Array<[string, string, string]> = [
      ["<disk type='file' device='disk'><source file='/i.img'/><target dev='vda' bus='virtio'/><transient/></disk>", '', 'transient disks are not supported yet'],
      ["<controller type='scsi' model='virtio-scsi'/><disk type='block' device='lun'><source dev='/dev/sdz'><reservations managed='yes'/></source><target dev='sda' bus='scsi'/></disk>",
        '', 'managed persistent reservations are not supported yet'],
      ["<disk type='nvme' device='disk'><source type='pci' managed='no' namespace='1'><address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></source><target dev='vda' bus='virtio'/></disk>",
        '', 'NVMe disks are not supported yet'],
      ['', "<launchSecurity type='sev'><cbitpos>47</cbitpos><reducedPhysBits>1</reducedPhysBits><policy>0x0001</policy></launchSecurity>", 'launch security is not supported yet'],
    ];
    for (const [devices, extra, message] of cases) {
      const def = qemuParseDomainXML(domain(devices, extra), caps);
      await assert.rejects(
        launchQemu({ id: 1, def, caps, dirs: { libDir: '/nonexistent/lib', logDir: '/nonexistent/log' }, privileged: false, monitorTimeoutMs: 1000, diskNodeIndexes: new Map() }),
        unsupported(message),
      );
    }
  });
});
