// Driver tables, as libvirt's driver-hypervisor.h / driver-network.h / driver-nodedev.h define
// them. A public method looks its entry up by name; an entry a driver leaves out makes the call
// fail with VIR_ERR_NO_SUPPORT, exactly as libvirt does for a NULL slot.

/** What a virDomainPtr carries: identity snapshot, updated by drivers when the id changes. */
export interface DomainRef {
  name: string;
  uuid: string;
  id: number;
}

export interface NetworkRef {
  name: string;
  uuid: string;
}

export interface NodeDeviceRef {
  name: string;
}

/** virDomainInfo */
export interface DomainInfo {
  state: number;
  maxMem: number;
  memory: number;
  nrVirtCpu: number;
  cpuTime: bigint;
}

/** virNodeInfo */
export interface NodeInfo {
  model: string;
  memory: number;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

/** virSecurityModel */
export interface SecurityModel {
  model: string;
  doi: string;
}

/** virSecurityLabel */
export interface SecurityLabel {
  label: string;
  enforcing: boolean;
}

export interface DomainStateResult {
  state: number;
  reason: number;
}

/** A domain event as a driver emits it: the event id and the C callback's arguments after dom. */
export interface DomainEvent {
  eventID: number;
  dom: DomainRef;
  args: unknown[];
}

export interface NetworkEvent {
  eventID: number;
  net: NetworkRef;
  args: unknown[];
}

/** QEMU monitor events passed through untouched (virConnectDomainQemuMonitorEventRegister). */
export interface QemuMonitorEvent {
  dom: DomainRef;
  event: string;
  seconds: number;
  micros: number;
  details: string | null;
}

export type DomainEventListener = (event: DomainEvent) => void;
export type NetworkEventListener = (event: NetworkEvent) => void;
export type QemuMonitorEventListener = (event: QemuMonitorEvent) => void;

/** Returned by event subscriptions; calling it stops delivery. */
export type Unsubscribe = () => void;

export interface HypervisorDriver {
  readonly name: string;

  connectClose?(): Promise<void>;
  connectIsAlive?(): Promise<boolean>;
  connectGetType?(): Promise<string>;
  connectGetVersion?(): Promise<number>;
  connectGetHostname?(): Promise<string>;
  connectGetCapabilities?(): Promise<string>;
  connectGetDomainCapabilities?(
    emulatorbin: string | null,
    arch: string | null,
    machine: string | null,
    virttype: string | null,
    flags: number,
  ): Promise<string>;
  connectGetSysinfo?(flags: number): Promise<string>;
  connectGetMaxVcpus?(type: string | null): Promise<number>;
  connectDomainXMLToNative?(nativeFormat: string, domainXml: string, flags: number): Promise<string>;
  nodeGetInfo?(): Promise<NodeInfo>;
  nodeGetFreeMemory?(): Promise<bigint>;
  nodeGetCellsFreeMemory?(startCell: number, maxCells: number): Promise<bigint[]>;
  nodeGetSecurityModel?(): Promise<SecurityModel>;

  connectListAllDomains?(flags: number): Promise<DomainRef[]>;
  connectNumOfDomains?(): Promise<number>;
  connectNumOfDefinedDomains?(): Promise<number>;
  connectListDomains?(maxids: number): Promise<number[]>;
  connectListDefinedDomains?(maxnames: number): Promise<string[]>;

  domainLookupByName?(name: string): Promise<DomainRef>;
  domainLookupByID?(id: number): Promise<DomainRef>;
  domainLookupByUUID?(uuid: string): Promise<DomainRef>;
  domainDefineXMLFlags?(xml: string, flags: number): Promise<DomainRef>;
  domainCreateXML?(xml: string, flags: number): Promise<DomainRef>;
  domainCreateWithFlags?(dom: DomainRef, flags: number): Promise<void>;
  domainDestroyFlags?(dom: DomainRef, flags: number): Promise<void>;
  domainShutdownFlags?(dom: DomainRef, flags: number): Promise<void>;
  domainReboot?(dom: DomainRef, flags: number): Promise<void>;
  domainReset?(dom: DomainRef, flags: number): Promise<void>;
  domainSuspend?(dom: DomainRef): Promise<void>;
  domainResume?(dom: DomainRef): Promise<void>;
  domainUndefineFlags?(dom: DomainRef, flags: number): Promise<void>;
  domainGetInfo?(dom: DomainRef): Promise<DomainInfo>;
  domainGetState?(dom: DomainRef, flags: number): Promise<DomainStateResult>;
  domainGetXMLDesc?(dom: DomainRef, flags: number): Promise<string>;
  domainGetOSType?(dom: DomainRef): Promise<string>;
  domainGetMaxMemory?(dom: DomainRef): Promise<number>;
  domainSetMaxMemory?(dom: DomainRef, memory: number): Promise<void>;
  domainSetMemoryFlags?(dom: DomainRef, memory: number, flags: number): Promise<void>;
  domainGetMaxVcpus?(dom: DomainRef): Promise<number>;
  domainSetVcpusFlags?(dom: DomainRef, nvcpus: number, flags: number): Promise<void>;
  domainIsActive?(dom: DomainRef): Promise<boolean>;
  domainIsPersistent?(dom: DomainRef): Promise<boolean>;
  domainIsUpdated?(dom: DomainRef): Promise<boolean>;
  domainGetAutostart?(dom: DomainRef): Promise<boolean>;
  domainSetAutostart?(dom: DomainRef, autostart: boolean): Promise<void>;
  domainAttachDeviceFlags?(dom: DomainRef, xml: string, flags: number): Promise<void>;
  domainDetachDeviceFlags?(dom: DomainRef, xml: string, flags: number): Promise<void>;
  domainDetachDeviceAlias?(dom: DomainRef, alias: string, flags: number): Promise<void>;
  domainUpdateDeviceFlags?(dom: DomainRef, xml: string, flags: number): Promise<void>;
  domainHasManagedSaveImage?(dom: DomainRef, flags: number): Promise<boolean>;
  domainManagedSave?(dom: DomainRef, flags: number): Promise<void>;
  domainManagedSaveRemove?(dom: DomainRef, flags: number): Promise<void>;
  domainGetHostname?(dom: DomainRef, flags: number): Promise<string>;
  domainQemuMonitorCommand?(dom: DomainRef, cmd: string, flags: number): Promise<string>;
  domainGetSecurityLabel?(dom: DomainRef): Promise<SecurityLabel>;

  /** Subscribes to every domain event of this connection's driver state. */
  domainEventSubscribe?(listener: DomainEventListener): Unsubscribe;
  qemuMonitorEventSubscribe?(listener: QemuMonitorEventListener): Unsubscribe;
}

export interface NetworkDriver {
  connectNumOfNetworks?(): Promise<number>;
  connectNumOfDefinedNetworks?(): Promise<number>;
  connectListNetworks?(maxnames: number): Promise<string[]>;
  connectListDefinedNetworks?(maxnames: number): Promise<string[]>;
  connectListAllNetworks?(flags: number): Promise<NetworkRef[]>;
  networkLookupByName?(name: string): Promise<NetworkRef>;
  networkLookupByUUID?(uuid: string): Promise<NetworkRef>;
  networkDefineXMLFlags?(xml: string, flags: number): Promise<NetworkRef>;
  networkCreateXMLFlags?(xml: string, flags: number): Promise<NetworkRef>;
  networkCreate?(net: NetworkRef): Promise<void>;
  networkDestroy?(net: NetworkRef): Promise<void>;
  networkUndefine?(net: NetworkRef): Promise<void>;
  networkGetXMLDesc?(net: NetworkRef, flags: number): Promise<string>;
  networkGetBridgeName?(net: NetworkRef): Promise<string>;
  networkGetAutostart?(net: NetworkRef): Promise<boolean>;
  networkSetAutostart?(net: NetworkRef, autostart: boolean): Promise<void>;
  networkIsActive?(net: NetworkRef): Promise<boolean>;
  networkIsPersistent?(net: NetworkRef): Promise<boolean>;
  networkEventSubscribe?(listener: NetworkEventListener): Unsubscribe;
}

export interface NodeDeviceDriver {
  nodeNumOfDevices?(cap: string | null, flags: number): Promise<number>;
  nodeListDevices?(cap: string | null, maxnames: number, flags: number): Promise<string[]>;
  connectListAllNodeDevices?(flags: number): Promise<NodeDeviceRef[]>;
  nodeDeviceLookupByName?(name: string): Promise<NodeDeviceRef>;
  nodeDeviceGetXMLDesc?(dev: NodeDeviceRef, flags: number): Promise<string>;
  nodeDeviceGetParent?(dev: NodeDeviceRef): Promise<string | null>;
  nodeDeviceNumOfCaps?(dev: NodeDeviceRef): Promise<number>;
  nodeDeviceListCaps?(dev: NodeDeviceRef): Promise<string[]>;
  nodeDeviceDettach?(dev: NodeDeviceRef): Promise<void>;
  nodeDeviceDetachFlags?(dev: NodeDeviceRef, driverName: string | null, flags: number): Promise<void>;
  nodeDeviceReAttach?(dev: NodeDeviceRef): Promise<void>;
  nodeDeviceReset?(dev: NodeDeviceRef): Promise<void>;
}

/** What a URI scheme's driver module hands back from open(). */
export interface DriverSet {
  hypervisor: HypervisorDriver;
  network?: NetworkDriver;
  nodeDevice?: NodeDeviceDriver;
  /**
   * Event callback ids from the driver's event state, when the driver has one shared by its
   * connections (libvirt numbers them per virObjectEventState, from 0).
   */
  allocateEventCallbackID?: () => number;
}

export interface OpenOptions {
  readOnly: boolean;
}

/** A connection driver: claims URIs by scheme and opens them. */
export interface ConnectDriver {
  readonly schemes: readonly string[];
  open(uri: URL, rawUri: string, options: OpenOptions): Promise<DriverSet>;
}
