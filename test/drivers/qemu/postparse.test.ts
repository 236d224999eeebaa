// The QEMU post-parse step and QEMU validation: teaming rules Q1/Q2 with libvirt's errors (the
// `.err` expectations of libvirt's tests), defaults and PCI addresses a user sees in dumpxml.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { formatDomainXML, parseDomainXML } from '../../../src/conf/domain';
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, VIR_FROM_QEMU, VirError } from '../../../src/error';
import type { QemuCaps } from '../../../src/drivers/qemu/capabilities';
import { buildCommandLine } from '../../../src/drivers/qemu/command';
import { qemuDomainXMLOptions, qemuParseDomainXML } from '../../../src/drivers/qemu/postparse';
import { FAKE_BASIC_FLAGS, fakeTestCaps, loadTestCaps } from '../../../src/tools/qemu-test-env';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const repliesFile = path.resolve(repoRoot, '..', 'shared', 'libvirt-9.0-tests', 'qemucapabilitiesdata', 'caps_8.0.0.x86_64.replies');

function domain(devices: string, machine = 'pc'): string {
  return `<domain type='qemu'>
  <name>QEMUGuest1</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>219100</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='${machine}'>hvm</type></os>
  <devices>
${devices}
  </devices>
</domain>`;
}

function expectError(fn: () => unknown, code: number, dom: number, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof VirError, `not a VirError: ${String(e)}`);
    assert.equal(e.message, message);
    assert.equal(e.code, code);
    assert.equal(e.domain, dom);
    return true;
  });
}

describe('QEMU post-parse and validation', function () {
  const caps = fakeTestCaps([...FAKE_BASIC_FLAGS, 'vfio-pci']);

  describe('teaming (libvirt-notes 1.5)', function () {
    it('Q1: a persistent member must be a virtio NIC', function () {
      const xml = domain(`<interface type='user'><mac address='00:11:22:33:44:55'/><model type='e1000'/>
        <teaming type='persistent'/><alias name='ua-backup0'/></interface>`);
      expectError(
        () => qemuParseDomainXML(xml, caps),
        VIR_ERR_CONFIG_UNSUPPORTED,
        VIR_FROM_QEMU,
        "unsupported configuration: virtio-net teaming persistent interface must be <model type='virtio'/>, not 'e1000'",
      );
    });

    it("Q1: a hostdev interface without a model reports '(null)'", function () {
      const xml = domain(`<interface type='hostdev' managed='yes'><mac address='00:11:22:33:44:55'/>
        <source><address type='pci' domain='0x0000' bus='0x03' slot='0x07' function='0x1'/></source>
        <teaming type='persistent'/></interface>`);
      expectError(
        () => parseDomainXML(xml, qemuDomainXMLOptions(caps)),
        VIR_ERR_CONFIG_UNSUPPORTED,
        VIR_FROM_QEMU,
        "unsupported configuration: virtio-net teaming persistent interface must be <model type='virtio'/>, not '(null)'",
      );
    });

    it('Q2: a transient member must be a hostdev (or network) interface', function () {
      const xml = domain(`<interface type='user'><mac address='00:11:22:33:44:55'/><model type='virtio'/>
        <teaming type='transient' persistent='ua-backup0'/></interface>`);
      expectError(
        () => qemuParseDomainXML(xml, caps),
        VIR_ERR_CONFIG_UNSUPPORTED,
        VIR_FROM_QEMU,
        "unsupported configuration: virtio-net teaming transient interface must be type='hostdev', not 'user'",
      );
    });

    it('generic rules still come from the domain code (V1, domain 20)', function () {
      const xml = domain(`<interface type='hostdev' managed='yes'><mac address='00:11:22:33:44:55'/>
        <source><address type='pci' domain='0x0000' bus='0x03' slot='0x07' function='0x1'/></source>
        <teaming type='transient'/></interface>`);
      expectError(
        () => qemuParseDomainXML(xml, caps),
        VIR_ERR_CONFIG_UNSUPPORTED,
        VIR_FROM_DOMAIN,
        "unsupported configuration: teaming persistent attribute must be set if teaming type is 'transient'",
      );
    });

    it('a valid pair builds failover on the NIC and failover_pair_id on the vfio-pci device', function () {
      const xml = domain(`<interface type='user'><mac address='00:11:22:33:44:55'/><model type='virtio'/>
        <teaming type='persistent'/><alias name='ua-backup0'/></interface>
        <interface type='hostdev' managed='yes'><mac address='00:11:22:33:44:55'/>
        <source><address type='pci' domain='0x0000' bus='0x03' slot='0x07' function='0x1'/></source>
        <teaming type='transient' persistent='ua-backup0'/></interface>`);
      const args = buildCommandLine(qemuParseDomainXML(xml, caps), caps).args;
      assert.ok(args.includes('virtio-net-pci,failover=on,netdev=hostua-backup0,id=ua-backup0,mac=00:11:22:33:44:55,bus=pci.0,addr=0x2'));
      assert.ok(args.includes('vfio-pci,host=0000:03:07.1,id=hostdev0,failover_pair_id=ua-backup0,bus=pci.0,addr=0x3'));
      assert.ok(!args.some((a) => a.startsWith('user,id=hostnet')), 'the hostdev interface has no netdev of its own');
    });
  });

  describe('defaults with caps 8.0.0', function () {
    let real: QemuCaps;
    before(async function () {
      if (!fs.existsSync(repliesFile)) this.skip();
      real = await loadTestCaps(repliesFile);
    });

    it('an empty pc domain gets its USB controller, PCI root, PS/2 inputs, balloon, audio and CPU', function () {
      const xml = formatDomainXML(qemuParseDomainXML(domain(''), real), 2);
      assert.match(xml, /<model fallback='forbid'>qemu64<\/model>/);
      assert.match(xml, /<controller type='usb' index='0' model='piix3-uhci'>\n\s*<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'\/>/);
      assert.match(xml, /<controller type='pci' index='0' model='pci-root'\/>/);
      assert.match(xml, /<input type='mouse' bus='ps2'\/>\n\s*<input type='keyboard' bus='ps2'\/>/);
      assert.match(xml, /<audio id='1' type='none'\/>/);
      assert.match(xml, /<memballoon model='virtio'>\n\s*<address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'\/>/);
    });

    it('q35 endpoints each get a pcie-root-port, plus one spare', function () {
      const def = qemuParseDomainXML(domain("<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>", 'q35'), real);
      const ports = def.devices.controllers.filter((c) => c.model === 'pcie-root-port');
      // NIC, USB controller and balloon, plus the spare.
      assert.equal(ports.length, 4);
      assert.deepEqual(def.devices.interfaces[0].info.address?.pci, { domain: 0, bus: 1, slot: 0, function: 0 });
    });

    it('refuses what it cannot build instead of dropping it', function () {
      const def = qemuParseDomainXML(domain("<hub type='usb'/>"), real);
      assert.throws(() => buildCommandLine(def, real), (e: unknown) => e instanceof VirError && e.code === VIR_ERR_CONFIG_UNSUPPORTED);
    });
  });
});
