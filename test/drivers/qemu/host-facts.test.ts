// The host facts behind `virsh capabilities` / `virsh domcapabilities` for QEMU, read from a fake
// sysfs tree (two NUMA nodes with huge pages, SMBIOS UUID, power states, IOMMU groups, VFIO,
// firmware descriptors), from a tree without NUMA nodes, and once from the real host.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { qemuCapabilitiesXML } from '../../../src/drivers/qemu/host-caps';
import { formatCpuSet, gatherDomainCapsHost, gatherQemuHostFacts, parseCpuList, readFirmwareDescriptors } from '../../../src/drivers/qemu/host-facts';

/** Writes `files` (path relative to root -> content) under root. */
function tree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}

/** A CPU's topology files: socket, core, thread siblings. */
function cpu(id: number, socket: number, core: number, siblings: string): Record<string, string> {
  const dir = `sys/devices/system/cpu/cpu${id}/topology`;
  return {
    [`${dir}/physical_package_id`]: `${socket}\n`,
    [`${dir}/die_id`]: '0\n',
    [`${dir}/core_id`]: `${core}\n`,
    [`${dir}/thread_siblings_list`]: `${siblings}\n`,
  };
}

/** A CPU's L2 and L3 caches (only level 3 and up reach the capabilities). */
function caches(id: number, l3Id: number, l3Cpus: string): Record<string, string> {
  const dir = `sys/devices/system/cpu/cpu${id}/cache`;
  return {
    [`${dir}/index2/level`]: '2\n', [`${dir}/index2/id`]: `${id}\n`, [`${dir}/index2/type`]: 'Unified\n',
    [`${dir}/index2/size`]: '1024K\n', [`${dir}/index2/shared_cpu_list`]: `${id}\n`,
    [`${dir}/index3/level`]: '3\n', [`${dir}/index3/id`]: `${l3Id}\n`, [`${dir}/index3/type`]: 'Unified\n',
    [`${dir}/index3/size`]: '16384K\n', [`${dir}/index3/shared_cpu_list`]: `${l3Cpus}\n`,
  };
}

/** A NUMA node: its CPUs, MemTotal in kB, distances and huge page pools (size kB -> count). */
function node(id: number, cpus: string, memKiB: number, distance: string, huge: Record<number, number>): Record<string, string> {
  const dir = `sys/devices/system/node/node${id}`;
  const files: Record<string, string> = {
    [`${dir}/cpulist`]: `${cpus}\n`,
    [`${dir}/meminfo`]: `Node ${id} MemTotal:       ${memKiB} kB\nNode ${id} MemFree:        ${memKiB / 2} kB\n`,
    [`${dir}/distance`]: `${distance}\n`,
  };
  for (const [size, count] of Object.entries(huge)) files[`${dir}/hugepages/hugepages-${size}kB/nr_hugepages`] = `${count}\n`;
  return files;
}

const OVMF_DESCRIPTOR = JSON.stringify({
  'interface-types': ['uefi'],
  mapping: { device: 'flash', executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.fd', format: 'raw' }, 'nvram-template': { filename: '/usr/share/OVMF/OVMF_VARS_4M.fd', format: 'raw' } },
  targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }],
  features: ['acpi-s3'],
});

describe('drivers/qemu host facts', function () {
  let root: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-hostfacts-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('parses and writes CPU sets as the kernel and libvirt do', () => {
    assert.deepEqual(parseCpuList('0-2,5,7-8\n'), [0, 1, 2, 5, 7, 8]);
    assert.equal(formatCpuSet([8, 0, 1, 2, 5, 7]), '0-2,5,7-8');
    assert.equal(formatCpuSet([0, 4]), '0,4');
  });

  it('reads two NUMA cells with their CPUs, memory, pages and distances', async () => {
    tree(root, {
      ...node(0, '0-1,4-5', 8_000_000, '10 21', { 2048: 16, 1048576: 1 }),
      ...node(1, '2-3,6-7', 4_000_000, '21 10', { 2048: 8, 1048576: 0 }),
      ...cpu(0, 0, 0, '0,4'), ...cpu(1, 0, 1, '1,5'), ...cpu(4, 0, 0, '0,4'), ...cpu(5, 0, 1, '1,5'),
      ...cpu(2, 1, 0, '2,6'), ...cpu(3, 1, 1, '3,7'), ...cpu(6, 1, 0, '2,6'), ...cpu(7, 1, 1, '3,7'),
      'sys/devices/system/cpu/online': '0-7\n',
      ...caches(0, 0, '0-1,4-5'), ...caches(1, 0, '0-1,4-5'), ...caches(2, 1, '2-3,6-7'), ...caches(7, 1, '2-3,6-7'),
      'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages': '24\n',
      'sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages': '1\n',
      'sys/class/dmi/id/product_uuid': '4C4C4544-0051-3510-8057-B4C04F4E3732\n',
      'etc/machine-id': '3d1219c7c4c5404aaa1f6d2a48adfda4\n',
      'sys/power/state': 'freeze mem disk\n',
      'sys/kernel/iommu_groups/0/type': 'DMA\n',
      'proc/cpuinfo': 'processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nstepping\t: 7\nmicrocode\t: 0x5003604\n\nprocessor\t: 1\n',
    });
    const facts = await gatherQemuHostFacts({ root, arch: 'x86_64', uid: 107, gid: 36 });
    assert.equal(facts.uuid, '4c4c4544-0051-3510-8057-b4c04f4e3732');
    assert.equal(facts.arch, 'x86_64');
    assert.deepEqual(facts.cpu, {
      vendor: 'Intel', microcode: 0x5003604, signature: { family: 6, model: 85, stepping: 7 },
      topology: { sockets: 1, dies: 1, cores: 2, threads: 2 }, features: [],
    });
    assert.deepEqual(facts.pageSizes, [4, 2048, 1048576]);
    assert.deepEqual(facts.powerManagement, ['suspend_mem', 'suspend_disk', 'suspend_hybrid']);
    assert.equal(facts.iommu, true);
    assert.deepEqual(facts.migrationTransports, ['tcp', 'rdma']);
    assert.deepEqual(facts.secModels[1], { model: 'dac', doi: '0', baseLabels: [{ type: 'kvm', label: '+107:+36' }, { type: 'qemu', label: '+107:+36' }] });
    assert.equal(facts.cells?.length, 2);
    const [c0, c1] = facts.cells!;
    assert.equal(c0.memory, 8_000_000);
    assert.deepEqual(c0.pages, [{ size: 4, count: 2_000_000 }, { size: 2048, count: 16 }, { size: 1048576, count: 1 }]);
    assert.deepEqual(c0.distances, [{ id: 0, value: 10 }, { id: 1, value: 21 }]);
    assert.deepEqual(c0.cpus.map((c) => [c.id, c.socketId, c.coreId, c.siblings]), [[0, 0, 0, '0,4'], [1, 0, 1, '1,5'], [4, 0, 0, '0,4'], [5, 0, 1, '1,5']]);
    assert.equal(c1.memory, 4_000_000);
    assert.deepEqual(c1.pages, [{ size: 4, count: 1_000_000 }, { size: 2048, count: 8 }, { size: 1048576, count: 0 }]);
    assert.deepEqual(c1.cpus.map((c) => c.id), [2, 3, 6, 7]);
    assert.deepEqual(c1.cpus.map((c) => c.socketId), [1, 1, 1, 1]);
    assert.deepEqual(facts.caches, [
      { id: 0, level: 3, type: 'both', size: 16 * 1024 * 1024, cpus: '0-1,4-5' },
      { id: 1, level: 3, type: 'both', size: 16 * 1024 * 1024, cpus: '2-3,6-7' },
    ]);
    // As `virsh capabilities` shows them: cells, then cache banks in the largest exact unit.
    const xml = qemuCapabilitiesXML(facts, []);
    assert.match(xml, /<\/topology>\n    <cache>\n      <bank id='0' level='3' type='both' size='16' unit='MiB' cpus='0-1,4-5'\/>\n      <bank id='1' level='3' type='both' size='16' unit='MiB' cpus='2-3,6-7'\/>\n    <\/cache>\n    <secmodel>/);
    assert.match(xml, /<distances>\n            <sibling id='0' value='21'\/>\n            <sibling id='1' value='10'\/>\n          <\/distances>/);
  });

  it('uses the machine-id when there is no usable SMBIOS UUID, and one fake cell without NUMA nodes', async () => {
    tree(root, {
      'sys/class/dmi/id/product_uuid': '00000000-0000-0000-0000-000000000000\n',
      'etc/machine-id': '3D1219C7C4C5404AAA1F6D2A48ADFDA4\n',
      'sys/devices/system/cpu/online': '0-3\n',
      ...cpu(0, 0, 0, '0'), ...cpu(1, 0, 1, '1'), ...cpu(2, 0, 2, '2'), ...cpu(3, 0, 3, '3'),
      'proc/meminfo': 'MemTotal:        2048000 kB\nMemFree:          100000 kB\n',
      'sys/power/state': 'freeze\n',
    });
    const facts = await gatherQemuHostFacts({ root, arch: 'x86_64', uid: 0, gid: 0 });
    assert.equal(facts.uuid, '3d1219c7-c4c5-404a-aa1f-6d2a48adfda4');
    assert.deepEqual(facts.pageSizes, [4]);
    assert.deepEqual(facts.powerManagement, []);
    assert.equal(facts.iommu, false);
    assert.deepEqual(facts.cpu?.topology, { sockets: 1, dies: 1, cores: 4, threads: 1 });
    assert.deepEqual(facts.cells, [{
      id: 0, memory: 2048000, pages: [],
      cpus: [0, 1, 2, 3].map((id) => ({ id, socketId: 0, dieId: 0, coreId: id, siblings: String(id) })),
    }]);
  });

  it('finds firmware through the QEMU descriptors that target the machine type, and VFIO', async () => {
    tree(root, {
      'usr/share/qemu/firmware/40-edk2-x86_64-secure.json': OVMF_DESCRIPTOR,
      'usr/share/qemu/firmware/50-seabios.json': JSON.stringify({ 'interface-types': ['bios'], mapping: { device: 'memory', filename: '/usr/share/seabios/bios.bin' }, targets: [{ architecture: 'x86_64', machines: ['pc-i440fx-*', 'pc-q35-*'] }], features: [] }),
      // Not JSON: domain capabilities go on without it.
      'usr/share/qemu/firmware/55-broken.json': '{',
      'usr/share/qemu/firmware/60-hidden.json': OVMF_DESCRIPTOR,
      'etc/qemu/firmware/60-hidden.json': '',
      'usr/share/OVMF/OVMF_CODE_4M.fd': 'x',
      'usr/share/seabios/bios.bin': 'x',
      'sys/kernel/iommu_groups/3/type': 'DMA\n',
      'dev/vfio/vfio': '',
    });
    assert.deepEqual((await readFirmwareDescriptors(root)).map((d) => d.name), ['40-edk2-x86_64-secure.json', '50-seabios.json']);
    assert.deepEqual(await gatherDomainCapsHost('x86_64', 'pc-q35-7.2', { root }), {
      firmwareLoaders: ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/seabios/bios.bin'], efi: true, vfio: true,
    });
    assert.deepEqual(await gatherDomainCapsHost('x86_64', 'pc-i440fx-7.2', { root }), {
      firmwareLoaders: ['/usr/share/seabios/bios.bin'], efi: false, vfio: true,
    });
    assert.deepEqual(await gatherDomainCapsHost('aarch64', 'virt', { root }), { firmwareLoaders: [], efi: false, vfio: true });
  });

  it('without descriptors, IOMMU or /dev/vfio there are no loaders, no EFI and no VFIO', async () => {
    assert.deepEqual(await gatherDomainCapsHost('x86_64', 'pc-q35-7.2', { root }), { firmwareLoaders: [], efi: false, vfio: false });
  });

  it('reads the real host', async () => {
    const facts = await gatherQemuHostFacts();
    assert.equal(facts.arch, os.arch() === 'x64' ? 'x86_64' : facts.arch);
    assert.ok(facts.cells && facts.cells.length >= 1);
    const cpus = facts.cells.flatMap((c) => c.cpus.map((x) => x.id));
    assert.equal(cpus.length, os.cpus().length, 'every online CPU sits in one cell');
    // Each cell has what its node's meminfo says (some virtual machines report less there than in
    // /proc/meminfo; libvirt shows the node's figure), never more than the host has.
    const totalKiB = facts.cells.reduce((sum, c) => sum + c.memory, 0);
    assert.ok(totalKiB > 0 && totalKiB * 1024 <= os.totalmem(), `cells hold the host's memory (${totalKiB} KiB)`);
    for (const cell of facts.cells) {
      const meminfo = `/sys/devices/system/node/node${cell.id}/meminfo`;
      if (fs.existsSync(meminfo)) assert.equal(cell.memory, Number(/MemTotal:\s+(\d+)/.exec(fs.readFileSync(meminfo, 'utf8'))![1]));
    }
    assert.equal(facts.pageSizes[0], 4);
    if (fs.existsSync('/etc/machine-id') && !fs.existsSync('/sys/class/dmi/id/product_uuid')) {
      assert.equal(facts.uuid?.replace(/-/g, ''), fs.readFileSync('/etc/machine-id', 'utf8').trim());
    } else {
      assert.match(facts.uuid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
  });
});
