// The test driver's fixed host: node info, NUMA cells and capabilities (testBuildCapabilities).
import type { NodeInfo } from '../../driver';
import { formatCapabilitiesXML, type CapabilitiesDef, type CapsNumaCell } from '../../conf/capabilities';

export const TEST_MODEL = 'i686';
export const TEST_EMULATOR = '/usr/bin/test-hv';
export const TEST_MAX_VCPUS = 32;

export const DEFAULT_NODE_INFO: Readonly<NodeInfo> = {
  model: TEST_MODEL,
  memory: 3 * 1024 * 1024,
  cpus: 16,
  mhz: 1400,
  nodes: 2,
  sockets: 2,
  cores: 2,
  threads: 2,
};

/** One NUMA cell as the test driver keeps it: memory and free memory in KiB, CPU ids. */
export interface TestCell {
  mem: number;
  freeMem: number;
  cpus: Array<{ id: number; socketId: number; coreId: number }>;
}

/** test:///default's two cells of eight CPUs; file-based nodes have none. */
export function defaultCells(): TestCell[] {
  const cells: TestCell[] = [];
  for (let i = 0; i < 2; i++) cells.push({ mem: (i + 1) * 2048 * 1024, freeMem: (i + 1) * 1024 * 1024, cpus: [] });
  for (let id = 0; id < 16; id++) cells[Math.floor(id / 8)].cpus.push({ id, socketId: Math.floor(id / 8), coreId: id % 8 });
  return cells;
}

const PAGE_SIZES = [4, 8, 2048, 1024 * 1024];

export function testCapabilitiesXML(cells: readonly TestCell[]): string {
  const numaCells: CapsNumaCell[] = cells.map((cell, i) => {
    // Cell 1 reports its base pages as 8 KiB ones: the test driver's way of exercising mixed sizes.
    const base = i === 1 ? PAGE_SIZES[1] : PAGE_SIZES[0];
    return {
      id: i,
      memory: cell.mem,
      pages: [
        { size: base, avail: Math.floor(cell.mem / base) },
        ...PAGE_SIZES.slice(2).map((size) => ({ size, avail: 0 })),
      ],
      cpus: cell.cpus.map((c) => ({ id: c.id, socketId: c.socketId, dieId: 0, coreId: c.coreId, siblings: String(c.id) })),
    };
  });
  const guest = (osType: string) => ({
    osType,
    arch: TEST_MODEL,
    wordsize: 32,
    emulator: TEST_EMULATOR,
    domainTypes: ['test'],
    features: ['pae', 'nonpae'],
  });
  const caps: CapabilitiesDef = {
    arch: TEST_MODEL,
    hostFeatures: ['pae', 'nonpae'],
    pageSizes: PAGE_SIZES,
    iommu: false,
    cells: numaCells,
    secModels: [{ model: 'testSecurity', doi: '' }],
    guests: [guest('hvm'), guest('xen')],
  };
  return formatCapabilitiesXML(caps);
}

export const TEST_SYSINFO_XML =
  "<sysinfo type='smbios'>\n" +
  '  <bios>\n' +
  "    <entry name='vendor'>LENOVO</entry>\n" +
  "    <entry name='version'>G4ETA1WW (2.61 )</entry>\n" +
  "    <entry name='date'>05/07/2014</entry>\n" +
  "    <entry name='release'>2.61</entry>\n" +
  '  </bios>\n' +
  '</sysinfo>\n';
