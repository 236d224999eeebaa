// UUIDs as libvirt handles them: 16 raw bytes, formatted lower-case with dashes; parsing
// accepts libvirt's forms (hex digits with optional dashes/spaces between byte pairs).
export const VIR_UUID_BUFLEN = 16;
export const VIR_UUID_STRING_BUFLEN = 37;

/** virUUIDParse: returns the canonical string, or null when the text is not a UUID. */
export function parseUUID(text: string): string | null {
  let hex = '';
  let i = 0;
  const s = text.trim();
  while (i < s.length && hex.length < 32) {
    const c = s[i];
    if (c === '-' || c === ' ') {
      i++;
      continue;
    }
    if (!/[0-9a-fA-F]/.test(c) || i + 1 >= s.length || !/[0-9a-fA-F]/.test(s[i + 1])) return null;
    hex += s.slice(i, i + 2).toLowerCase();
    i += 2;
  }
  if (hex.length !== 32 || s.slice(i).trim() !== '') return null;
  return formatUUIDHex(hex);
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
