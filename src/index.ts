// virtnode: libvirt's C API for Node.js, implemented without libvirt.so.
//
// The mapping from C is mechanical:
//  - virXxxPtr -> class Xxx (virConnectPtr -> Connect, virDomainPtr -> Domain, ...).
//  - virXxxYyy(virXxxPtr obj, ...) -> obj.yyy(...): drop `vir` and the class prefix, lower-case the
//    first letter, keep C's capitals (virDomainGetXMLDesc -> dom.getXMLDesc()).
//  - virXxxYyy(virConnectPtr conn, ...) -> static Xxx.yyy(conn, ...) (virDomainLookupByName ->
//    Domain.lookupByName(conn, name)); virConnectYyy(conn, ...) -> conn.yyy(...); host functions keep
//    their node prefix (virNodeGetInfo -> conn.nodeGetInfo()).
//  - flags stay last, optional, default 0. Constants keep their C names and values.
//  - One out-parameter is the return value; several are an object named by the C parameters; C
//    structs are objects with the C field names; unsigned long long is bigint.
//  - Everything that may reach a driver returns a Promise; local accessors are synchronous.
//  - Every failure is a VirError with libvirt's code, domain and message.
export { Connect, registerConnectDriver } from './connect';
export type { DomainEventCallback, NetworkEventCallback, QemuMonitorEventCallback } from './connect';
export { Domain } from './domain';
export { Network } from './network';
export { NodeDevice } from './node-device';
export { VirError, isVirError } from './error';
export * from './error-codes';
export * from './constants';
export type { DomainInfo, NodeInfo, DomainStateResult } from './driver';
export { packageVersion as version } from './version';
