// UUIDs as libvirt handles them: 16 raw bytes, formatted lower-case with dashes; parsing
// accepts libvirt's forms (hex digits with optional dashes/spaces between byte pairs).
export const VIR_UUID_BUFLEN = 16;
export const VIR_UUID_STRING_BUFLEN = 37;

/** virUUIDParse: returns the canonical string, or null when the text is not a UUID. */
export function parseUUID(text: string): string | null {
  // The result is built from character codes in one go: a UUID assembled by concatenation is a
  // tree of string pieces that every later use (map keys, XML output) must walk or flatten.
  const out: number[] = [];
  let digits = 0;
  let i = 0;
  const s = text.trim();
  while (i < s.length && digits < 32) {
    const c = s.charCodeAt(i);
    if (c === 0x2d || c === 0x20) {
      i++;
      continue;
    }
    const hi = lowerHexDigit(c);
    const lo = i + 1 < s.length ? lowerHexDigit(s.charCodeAt(i + 1)) : -1;
    if (hi < 0 || lo < 0) return null;
    if (digits === 8 || digits === 12 || digits === 16 || digits === 20) out.push(0x2d);
    out.push(hi, lo);
    digits += 2;
    i += 2;
  }
  if (digits !== 32 || s.slice(i).trim() !== '') return null;
  return String.fromCharCode(...out);
}

/** The lower-case form of a hex digit's character code, or -1 for any other character. */
function lowerHexDigit(c: number): number {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) return c;
  if (c >= 0x41 && c <= 0x46) return c + 0x20;
  return -1;
}

function formatUUIDHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function uuidFromBytes(bytes: Uint8Array): string {
  return formatUUIDHex(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'));
}

/** virUUIDGenerate: a random (version 4) UUID. */
export function generateUUID(): string {
  // node:crypto is loaded here, on first use, rather than at the top: it costs about a third of
  // `require('virtnode')`'s load time, and most programs never generate a UUID.
  // randomUUID draws from a cached entropy pool: a syscall per UUID would dominate define calls.
  const { randomUUID } = require('node:crypto') as typeof import('node:crypto');
  return randomUUID();
}
