// Scaled integers as libvirt reads them (virScaleInteger): a value with an optional unit suffix,
// multiplied out to bytes and, for memory, rounded up to KiB.
import { VIR_ERR_INVALID_ARG, VIR_ERR_OVERFLOW, VIR_ERR_XML_ERROR, VIR_FROM_NONE, VIR_FROM_XML, virError } from '../error';

/** virMemoryMaxValue(capped=false) on 64-bit hosts: LLONG_MAX bytes. */
export const MEMORY_MAX_BYTES = 9223372036854775807n;

const POWERS: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5, e: 6 };

/** virScaleInteger: value * unit with overflow checking against limit. */
export function scaleInteger(value: bigint, suffix: string | undefined, scale: bigint, limit: bigint): bigint {
  let factor = scale;
  if (suffix !== undefined && suffix !== '') {
    const s = suffix.toLowerCase();
    if (s === 'b' || s === 'byte' || s === 'bytes') {
      factor = 1n;
    } else {
      const power = POWERS[s[0]];
      let base: bigint;
      if (s.length === 1 || s.slice(1) === 'ib') base = 1024n;
      else if (s.slice(1) === 'b') base = 1000n;
      else base = 0n;
      if (power === undefined || base === 0n) throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_NONE, `unknown suffix '${suffix}'`);
      factor = base ** BigInt(power);
    }
  }
  if (value !== 0n && limit / factor < value) {
    throw virError(VIR_ERR_OVERFLOW, VIR_FROM_NONE, `value too large: ${value}${suffix ?? ''}`);
  }
  return value * factor;
}

/** virStrToLong_ull: decimal digits (leading blanks allowed), no sign, nothing trailing. */
export function parseULongLong(text: string): bigint | null {
  const t = text.replace(/^[ \t\n\r]+/, '');
  if (!/^\+?[0-9]+$/.test(t)) return null;
  return BigInt(t);
}

/**
 * virDomainParseMemory: `text` scaled by `unit` (default KiB), capped at LLONG_MAX bytes, returned in
 * KiB rounded up. `what` names the element in errors, like libvirt's XPath ('./memory[1]').
 */
export function parseMemoryKiB(text: string, unit: string | undefined, what: string): number {
  const value = parseULongLong(text);
  if (value === null) throw invalidValue(text, what);
  const bytes = scaleInteger(value, unit, 1024n, MEMORY_MAX_BYTES);
  return Number((bytes + 1023n) / 1024n);
}

/** A scaled value in bytes with a custom default scale (e.g. 1 for sizes given in bytes). */
export function parseScaledBytes(text: string, unit: string | undefined, scale: bigint, what: string): bigint {
  const value = parseULongLong(text);
  if (value === null) throw invalidValue(text, what);
  return scaleInteger(value, unit, scale, MEMORY_MAX_BYTES);
}

/** virXPathULongLong's complaint about a value that is not a number. */
function invalidValue(text: string, what: string): Error {
  return virError(VIR_ERR_XML_ERROR, VIR_FROM_XML, `Invalid value '${text}' for element or attribute '${what}'`);
}
