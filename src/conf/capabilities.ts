// Host capabilities XML (<capabilities>), as virCapabilitiesFormatXML writes it, for the parts a
// driver without a real host fills in: CPU arch and features, page sizes, NUMA cells, security
// models and guests. Pure: no I/O.
import { XmlWriter } from './xml';

export interface CapsNumaCpu {
  id: number;
  socketId: number;
  dieId: number;
  coreId: number;
  siblings: string;
}

export interface CapsNumaCell {
  id: number;
  /** KiB */
  memory: number;
  pages: Array<{ size: number; avail: number }>;
  cpus: CapsNumaCpu[];
}

export interface CapsGuest {
  osType: string;
  arch: string;
  wordsize: number;
  emulator: string;
  domainTypes: string[];
  features: string[];
}

export interface CapabilitiesDef {
  arch: string;
  hostFeatures: string[];
  pageSizes: number[];
  iommu: boolean;
  /** null when the host has no NUMA description at all; [] prints an empty topology. */
  cells: CapsNumaCell[] | null;
  secModels: Array<{ model: string; doi: string }>;
  guests: CapsGuest[];
}

/** virCapabilitiesFormatXML */
export function formatCapabilitiesXML(caps: CapabilitiesDef): string {
  const w = new XmlWriter();
  w.open('capabilities');
  w.raw('');
  w.open('host');
  w.open('cpu');
  w.leaf('arch', caps.arch);
  if (caps.hostFeatures.length > 0) {
    w.open('features');
    for (const f of caps.hostFeatures) w.empty(f);
    w.close('features');
  }
  for (const size of caps.pageSizes) w.empty('pages', [['unit', 'KiB'], ['size', size]]);
  w.close('cpu');
  w.empty('power_management');
  w.empty('iommu', [['support', caps.iommu ? 'yes' : 'no']]);
  if (caps.cells) {
    w.open('topology');
    w.open('cells', [['num', caps.cells.length]]);
    for (const cell of caps.cells) {
      w.open('cell', [['id', cell.id]]);
      w.leaf('memory', cell.memory, [['unit', 'KiB']]);
      for (const p of cell.pages) w.leaf('pages', p.avail, [['unit', 'KiB'], ['size', p.size]]);
      w.open('cpus', [['num', cell.cpus.length]]);
      for (const cpu of cell.cpus) {
        w.empty('cpu', [
          ['id', cpu.id],
          ['socket_id', cpu.socketId],
          ['die_id', cpu.dieId],
          ['core_id', cpu.coreId],
          ['siblings', cpu.siblings],
        ]);
      }
      w.close('cpus');
      w.close('cell');
    }
    w.close('cells');
    w.close('topology');
  }
  for (const sec of caps.secModels) {
    w.open('secmodel');
    w.leaf('model', sec.model);
    w.leaf('doi', sec.doi);
    w.close('secmodel');
  }
  w.close('host');
  w.raw('');
  for (const g of caps.guests) {
    w.open('guest');
    w.leaf('os_type', g.osType);
    w.open('arch', [['name', g.arch]]);
    w.leaf('wordsize', g.wordsize);
    w.leaf('emulator', g.emulator);
    for (const t of g.domainTypes) w.empty('domain', [['type', t]]);
    w.close('arch');
    if (g.features.length > 0) {
      w.open('features');
      for (const f of g.features) w.empty(f);
      w.close('features');
    }
    w.close('guest');
    w.raw('');
  }
  w.close('capabilities');
  return w.toString().replace(/^ +$/gm, '');
}
