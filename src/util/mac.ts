// MAC addresses as libvirt handles them (virmacaddr.c): six bytes, written lower-case with colons.

export const VIR_MAC_BUFLEN = 6;
/** The prefix QEMU and the test driver use for generated addresses (virDomainNetGenerateMAC). */
export const QEMU_MAC_PREFIX: readonly number[] = [0x52, 0x54, 0x00];

/**
 * virMacAddrParse: six hex byte groups of one or two digits separated by ':' or '-'.
 * Returns the bytes, or null when the text is not a MAC address.
 */
export function parseMAC(text: string): number[] | null {
  const bytes: number[] = [];
  let i = 0;
  for (let n = 0; n < VIR_MAC_BUFLEN; n++) {
    let value = 0;
    let digits = 0;
    while (i < text.length && digits < 2) {
      const d = hexDigit(text.charCodeAt(i));
      if (d < 0) break;
      value = value * 16 + d;
      digits++;
      i++;
    }
    if (digits === 0) return null;
    bytes.push(value);
    if (n < VIR_MAC_BUFLEN - 1) {
      if (text[i] !== ':' && text[i] !== '-') return null;
      i++;
    }
  }
  return i === text.length ? bytes : null;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** virMacAddrFormat: 'aa:bb:cc:dd:ee:ff'. */
export function formatMAC(bytes: readonly number[]): string {
  return bytes.map((b) => HEX2[b & 0xff]).join(':');
}

/** Canonical form of a MAC string, or null when it does not parse. */
export function normalizeMAC(text: string): string | null {
  const bytes = parseMAC(text);
  return bytes ? formatMAC(bytes) : null;
}

/** virMacAddrIsMulticast: the low bit of the first byte. */
export function isMulticastMAC(bytes: readonly number[]): boolean {
  return (bytes[0] & 1) === 1;
}

/** virMacAddrGenerate: the prefix followed by random bytes. */
export function generateMAC(prefix: readonly number[] = QEMU_MAC_PREFIX): string {
  // node:crypto loads on first use, not with the module: CLI startup pays for every builtin.
  const rnd = (require('node:crypto') as typeof import('node:crypto')).randomBytes(VIR_MAC_BUFLEN);
  const bytes = [...prefix.slice(0, 3)];
  for (let i = bytes.length; i < VIR_MAC_BUFLEN; i++) bytes.push(rnd[i]);
  return formatMAC(bytes);
}
