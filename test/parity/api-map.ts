// The one table of the parity suite: each C function a scenario step may call, how libvirt-python
// spells it, how virtnode spells it, and how its return value is brought to one canonical form.
//
// Spelling conventions in the table:
//   py: 'libvirt.open'            module function, step args only
//       'libvirt_qemu.fn'         module function, the step's receiver handle first
//       'method'                  method of the step's receiver (a virConnect/virDomain/... object)
//       '@name'                   handled by the python runner itself (event callbacks)
//   vn: 'Connect.open'            static, step args only (the step has no receiver)
//       'Domain.lookupByName'     static, receiver (a Connect) first: Domain.lookupByName(conn, ...)
//       'suspend'                 instance method of the receiver
//       '@name'                   handled by the virtnode runner itself (event callbacks)
// Step args are always in C order, without the C function's first (receiver) argument. Where the
// python binding drops or reorders arguments, `pyArgs` converts them.

/** How a raw result becomes comparable. Every mapping that loses information is named here. */
export type ReturnKind =
  /** the value as it is (strings, numbers, lists in a meaningful order) */
  | 'value'
  /** C int 0/-1 functions: python returns 0 (or None), virtnode undefined; both become null */
  | 'void'
  /** C int booleans: python 0/1, virtnode false/true; both become true/false */
  | 'bool'
  /** a list whose order is hash-table order in libvirt (listAll*, list*IDs/names): compared sorted */
  | 'set'
  /** virDomainGetInfo: python [state, maxMem, memory, nrVirtCpu, cpuTime] -> virDomainInfo fields */
  | 'domainInfo'
  /** virDomainGetState: python [state, reason] -> { state, reason } */
  | 'domainState'
  /**
   * virNodeGetInfo: python [model, memory, cpus, mhz, nodes, sockets, cores, threads] -> virNodeInfo
   * fields. libvirt-python reports memory in MiB (it shifts the C KiB value right by 10); virtnode
   * returns C's KiB. The canonical form is python's MiB: virtnode's KiB is floored to MiB, the
   * exact conversion python makes, so no precision python has is thrown away.
   */
  | 'nodeInfo';

export interface ApiMapping {
  c: string;
  py: string;
  vn: string;
  ret: ReturnKind;
  /** C-order step args -> python call args, when python's signature differs */
  pyArgs?: (args: unknown[]) => unknown[];
}

const dropAll = () => [];
/** virNodeListDevices(conn, cap, maxnames, flags) -> conn.listDevices(cap, flags) */
const dropMaxnames = (args: unknown[]) => [args[0], args[2] ?? 0];

const TABLE: ApiMapping[] = [
  // Connect (libvirt-host)
  { c: 'virConnectOpen', py: 'libvirt.open', vn: 'Connect.open', ret: 'value' },
  { c: 'virConnectOpenReadOnly', py: 'libvirt.openReadOnly', vn: 'Connect.openReadOnly', ret: 'value' },
  { c: 'virConnectClose', py: 'close', vn: 'close', ret: 'value' },
  { c: 'virConnectIsAlive', py: 'isAlive', vn: 'isAlive', ret: 'bool' },
  { c: 'virConnectGetType', py: 'getType', vn: 'getType', ret: 'value' },
  { c: 'virConnectGetVersion', py: 'getVersion', vn: 'getVersion', ret: 'value' },
  { c: 'virConnectGetLibVersion', py: 'getLibVersion', vn: 'getLibVersion', ret: 'value' },
  { c: 'virConnectGetHostname', py: 'getHostname', vn: 'getHostname', ret: 'value' },
  { c: 'virConnectGetURI', py: 'getURI', vn: 'getURI', ret: 'value' },
  { c: 'virConnectGetCapabilities', py: 'getCapabilities', vn: 'getCapabilities', ret: 'value' },
  { c: 'virConnectGetDomainCapabilities', py: 'getDomainCapabilities', vn: 'getDomainCapabilities', ret: 'value' },
  { c: 'virConnectGetSysinfo', py: 'getSysinfo', vn: 'getSysinfo', ret: 'value' },
  { c: 'virConnectGetMaxVcpus', py: 'getMaxVcpus', vn: 'getMaxVcpus', ret: 'value' },
  { c: 'virConnectDomainXMLToNative', py: 'domainXMLToNative', vn: 'domainXMLToNative', ret: 'value' },
  { c: 'virNodeGetInfo', py: 'getInfo', vn: 'nodeGetInfo', ret: 'nodeInfo' },
  { c: 'virNodeGetFreeMemory', py: 'getFreeMemory', vn: 'nodeGetFreeMemory', ret: 'value' },
  { c: 'virNodeGetCellsFreeMemory', py: 'getCellsFreeMemory', vn: 'nodeGetCellsFreeMemory', ret: 'value' },
  { c: 'virConnectListAllDomains', py: 'listAllDomains', vn: 'listAllDomains', ret: 'set' },
  { c: 'virConnectNumOfDomains', py: 'numOfDomains', vn: 'numOfDomains', ret: 'value' },
  { c: 'virConnectNumOfDefinedDomains', py: 'numOfDefinedDomains', vn: 'numOfDefinedDomains', ret: 'value' },
  { c: 'virConnectListDomains', py: 'listDomainsID', vn: 'listDomains', ret: 'set', pyArgs: dropAll },
  { c: 'virConnectListDefinedDomains', py: 'listDefinedDomains', vn: 'listDefinedDomains', ret: 'set', pyArgs: dropAll },
  { c: 'virConnectListAllNetworks', py: 'listAllNetworks', vn: 'listAllNetworks', ret: 'set' },
  { c: 'virConnectNumOfNetworks', py: 'numOfNetworks', vn: 'numOfNetworks', ret: 'value' },
  { c: 'virConnectNumOfDefinedNetworks', py: 'numOfDefinedNetworks', vn: 'numOfDefinedNetworks', ret: 'value' },
  { c: 'virConnectListNetworks', py: 'listNetworks', vn: 'listNetworks', ret: 'set', pyArgs: dropAll },
  { c: 'virConnectListDefinedNetworks', py: 'listDefinedNetworks', vn: 'listDefinedNetworks', ret: 'set', pyArgs: dropAll },
  { c: 'virConnectListAllNodeDevices', py: 'listAllDevices', vn: 'listAllNodeDevices', ret: 'set' },
  { c: 'virNodeNumOfDevices', py: 'numOfDevices', vn: 'nodeNumOfDevices', ret: 'value' },
  { c: 'virNodeListDevices', py: 'listDevices', vn: 'nodeListDevices', ret: 'set', pyArgs: dropMaxnames },

  // Domain
  { c: 'virDomainLookupByName', py: 'lookupByName', vn: 'Domain.lookupByName', ret: 'value' },
  { c: 'virDomainLookupByID', py: 'lookupByID', vn: 'Domain.lookupByID', ret: 'value' },
  { c: 'virDomainLookupByUUID', py: 'lookupByUUID', vn: 'Domain.lookupByUUID', ret: 'value' },
  { c: 'virDomainLookupByUUIDString', py: 'lookupByUUIDString', vn: 'Domain.lookupByUUIDString', ret: 'value' },
  { c: 'virDomainDefineXML', py: 'defineXML', vn: 'Domain.defineXML', ret: 'value' },
  { c: 'virDomainDefineXMLFlags', py: 'defineXMLFlags', vn: 'Domain.defineXMLFlags', ret: 'value' },
  { c: 'virDomainCreateXML', py: 'createXML', vn: 'Domain.createXML', ret: 'value' },
  { c: 'virDomainCreate', py: 'create', vn: 'create', ret: 'void' },
  { c: 'virDomainCreateWithFlags', py: 'createWithFlags', vn: 'createWithFlags', ret: 'void' },
  { c: 'virDomainDestroy', py: 'destroy', vn: 'destroy', ret: 'void' },
  { c: 'virDomainDestroyFlags', py: 'destroyFlags', vn: 'destroyFlags', ret: 'void' },
  { c: 'virDomainShutdown', py: 'shutdown', vn: 'shutdown', ret: 'void' },
  { c: 'virDomainShutdownFlags', py: 'shutdownFlags', vn: 'shutdownFlags', ret: 'void' },
  { c: 'virDomainReboot', py: 'reboot', vn: 'reboot', ret: 'void' },
  { c: 'virDomainReset', py: 'reset', vn: 'reset', ret: 'void' },
  { c: 'virDomainSuspend', py: 'suspend', vn: 'suspend', ret: 'void' },
  { c: 'virDomainResume', py: 'resume', vn: 'resume', ret: 'void' },
  { c: 'virDomainUndefine', py: 'undefine', vn: 'undefine', ret: 'void' },
  { c: 'virDomainUndefineFlags', py: 'undefineFlags', vn: 'undefineFlags', ret: 'void' },
  { c: 'virDomainGetInfo', py: 'info', vn: 'getInfo', ret: 'domainInfo' },
  { c: 'virDomainGetState', py: 'state', vn: 'getState', ret: 'domainState' },
  { c: 'virDomainGetXMLDesc', py: 'XMLDesc', vn: 'getXMLDesc', ret: 'value' },
  { c: 'virDomainGetID', py: 'ID', vn: 'getID', ret: 'value' },
  { c: 'virDomainGetName', py: 'name', vn: 'getName', ret: 'value' },
  { c: 'virDomainGetUUID', py: 'UUID', vn: 'getUUID', ret: 'value' },
  { c: 'virDomainGetUUIDString', py: 'UUIDString', vn: 'getUUIDString', ret: 'value' },
  { c: 'virDomainGetOSType', py: 'OSType', vn: 'getOSType', ret: 'value' },
  { c: 'virDomainGetMaxMemory', py: 'maxMemory', vn: 'getMaxMemory', ret: 'value' },
  { c: 'virDomainSetMaxMemory', py: 'setMaxMemory', vn: 'setMaxMemory', ret: 'void' },
  { c: 'virDomainSetMemory', py: 'setMemory', vn: 'setMemory', ret: 'void' },
  { c: 'virDomainGetMaxVcpus', py: 'maxVcpus', vn: 'getMaxVcpus', ret: 'value' },
  { c: 'virDomainSetVcpus', py: 'setVcpus', vn: 'setVcpus', ret: 'void' },
  { c: 'virDomainIsActive', py: 'isActive', vn: 'isActive', ret: 'bool' },
  { c: 'virDomainIsPersistent', py: 'isPersistent', vn: 'isPersistent', ret: 'bool' },
  { c: 'virDomainIsUpdated', py: 'isUpdated', vn: 'isUpdated', ret: 'bool' },
  { c: 'virDomainGetAutostart', py: 'autostart', vn: 'getAutostart', ret: 'bool' },
  { c: 'virDomainSetAutostart', py: 'setAutostart', vn: 'setAutostart', ret: 'void' },
  { c: 'virDomainAttachDevice', py: 'attachDevice', vn: 'attachDevice', ret: 'void' },
  { c: 'virDomainAttachDeviceFlags', py: 'attachDeviceFlags', vn: 'attachDeviceFlags', ret: 'void' },
  { c: 'virDomainDetachDevice', py: 'detachDevice', vn: 'detachDevice', ret: 'void' },
  { c: 'virDomainDetachDeviceFlags', py: 'detachDeviceFlags', vn: 'detachDeviceFlags', ret: 'void' },
  { c: 'virDomainUpdateDeviceFlags', py: 'updateDeviceFlags', vn: 'updateDeviceFlags', ret: 'void' },
  { c: 'virDomainHasManagedSaveImage', py: 'hasManagedSaveImage', vn: 'hasManagedSaveImage', ret: 'bool' },
  { c: 'virDomainManagedSave', py: 'managedSave', vn: 'managedSave', ret: 'void' },
  { c: 'virDomainManagedSaveRemove', py: 'managedSaveRemove', vn: 'managedSaveRemove', ret: 'void' },
  { c: 'virDomainGetHostname', py: 'hostname', vn: 'getHostname', ret: 'value' },
  { c: 'virDomainQemuMonitorCommand', py: 'libvirt_qemu.qemuMonitorCommand', vn: 'qemuMonitorCommand', ret: 'value' },

  // Network
  { c: 'virNetworkLookupByName', py: 'networkLookupByName', vn: 'Network.lookupByName', ret: 'value' },
  { c: 'virNetworkLookupByUUID', py: 'networkLookupByUUID', vn: 'Network.lookupByUUID', ret: 'value' },
  { c: 'virNetworkLookupByUUIDString', py: 'networkLookupByUUIDString', vn: 'Network.lookupByUUIDString', ret: 'value' },
  { c: 'virNetworkDefineXML', py: 'networkDefineXML', vn: 'Network.defineXML', ret: 'value' },
  { c: 'virNetworkCreateXML', py: 'networkCreateXML', vn: 'Network.createXML', ret: 'value' },
  { c: 'virNetworkCreate', py: 'create', vn: 'create', ret: 'void' },
  { c: 'virNetworkDestroy', py: 'destroy', vn: 'destroy', ret: 'void' },
  { c: 'virNetworkUndefine', py: 'undefine', vn: 'undefine', ret: 'void' },
  { c: 'virNetworkGetXMLDesc', py: 'XMLDesc', vn: 'getXMLDesc', ret: 'value' },
  { c: 'virNetworkGetBridgeName', py: 'bridgeName', vn: 'getBridgeName', ret: 'value' },
  { c: 'virNetworkGetAutostart', py: 'autostart', vn: 'getAutostart', ret: 'bool' },
  { c: 'virNetworkSetAutostart', py: 'setAutostart', vn: 'setAutostart', ret: 'void' },
  { c: 'virNetworkIsActive', py: 'isActive', vn: 'isActive', ret: 'bool' },
  { c: 'virNetworkIsPersistent', py: 'isPersistent', vn: 'isPersistent', ret: 'bool' },
  { c: 'virNetworkGetName', py: 'name', vn: 'getName', ret: 'value' },
  { c: 'virNetworkGetUUID', py: 'UUID', vn: 'getUUID', ret: 'value' },
  { c: 'virNetworkGetUUIDString', py: 'UUIDString', vn: 'getUUIDString', ret: 'value' },

  // NodeDevice
  { c: 'virNodeDeviceLookupByName', py: 'nodeDeviceLookupByName', vn: 'NodeDevice.lookupByName', ret: 'value' },
  { c: 'virNodeDeviceGetXMLDesc', py: 'XMLDesc', vn: 'getXMLDesc', ret: 'value' },
  { c: 'virNodeDeviceGetName', py: 'name', vn: 'getName', ret: 'value' },
  { c: 'virNodeDeviceGetParent', py: 'parent', vn: 'getParent', ret: 'value' },
  { c: 'virNodeDeviceNumOfCaps', py: 'numOfCaps', vn: 'numOfCaps', ret: 'value' },
  { c: 'virNodeDeviceListCaps', py: 'listCaps', vn: 'listCaps', ret: 'value' },
  { c: 'virNodeDeviceDettach', py: 'dettach', vn: 'dettach', ret: 'void' },
  { c: 'virNodeDeviceDetachFlags', py: 'detachFlags', vn: 'detachFlags', ret: 'void' },
  { c: 'virNodeDeviceReAttach', py: 'reAttach', vn: 'reAttach', ret: 'void' },
  { c: 'virNodeDeviceReset', py: 'reset', vn: 'reset', ret: 'void' },

  // Events. The runners register one recording callback per registration; a step's `as` names the
  // registration, and recorded events carry that name (callback ids are compared as returned).
  { c: 'virConnectDomainEventRegisterAny', py: '@domainEventRegisterAny', vn: '@domainEventRegisterAny', ret: 'value' },
  { c: 'virConnectDomainEventDeregisterAny', py: 'domainEventDeregisterAny', vn: 'domainEventDeregisterAny', ret: 'void' },
  { c: 'virConnectNetworkEventRegisterAny', py: '@networkEventRegisterAny', vn: '@networkEventRegisterAny', ret: 'value' },
  { c: 'virConnectNetworkEventDeregisterAny', py: 'networkEventDeregisterAny', vn: 'networkEventDeregisterAny', ret: 'void' },
  /** Not a C function: waits for pending event deliveries and returns the events recorded so far. */
  { c: 'drainEvents', py: '@drainEvents', vn: '@drainEvents', ret: 'value' },
];

export const API_MAP: ReadonlyMap<string, ApiMapping> = new Map(TABLE.map((m) => [m.c, m]));

export function mappingFor(cname: string): ApiMapping {
  const m = API_MAP.get(cname);
  if (!m) throw new Error(`parity: no mapping for ${cname}; add it to test/parity/api-map.ts`);
  return m;
}
