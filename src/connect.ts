// virConnectPtr -> Connect. Opening picks a driver by the URI's scheme; every other method checks
// the connection, then calls one slot of the driver table.
import { Domain } from './domain';
import { Network } from './network';
import { NodeDevice } from './node-device';
import { checkConnection, checkFlags, checkWritable, slot, type ConnectionState } from './dispatch';
import type {
  ConnectDriver,
  DomainEvent,
  DriverSet,
  NetworkEvent,
  NodeInfo,
  QemuMonitorEvent,
  Unsubscribe,
} from './driver';
import {
  VIR_ERR_INVALID_ARG,
  VIR_ERR_NO_CONNECT,
  VIR_FROM_DOMAIN,
  VIR_FROM_NETWORK,
  VIR_FROM_NODEDEV,
  VIR_FROM_NONE,
  VIR_FROM_QEMU,
  VirError,
  virError,
} from './error';
import { libVersionNumber } from './version';
import { defaultURI } from './util/uri';

/** Lazily loaded connection drivers, by URI scheme (driver plus optional transport). */
const connectDrivers = new Map<string, () => ConnectDriver>([
  ['test', () => require('./drivers/test').testConnectDriver as ConnectDriver],
  ['qemu', () => require('./drivers/qemu').qemuConnectDriver as ConnectDriver],
]);

/** Makes a driver reachable under its schemes (tests and embedders add their own). */
export function registerConnectDriver(driver: ConnectDriver): void {
  for (const scheme of driver.schemes) connectDrivers.set(scheme, () => driver);
}

export type DomainEventCallback = (conn: Connect, dom: Domain, ...args: unknown[]) => void;
export type NetworkEventCallback = (conn: Connect, net: Network, ...args: unknown[]) => void;
export type QemuMonitorEventCallback = (
  conn: Connect,
  dom: Domain,
  event: string,
  seconds: number,
  micros: number,
  details: string | null,
) => void;

interface Registration<E> {
  eventID: number;
  filter: string | null;
  deliver: (event: E) => void;
  /** The caller's function, to refuse registering the same one twice (libvirt compares cb and opaque). */
  callback?: unknown;
}

/**
 * Callback ids for drivers without an event state of their own: one counter per process, from 0
 * as libvirt's virObjectEventState numbers them.
 */
let nextCallbackID = 0;

/**
 * Deliveries wait in one process-wide queue so that, as in libvirt's event loop, each event
 * reaches every callback of every connection in registration (callback id) order before the
 * next event. A driver hands the same event object to each connection's listener; its first
 * sighting numbers it.
 */
const eventSequence = new WeakMap<object, number>();
let nextEventSequence = 0;
let pendingDeliveries: Array<{ seq: number; id: number; run: () => unknown }> = [];
let flushScheduled = false;

function flushDeliveries(): void {
  flushScheduled = false;
  const batch = pendingDeliveries.sort((a, b) => a.seq - b.seq || a.id - b.id);
  pendingDeliveries = [];
  for (const d of batch) d.run();
}

export class Connect implements ConnectionState {
  private readonly drivers: DriverSet;
  private readonly uri: string;
  readonly readOnly: boolean;
  closed = false;

  private readonly domainCallbacks = new Map<number, Registration<DomainEvent>>();
  private readonly networkCallbacks = new Map<number, Registration<NetworkEvent>>();
  private readonly qemuCallbacks = new Map<number, Registration<QemuMonitorEvent>>();
  private readonly unsubscribers: Unsubscribe[] = [];
  private domainSubscribed = false;
  private networkSubscribed = false;
  private qemuSubscribed = false;

  private constructor(uri: string, drivers: DriverSet, readOnly: boolean) {
    this.uri = uri;
    this.drivers = drivers;
    this.readOnly = readOnly;
  }

  /** virConnectOpen */
  static open(uri?: string | null): Promise<Connect> {
    return Connect.openWith(uri, false);
  }

  /** virConnectOpenReadOnly */
  static openReadOnly(uri?: string | null): Promise<Connect> {
    return Connect.openWith(uri, true);
  }

  private static async openWith(name: string | null | undefined, readOnly: boolean): Promise<Connect> {
    const rawUri = name ?? defaultURI();
    let parsed: URL;
    try {
      parsed = new URL(rawUri);
    } catch {
      throw virError(VIR_ERR_NO_CONNECT, VIR_FROM_NONE, rawUri);
    }
    const scheme = parsed.protocol.replace(/:$/, '');
    const loader = connectDrivers.get(scheme) ?? connectDrivers.get(scheme.split('+')[0]);
    if (!loader) throw virError(VIR_ERR_NO_CONNECT, VIR_FROM_NONE, rawUri);
    const driver = loader();
    const drivers = await driver.open(parsed, rawUri, { readOnly });
    return new Connect(rawUri, drivers, readOnly);
  }

  /** @internal the driver tables, for Domain, Network and NodeDevice. */
  get driverSet(): DriverSet {
    return this.drivers;
  }

  /** virConnectClose: returns the number of remaining references, always 0 here. */
  async close(): Promise<number> {
    if (this.closed) return 0;
    this.closed = true;
    for (const off of this.unsubscribers.splice(0)) off();
    this.domainCallbacks.clear();
    this.networkCallbacks.clear();
    this.qemuCallbacks.clear();
    await this.drivers.hypervisor.connectClose?.();
    return 0;
  }

  private hv<K extends keyof import('./driver').HypervisorDriver>(key: K, cname: string) {
    checkConnection(this, cname, VIR_FROM_DOMAIN);
    return slot(this.drivers.hypervisor, key, cname, VIR_FROM_DOMAIN);
  }

  /** virConnectIsAlive */
  async isAlive(): Promise<boolean> {
    checkConnection(this, 'virConnectIsAlive', VIR_FROM_DOMAIN);
    const alive = this.drivers.hypervisor.connectIsAlive;
    return alive ? alive.call(this.drivers.hypervisor) : true;
  }

  /** virConnectGetType */
  async getType(): Promise<string> {
    return this.hv('connectGetType', 'virConnectGetType')();
  }

  /** virConnectGetVersion */
  async getVersion(): Promise<number> {
    return this.hv('connectGetVersion', 'virConnectGetVersion')();
  }

  /** virConnectGetLibVersion: virtnode's own version, major*1e6 + minor*1e3 + micro. */
  async getLibVersion(): Promise<number> {
    checkConnection(this, 'virConnectGetLibVersion', VIR_FROM_DOMAIN);
    return libVersionNumber();
  }

  /** virConnectGetHostname */
  async getHostname(): Promise<string> {
    return this.hv('connectGetHostname', 'virConnectGetHostname')();
  }

  /** virConnectGetURI */
  async getURI(): Promise<string> {
    checkConnection(this, 'virConnectGetURI', VIR_FROM_DOMAIN);
    return this.uri;
  }

  /** virConnectGetCapabilities */
  async getCapabilities(): Promise<string> {
    return this.hv('connectGetCapabilities', 'virConnectGetCapabilities')();
  }

  /** virConnectGetDomainCapabilities */
  async getDomainCapabilities(
    emulatorbin: string | null = null,
    arch: string | null = null,
    machine: string | null = null,
    virttype: string | null = null,
    flags = 0,
  ): Promise<string> {
    const cname = 'virConnectGetDomainCapabilities';
    const fn = this.hv('connectGetDomainCapabilities', cname);
    return fn(emulatorbin, arch, machine, virttype, checkFlags(flags, cname, VIR_FROM_DOMAIN));
  }

  /** virConnectGetSysinfo */
  async getSysinfo(flags = 0): Promise<string> {
    const cname = 'virConnectGetSysinfo';
    return this.hv('connectGetSysinfo', cname)(checkFlags(flags, cname, VIR_FROM_DOMAIN));
  }

  /** virConnectGetMaxVcpus */
  async getMaxVcpus(type: string | null = null): Promise<number> {
    return this.hv('connectGetMaxVcpus', 'virConnectGetMaxVcpus')(type);
  }

  /** virConnectDomainXMLToNative */
  async domainXMLToNative(nativeFormat: string, domainXml: string, flags = 0): Promise<string> {
    const cname = 'virConnectDomainXMLToNative';
    checkConnection(this, cname, VIR_FROM_DOMAIN);
    checkWritable(this, cname, VIR_FROM_DOMAIN);
    const fn = this.hv('connectDomainXMLToNative', cname);
    return fn(nativeFormat, domainXml, checkFlags(flags, cname, VIR_FROM_DOMAIN));
  }

  /** virNodeGetInfo */
  async nodeGetInfo(): Promise<NodeInfo> {
    return this.hv('nodeGetInfo', 'virNodeGetInfo')();
  }

  /** virNodeGetFreeMemory (bytes) */
  async nodeGetFreeMemory(): Promise<bigint> {
    return this.hv('nodeGetFreeMemory', 'virNodeGetFreeMemory')();
  }

  /** virNodeGetCellsFreeMemory (bytes per cell) */
  async nodeGetCellsFreeMemory(startCell: number, maxCells: number): Promise<bigint[]> {
    const cname = 'virNodeGetCellsFreeMemory';
    const fn = this.hv('nodeGetCellsFreeMemory', cname);
    if (!Number.isInteger(startCell) || startCell < 0) {
      // virReportInvalidNonNegativeArg: libvirt reports this message without the code's prefix.
      throw new VirError({ code: VIR_ERR_INVALID_ARG, domain: VIR_FROM_DOMAIN, message: `startCell in ${cname} must be zero or greater` });
    }
    if (!Number.isInteger(maxCells) || maxCells <= 0) {
      throw new VirError({ code: VIR_ERR_INVALID_ARG, domain: VIR_FROM_DOMAIN, message: `maxCells in ${cname} must be greater than zero` });
    }
    return fn(startCell, maxCells);
  }

  /** virNodeGetSecurityModel: the host's security model and DOI ('' when there is none). */
  async nodeGetSecurityModel(): Promise<import('./driver').SecurityModel> {
    return this.hv('nodeGetSecurityModel', 'virNodeGetSecurityModel')();
  }

  /** virConnectListAllDomains */
  async listAllDomains(flags = 0): Promise<Domain[]> {
    const cname = 'virConnectListAllDomains';
    const refs = await this.hv('connectListAllDomains', cname)(checkFlags(flags, cname, VIR_FROM_DOMAIN));
    return refs.map((ref) => new Domain(this, ref));
  }

  /** virConnectNumOfDomains */
  async numOfDomains(): Promise<number> {
    return this.hv('connectNumOfDomains', 'virConnectNumOfDomains')();
  }

  /** virConnectNumOfDefinedDomains */
  async numOfDefinedDomains(): Promise<number> {
    return this.hv('connectNumOfDefinedDomains', 'virConnectNumOfDefinedDomains')();
  }

  /** virConnectListDomains: ids of the running domains, at most maxids. */
  async listDomains(maxids = 0x7fffffff): Promise<number[]> {
    return this.hv('connectListDomains', 'virConnectListDomains')(maxids);
  }

  /** virConnectListDefinedDomains: names of the inactive persistent domains. */
  async listDefinedDomains(maxnames = 0x7fffffff): Promise<string[]> {
    return this.hv('connectListDefinedDomains', 'virConnectListDefinedDomains')(maxnames);
  }

  private net<K extends keyof import('./driver').NetworkDriver>(key: K, cname: string) {
    checkConnection(this, cname, VIR_FROM_NETWORK);
    return slot(this.drivers.network, key, cname, VIR_FROM_NETWORK);
  }

  /** virConnectNumOfNetworks */
  async numOfNetworks(): Promise<number> {
    return this.net('connectNumOfNetworks', 'virConnectNumOfNetworks')();
  }

  /** virConnectNumOfDefinedNetworks */
  async numOfDefinedNetworks(): Promise<number> {
    return this.net('connectNumOfDefinedNetworks', 'virConnectNumOfDefinedNetworks')();
  }

  /** virConnectListNetworks */
  async listNetworks(maxnames = 0x7fffffff): Promise<string[]> {
    return this.net('connectListNetworks', 'virConnectListNetworks')(maxnames);
  }

  /** virConnectListDefinedNetworks */
  async listDefinedNetworks(maxnames = 0x7fffffff): Promise<string[]> {
    return this.net('connectListDefinedNetworks', 'virConnectListDefinedNetworks')(maxnames);
  }

  /** virConnectListAllNetworks */
  async listAllNetworks(flags = 0): Promise<Network[]> {
    const cname = 'virConnectListAllNetworks';
    const refs = await this.net('connectListAllNetworks', cname)(checkFlags(flags, cname, VIR_FROM_NETWORK));
    return refs.map((ref) => new Network(this, ref));
  }

  private nodedev<K extends keyof import('./driver').NodeDeviceDriver>(key: K, cname: string) {
    checkConnection(this, cname, VIR_FROM_NODEDEV);
    return slot(this.drivers.nodeDevice, key, cname, VIR_FROM_NODEDEV);
  }

  /** virNodeNumOfDevices */
  async nodeNumOfDevices(cap: string | null = null, flags = 0): Promise<number> {
    const cname = 'virNodeNumOfDevices';
    return this.nodedev('nodeNumOfDevices', cname)(cap, checkFlags(flags, cname, VIR_FROM_NODEDEV));
  }

  /** virNodeListDevices */
  async nodeListDevices(cap: string | null = null, maxnames = 0x7fffffff, flags = 0): Promise<string[]> {
    const cname = 'virNodeListDevices';
    const fn = this.nodedev('nodeListDevices', cname);
    return fn(cap, maxnames, checkFlags(flags, cname, VIR_FROM_NODEDEV));
  }

  /** virConnectListAllNodeDevices */
  async listAllNodeDevices(flags = 0): Promise<NodeDevice[]> {
    const cname = 'virConnectListAllNodeDevices';
    const fn = this.nodedev('connectListAllNodeDevices', cname);
    const refs = await fn(checkFlags(flags, cname, VIR_FROM_NODEDEV));
    return refs.map((ref) => new NodeDevice(this, ref));
  }

  /** virConnectDomainEventRegisterAny: callback gets (conn, dom, ...the C callback's arguments). */
  domainEventRegisterAny(dom: Domain | null, eventID: number, callback: DomainEventCallback): number {
    const cname = 'virConnectDomainEventRegisterAny';
    checkConnection(this, cname, VIR_FROM_DOMAIN);
    const subscribe = slot(this.drivers.hypervisor, 'domainEventSubscribe', cname, VIR_FROM_DOMAIN);
    if (!Number.isInteger(eventID) || eventID < 0 || eventID >= 27) {
      throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, `eventID in ${cname} must be less than 27`);
    }
    if (!this.domainSubscribed) {
      this.domainSubscribed = true;
      this.unsubscribers.push(subscribe((event) => this.dispatch(this.domainCallbacks, event, event.eventID, event.dom.uuid)));
    }
    const filter = dom ? dom.getUUIDString() : null;
    this.checkNotTracked(this.domainCallbacks, eventID, filter, callback);
    const id = this.allocateCallbackID();
    this.domainCallbacks.set(id, {
      eventID,
      filter,
      callback,
      deliver: (event) => callback(this, new Domain(this, event.dom), ...event.args),
    });
    return id;
  }

  /** virConnectDomainEventDeregisterAny */
  domainEventDeregisterAny(callbackID: number): number {
    return this.deregister(this.domainCallbacks, callbackID, 'virConnectDomainEventDeregisterAny', VIR_FROM_DOMAIN);
  }

  /** virConnectNetworkEventRegisterAny */
  networkEventRegisterAny(net: Network | null, eventID: number, callback: NetworkEventCallback): number {
    const cname = 'virConnectNetworkEventRegisterAny';
    checkConnection(this, cname, VIR_FROM_NETWORK);
    const subscribe = slot(this.drivers.network, 'networkEventSubscribe', cname, VIR_FROM_NETWORK);
    if (!Number.isInteger(eventID) || eventID < 0 || eventID >= 1) {
      throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_NETWORK, `eventID in ${cname} must be less than 1`);
    }
    if (!this.networkSubscribed) {
      this.networkSubscribed = true;
      this.unsubscribers.push(subscribe((event) => this.dispatch(this.networkCallbacks, event, event.eventID, event.net.uuid)));
    }
    const filter = net ? net.getUUIDString() : null;
    this.checkNotTracked(this.networkCallbacks, eventID, filter, callback);
    const id = this.allocateCallbackID();
    this.networkCallbacks.set(id, {
      eventID,
      filter,
      callback,
      deliver: (event) => callback(this, new Network(this, event.net), ...event.args),
    });
    return id;
  }

  /** virConnectNetworkEventDeregisterAny */
  networkEventDeregisterAny(callbackID: number): number {
    return this.deregister(this.networkCallbacks, callbackID, 'virConnectNetworkEventDeregisterAny', VIR_FROM_NETWORK);
  }

  /** virConnectDomainQemuMonitorEventRegister (libvirt-qemu): event name filter, or null for all. */
  domainQemuMonitorEventRegister(
    dom: Domain | null,
    event: string | null,
    callback: QemuMonitorEventCallback,
    flags = 0,
  ): number {
    const cname = 'virConnectDomainQemuMonitorEventRegister';
    checkConnection(this, cname, VIR_FROM_QEMU);
    const subscribe = slot(this.drivers.hypervisor, 'qemuMonitorEventSubscribe', cname, VIR_FROM_DOMAIN);
    const REGEX = 1;
    const NOCASE = 2;
    checkFlags(flags, cname, VIR_FROM_DOMAIN);
    let match: (name: string) => boolean = () => true;
    if (event !== null) {
      if (flags & REGEX) {
        const re = new RegExp(event, flags & NOCASE ? 'i' : '');
        match = (name) => re.test(name);
      } else if (flags & NOCASE) {
        match = (name) => name.toLowerCase() === event.toLowerCase();
      } else {
        match = (name) => name === event;
      }
    }
    if (!this.qemuSubscribed) {
      this.qemuSubscribed = true;
      this.unsubscribers.push(subscribe((ev) => this.dispatch(this.qemuCallbacks, ev, 0, ev.dom.uuid)));
    }
    const id = this.allocateCallbackID();
    this.qemuCallbacks.set(id, {
      eventID: 0,
      filter: dom ? dom.getUUIDString() : null,
      deliver: (ev) => {
        if (match(ev.event)) callback(this, new Domain(this, ev.dom), ev.event, ev.seconds, ev.micros, ev.details);
      },
    });
    return id;
  }

  /** virConnectDomainQemuMonitorEventDeregister */
  domainQemuMonitorEventDeregister(callbackID: number): number {
    return this.deregister(this.qemuCallbacks, callbackID, 'virConnectDomainQemuMonitorEventDeregister', VIR_FROM_DOMAIN);
  }

  private checkNotTracked<E>(registry: Map<number, Registration<E>>, eventID: number, filter: string | null, callback: unknown): void {
    for (const r of registry.values()) {
      if (r.callback === callback && r.eventID === eventID && r.filter === filter) {
        throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_NONE, 'event callback already tracked');
      }
    }
  }

  private allocateCallbackID(): number {
    return this.drivers.allocateEventCallbackID ? this.drivers.allocateEventCallbackID() : nextCallbackID++;
  }

  /** Delivery is asynchronous and in emission order, as libvirt's event loop delivers it. */
  private dispatch<E>(registry: Map<number, Registration<E>>, event: E, eventID: number, uuid: string): void {
    let seq = eventSequence.get(event as object);
    if (seq === undefined) {
      seq = nextEventSequence++;
      eventSequence.set(event as object, seq);
    }
    for (const [id, r] of registry) {
      if (r.eventID !== eventID || (r.filter !== null && r.filter !== uuid)) continue;
      pendingDeliveries.push({ seq, id, run: () => registry.get(id) === r && r.deliver(event) });
    }
    if (pendingDeliveries.length > 0 && !flushScheduled) {
      flushScheduled = true;
      setImmediate(flushDeliveries);
    }
  }

  private deregister<E>(registry: Map<number, Registration<E>>, id: number, cname: string, from: number): number {
    checkConnection(this, cname, from);
    if (!registry.delete(id)) {
      // virObjectEventStateDeregisterID reports from the event code, with no error domain.
      throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_NONE, `could not find event callback ${id} for deletion`);
    }
    return 0;
  }
}
