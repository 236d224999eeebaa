// PCI addresses (virpci.h virPCIDeviceAddress): domain:bus:slot.function.

export interface PciAddress {
  domain: number;
  bus: number;
  slot: number;
  function: number;
  /** 'on' | 'off' when the XML said so. */
  multifunction?: string;
}

export const PCI_ADDRESS_LIMITS = { domain: 0xffff, bus: 0xff, slot: 0x1f, function: 7 } as const;

/** The host form used on QEMU command lines and in sysfs: '0000:03:07.1' (VIR_PCI_DEVICE_ADDRESS_FMT). */
export function formatPciAddress(a: PciAddress): string {
  return `${hex(a.domain, 4)}:${hex(a.bus, 2)}:${hex(a.slot, 2)}.${a.function}`;
}

/** Parses 'DDDD:BB:SS.F' or 'BB:SS.F'; null when malformed. */
export function parsePciAddress(text: string): PciAddress | null {
  const m = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/.exec(text);
  if (!m) return null;
  const a = {
    domain: m[1] ? Number.parseInt(m[1], 16) : 0,
    bus: Number.parseInt(m[2], 16),
    slot: Number.parseInt(m[3], 16),
    function: Number(m[4]),
  };
  return a.slot <= PCI_ADDRESS_LIMITS.slot ? a : null;
}

export function pciAddressEqual(a: PciAddress, b: PciAddress): boolean {
  return a.domain === b.domain && a.bus === b.bus && a.slot === b.slot && a.function === b.function;
}

/** The XML attribute values libvirt writes: domain='0x0000' bus='0x00' slot='0x01' function='0x0'. */
export function pciAddressXmlAttrs(a: PciAddress): Array<[string, string | undefined]> {
  return [
    ['domain', `0x${hex(a.domain, 4)}`],
    ['bus', `0x${hex(a.bus, 2)}`],
    ['slot', `0x${hex(a.slot, 2)}`],
    ['function', `0x${a.function.toString(16)}`],
    ['multifunction', a.multifunction],
  ];
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
