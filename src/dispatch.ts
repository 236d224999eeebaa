// The checks libvirt's public entry points (libvirt-domain.c, libvirt-network.c, ...) make before
// they reach a driver: a live connection, write access, and a driver slot that is filled.
import { VirError, VIR_ERR_INVALID_ARG, VIR_ERR_INVALID_CONN, VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_DENIED, virError } from './error';

export interface ConnectionState {
  readonly readOnly: boolean;
  readonly closed: boolean;
}

/** virCheckConnectReturn: the connection must still be open. */
export function checkConnection(conn: ConnectionState, cname: string, from: number): void {
  if (conn.closed) throw virError(VIR_ERR_INVALID_CONN, from, cname);
}

/** virCheckReadOnlyGoto: write calls on a read-only connection are refused. */
export function checkWritable(conn: ConnectionState, cname: string, from: number): void {
  if (conn.readOnly) throw virError(VIR_ERR_OPERATION_DENIED, from, `read only access prevents ${cname}`);
}

/** virReportUnsupportedError: the driver leaves this slot empty. */
export function unsupported(cname: string, from: number): VirError {
  return virError(VIR_ERR_NO_SUPPORT, from, cname);
}

type Fn = (...args: never[]) => unknown;

/**
 * Each driver function's bound form, made once: binding on every call allocated a function per
 * public call (a tenth of a test-driver lookup). Keyed by the function itself and checked against
 * the table it was bound to, so a function placed in another table, or a slot the driver replaces,
 * is bound afresh. Weak: entries go with the driver tables.
 */
const boundSlots = new WeakMap<Fn, { table: object; bound: Fn }>();

/** The driver's implementation of `key`, bound to the driver, or VIR_ERR_NO_SUPPORT. */
export function slot<T extends object, K extends keyof T>(
  table: T | undefined,
  key: K,
  cname: string,
  from: number,
): Extract<NonNullable<T[K]>, Fn> {
  const fn = table?.[key] as unknown;
  if (typeof fn !== 'function') throw unsupported(cname, from);
  let entry = boundSlots.get(fn as Fn);
  if (entry === undefined || entry.table !== table) {
    entry = { table: table as T, bound: (fn as Fn).bind(table) };
    boundSlots.set(fn as Fn, entry);
  }
  return entry.bound as Extract<NonNullable<T[K]>, Fn>;
}

/** libvirt's argument checks (virCheckNonNullArgGoto and friends) use this message shape. */
export function checkFlags(flags: unknown, cname: string, from: number): number {
  if (flags === undefined) return 0;
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    throw virError(VIR_ERR_INVALID_ARG, from, `flags in ${cname} must be an unsigned 32-bit integer`);
  }
  return flags;
}
