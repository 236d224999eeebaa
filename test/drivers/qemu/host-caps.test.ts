// The QEMU driver's capability documents, built from a recorded probe of QEMU (caps 8.0.0) and
// host facts given by the test: what `virsh capabilities` and `virsh domcapabilities` show.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { QemuCaps } from '../../../src/drivers/qemu/capabilities';
import { qemuCapabilitiesXML, qemuDomainCapabilitiesXML, type QemuHostFacts } from '../../../src/drivers/qemu/host-caps';
import { capsFromRepliesFile } from '../../../src/drivers/qemu/replies';
import { parseXML, child, children, attr, textOf } from '../../../src/conf/xml';

const repliesFile = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'libvirt-9.0-tests', 'qemucapabilitiesdata', 'caps_8.0.0.x86_64.replies');
const BIN = '/usr/bin/qemu-system-x86_64';

const HOST: QemuHostFacts = {
  uuid: 'c7a5fdbd-edaf-9455-926a-d65c16db1809',
  arch: 'x86_64',
  cpu: { model: 'Skylake-Client', vendor: 'Intel', topology: { sockets: 1, dies: 1, cores: 2, threads: 1 }, features: ['vmx', 'ssbd'] },
  pageSizes: [4, 2048],
  powerManagement: ['suspend_mem'],
  iommu: false,
  migrationTransports: ['tcp', 'rdma'],
  cells: [{
    id: 0, memory: 2048000, pages: [{ size: 4, count: 512000 }, { size: 2048, count: 0 }], distances: [{ id: 0, value: 10 }],
    cpus: [{ id: 0, socketId: 0, dieId: 0, coreId: 0, siblings: '0' }, { id: 1, socketId: 0, dieId: 0, coreId: 1, siblings: '1' }],
  }],
  secModels: [{ model: 'none', doi: '0' }, { model: 'dac', doi: '0', baseLabels: [{ type: 'kvm', label: '+64055:+994' }, { type: 'qemu', label: '+64055:+994' }] }],
};

describe('qemu host and domain capabilities XML', function () {
  let caps: QemuCaps;
  before(async function () {
    if (!fs.existsSync(repliesFile)) this.skip();
    caps = await capsFromRepliesFile(repliesFile);
  });

  it('describes the host, then i686 and x86_64 guests of the one x86_64 binary', function () {
    const doc = parseXML(qemuCapabilitiesXML(HOST, [{ binary: BIN, caps }]), 'caps');
    const host = child(doc, 'host')!;
    assert.equal(textOf(child(host, 'uuid')), HOST.uuid);
    assert.equal(textOf(child(child(host, 'cpu')!, 'model')), 'Skylake-Client');
    assert.deepEqual(children(child(host, 'cpu')!, 'feature').map((f) => attr(f, 'name')), ['vmx', 'ssbd']);
    assert.ok(child(child(host, 'power_management')!, 'suspend_mem'));
    assert.equal(attr(child(child(host, 'topology')!, 'cells'), 'num'), '1');
    assert.deepEqual(children(host, 'secmodel').map((s) => textOf(child(s, 'model'))), ['none', 'dac']);
    const guests = children(doc, 'guest');
    assert.deepEqual(guests.map((g) => attr(child(g, 'arch'), 'name')), ['i686', 'x86_64']);
    const [i686, x86] = guests.map((g) => child(g, 'arch')!);
    assert.equal(textOf(child(i686, 'wordsize')), '32');
    assert.equal(textOf(child(x86, 'wordsize')), '64');
    assert.equal(textOf(child(x86, 'emulator')), BIN);
    // An aliased machine type: its own entry first, then the alias naming it as canonical.
    const machines = children(x86, 'machine');
    const pcAt = machines.findIndex((m) => textOf(m) === 'pc');
    assert.ok(pcAt > 0);
    assert.equal(attr(machines[pcAt], 'canonical'), textOf(machines[pcAt - 1]));
    assert.ok(machines.some((m) => attr(m, 'deprecated') === 'yes'), 'deprecated machine types are marked');
    assert.deepEqual(children(x86, 'domain').map((d) => attr(d, 'type')), caps.guestDomainTypes());
    assert.deepEqual(children(child(guests[0], 'features')!).map((f) => f.name), ['pae', 'nonpae', 'acpi', 'apic', 'cpuselection', 'deviceboot', 'disksnapshot']);
    assert.deepEqual(children(child(guests[1], 'features')!).map((f) => f.name), ['acpi', 'apic', 'cpuselection', 'deviceboot', 'disksnapshot']);
  });

  it('answers for the default machine type, or the one named (an alias resolves to its machine)', function () {
    const dflt = parseXML(qemuDomainCapabilitiesXML({ binary: BIN, caps }, { emulatorbin: null, arch: null, machine: null, virttype: 'qemu' }, { firmwareLoaders: [], efi: false, vfio: false }), 'dc');
    assert.equal(textOf(child(dflt, 'domain')), 'qemu');
    assert.equal(textOf(child(dflt, 'machine')), caps.defaultMachine('qemu')!.name);
    const q35 = parseXML(qemuDomainCapabilitiesXML({ binary: BIN, caps }, { emulatorbin: null, arch: 'x86_64', machine: 'q35', virttype: 'qemu' }, {
      firmwareLoaders: ['/usr/share/OVMF/OVMF_CODE_4M.fd'], efi: true, vfio: true,
    }), 'dc');
    assert.match(textOf(child(q35, 'machine'))!, /^pc-q35-/);
    assert.equal(attr(child(q35, 'vcpu'), 'max'), '288');
    const os = child(q35, 'os')!;
    assert.deepEqual(children(child(os, 'enum')!, 'value').map((v) => textOf(v)), ['efi']);
    assert.equal(textOf(child(child(os, 'loader')!, 'value')), '/usr/share/OVMF/OVMF_CODE_4M.fd');
    const devices = child(q35, 'devices')!;
    const diskBus = children(child(devices, 'disk')!, 'enum').find((e) => attr(e, 'name') === 'bus')!;
    assert.ok(!children(diskBus, 'value').some((v) => textOf(v) === 'ide'), 'q35 has no IDE bus');
    const tpm = child(devices, 'tpm')!;
    assert.equal(attr(tpm, 'supported'), 'yes');
    const pciBackend = children(child(devices, 'hostdev')!, 'enum').find((e) => attr(e, 'name') === 'pciBackend')!;
    assert.deepEqual(children(pciBackend, 'value').map((v) => textOf(v)), ['default', 'vfio']);
  });

  it("refuses what the binary cannot do with libvirt's errors", function () {
    const none = { firmwareLoaders: [], efi: false, vfio: false };
    assert.throws(() => qemuDomainCapabilitiesXML({ binary: BIN, caps }, { emulatorbin: null, arch: null, machine: 'nosuch', virttype: 'qemu' }, none), {
      code: 8, message: `invalid argument: the machine 'nosuch' is not supported by emulator '${caps.data.binary}'`,
    });
    assert.throws(() => qemuDomainCapabilitiesXML({ binary: BIN, caps }, { emulatorbin: null, arch: 'aarch64', machine: null, virttype: 'qemu' }, none), {
      code: 8, message: "invalid argument: unable to find any emulator to serve 'aarch64' architecture",
    });
    assert.throws(() => qemuDomainCapabilitiesXML({ binary: BIN, caps }, { emulatorbin: BIN, arch: 'aarch64', machine: null, virttype: 'qemu' }, none), {
      code: 8, message: "invalid argument: architecture from emulator 'x86_64' doesn't match given architecture 'aarch64'",
    });
    assert.throws(() => qemuDomainCapabilitiesXML({ binary: BIN, caps }, { emulatorbin: null, arch: 'x86-64', machine: null, virttype: 'qemu' }, none), {
      code: 8, message: 'invalid argument: unknown architecture: x86-64',
    });
    assert.throws(() => qemuDomainCapabilitiesXML({ binary: BIN, caps }, { emulatorbin: null, arch: null, machine: null, virttype: 'bogus' }, none), {
      code: 8, message: 'invalid argument: unknown virttype: bogus',
    });
  });
});
