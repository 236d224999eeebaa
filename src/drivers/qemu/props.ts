// Device, object and netdev properties as libvirt builds them (one ordered property object) and
// the two ways it puts them on the command line:
//   JSON       `-device '{"driver":"virtio-net-pci","failover":true,...}'` when the binary has
//              'device.json+hotplug' (likewise 'object.qapified', 'netdev.json'); compact, keys in
//              insertion order, 64-bit integers exact (virJSONValueToString).
//   key=value  `-device virtio-net-pci,failover=on,...` otherwise (virQEMUBuildCommandLineJSON):
//              the type first, booleans on/off, commas in strings doubled, nested objects as
//              dotted keys, arrays by the option's own convention.
import { VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, virError } from '../../error';

/** `null` exists in JSON syntax only (e.g. `"backing":null` of -blockdev). */
export type QemuPropValue = string | number | bigint | boolean | null | QemuProps | QemuPropValue[];

/** Property objects keep insertion order; `undefined` values are left out, as libvirt skips absent ones. */
export interface QemuProps {
  [key: string]: QemuPropValue | undefined;
}

/** QEMU's option syntax: a comma inside a value is doubled (virQEMUBuildBufferEscapeComma). */
export function escapeOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

function isProps(value: QemuPropValue): value is QemuProps {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Compact JSON of a property value; bigints are written as plain integers. */
export function formatQemuJSON(value: QemuPropValue): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `invalid JSON number '${value}'`);
      return String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map(formatQemuJSON).join(',')}]`;
      return `{${Object.entries(value)
        .filter((entry): entry is [string, QemuPropValue] => entry[1] !== undefined)
        .map(([k, v]) => `${JSON.stringify(k)}:${formatQemuJSON(v)}`)
        .join(',')}}`;
  }
}

/** How an array property is spelled in key=value syntax, which differs per option. */
export type ArrayStyle =
  /** -device: `key.0=a,key.1=b` */
  | 'numbered'
  /** -object: a list of numbers as ranges, `host-nodes=0-3,host-nodes=5` */
  | 'bitmap'
  /** -netdev: objects with a 'str' member, `hostfwd=a,hostfwd=b` */
  | 'objects-str';

function unsupported(detail: string): Error {
  return virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, detail);
}

function scalar(key: string, value: QemuPropValue): string {
  if (value === null) throw unsupported("NULL JSON type can't be converted to commandline");
  switch (typeof value) {
    case 'string':
      return `${key}=${escapeOptionValue(value)}`;
    case 'number':
    case 'bigint':
      return `${key}=${value}`;
    case 'boolean':
      return `${key}=${value ? 'on' : 'off'}`;
    default:
      throw unsupported(`property '${key}' is not a scalar`);
  }
}

function bitmapRanges(key: string, values: QemuPropValue[]): string[] | null {
  if (!values.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0)) return null;
  const sorted = [...new Set(values as number[])].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(i === j ? `${key}=${sorted[i]}` : `${key}=${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out;
}

function flatten(key: string, value: QemuPropValue, style: ArrayStyle, nested: boolean, out: string[]): void {
  if (Array.isArray(value)) {
    if (nested) throw unsupported('nested JSON array to commandline conversion is not supported');
    if (style === 'numbered') {
      value.forEach((member, i) => flatten(`${key}.${i}`, member, style, true, out));
      return;
    }
    if (style === 'bitmap') {
      const ranges = bitmapRanges(key, value);
      if (ranges) {
        out.push(...ranges);
        return;
      }
    }
    if (style === 'objects-str' && value.every((m) => isProps(m) && typeof m.str === 'string')) {
      for (const member of value as QemuProps[]) out.push(scalar(key, member.str as string));
      return;
    }
    // Anything else: the key repeated for each member.
    for (const member of value) flatten(key, member, style, true, out);
    return;
  }
  if (isProps(value)) {
    for (const [k, v] of Object.entries(value)) if (v !== undefined) flatten(`${key}.${k}`, v, style, nested, out);
    return;
  }
  out.push(scalar(key, value));
}

/**
 * key=value syntax of a property object whose type is under `typeKey` ('driver' for -device,
 * 'qom-type' for -object, 'type' for -netdev): the type's value leads, without its key.
 */
export function formatQemuKeyValue(props: QemuProps, typeKey: string, style: ArrayStyle): string {
  const type = props[typeKey];
  if (typeof type !== 'string') throw unsupported(`missing '${typeKey}' in properties`);
  const out: string[] = [escapeOptionValue(type)];
  for (const [key, value] of Object.entries(props)) {
    if (key === typeKey || value === undefined) continue;
    flatten(key, value, style, false, out);
  }
  return out.join(',');
}

/** `-device` value: JSON when the binary takes it ('device.json+hotplug'), key=value otherwise. */
export function formatDeviceArg(props: QemuProps, json: boolean): string {
  return json ? formatQemuJSON(props) : formatQemuKeyValue(props, 'driver', 'numbered');
}

/** `-object` value: JSON with 'object.qapified', key=value otherwise. */
export function formatObjectArg(props: QemuProps, json: boolean): string {
  return json ? formatQemuJSON(props) : formatQemuKeyValue(props, 'qom-type', 'bitmap');
}

/** `-netdev` value: JSON with 'netdev.json', key=value otherwise. */
export function formatNetdevArg(props: QemuProps, json: boolean): string {
  return json ? formatQemuJSON(props) : formatQemuKeyValue(props, 'type', 'objects-str');
}
