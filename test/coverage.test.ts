// The C functions in scope, each looked up under the name DESIGN.md's mapping rules give it:
//  - virConnectOpen / virConnectOpenReadOnly -> static Connect.open / Connect.openReadOnly;
//  - virConnectYyy(conn, ...) -> conn.yyy(...);
//  - virNodeYyy(conn, ...) (host functions) -> conn.nodeYyy(...): the node prefix is kept;
//  - virXxxYyy(virConnectPtr conn, ...) for Xxx other than Connect -> static Xxx.yyy(conn, ...);
//  - virXxxYyy(virXxxPtr obj, ...) -> obj.yyy(...).
// The name is derived mechanically here; only which functions take a virConnectPtr first is C
// knowledge, listed in TAKES_CONNECTION.
import assert from 'node:assert/strict';
import { Connect, Domain, Network, NodeDevice } from '../src';

const CONNECT = [
  'virConnectOpen',
  'virConnectOpenReadOnly',
  'virConnectClose',
  'virConnectIsAlive',
  'virConnectGetType',
  'virConnectGetVersion',
  'virConnectGetLibVersion',
  'virConnectGetHostname',
  'virConnectGetURI',
  'virConnectGetCapabilities',
  'virConnectGetDomainCapabilities',
  'virConnectGetSysinfo',
  'virConnectGetMaxVcpus',
  'virConnectDomainXMLToNative',
  'virNodeGetInfo',
  'virNodeGetFreeMemory',
  'virNodeGetCellsFreeMemory',
  'virConnectListAllDomains',
  'virConnectNumOfDomains',
  'virConnectNumOfDefinedDomains',
  'virConnectListDomains',
  'virConnectListDefinedDomains',
  'virConnectListAllNetworks',
  'virConnectNumOfNetworks',
  'virConnectNumOfDefinedNetworks',
  'virConnectListNetworks',
  'virConnectListDefinedNetworks',
  'virConnectListAllNodeDevices',
  'virNodeNumOfDevices',
  'virNodeListDevices',
];

const DOMAIN = [
  'virDomainLookupByName',
  'virDomainLookupByID',
  'virDomainLookupByUUID',
  'virDomainLookupByUUIDString',
  'virDomainDefineXML',
  'virDomainDefineXMLFlags',
  'virDomainCreateXML',
  'virDomainCreate',
  'virDomainCreateWithFlags',
  'virDomainDestroy',
  'virDomainDestroyFlags',
  'virDomainShutdown',
  'virDomainShutdownFlags',
  'virDomainReboot',
  'virDomainReset',
  'virDomainSuspend',
  'virDomainResume',
  'virDomainUndefine',
  'virDomainUndefineFlags',
  'virDomainGetInfo',
  'virDomainGetState',
  'virDomainGetXMLDesc',
  'virDomainGetID',
  'virDomainGetName',
  'virDomainGetUUID',
  'virDomainGetUUIDString',
  'virDomainGetOSType',
  'virDomainGetMaxMemory',
  'virDomainSetMaxMemory',
  'virDomainSetMemory',
  'virDomainGetMaxVcpus',
  'virDomainSetVcpus',
  'virDomainIsActive',
  'virDomainIsPersistent',
  'virDomainIsUpdated',
  'virDomainGetAutostart',
  'virDomainSetAutostart',
  'virDomainAttachDevice',
  'virDomainAttachDeviceFlags',
  'virDomainDetachDevice',
  'virDomainDetachDeviceFlags',
  'virDomainUpdateDeviceFlags',
  'virDomainHasManagedSaveImage',
  'virDomainManagedSave',
  'virDomainGetHostname',
  // libvirt-qemu
  'virDomainQemuMonitorCommand',
];

const NETWORK = [
  'virNetworkLookupByName',
  'virNetworkLookupByUUID',
  'virNetworkLookupByUUIDString',
  'virNetworkDefineXML',
  'virNetworkCreateXML',
  'virNetworkCreate',
  'virNetworkDestroy',
  'virNetworkUndefine',
  'virNetworkGetXMLDesc',
  'virNetworkGetBridgeName',
  'virNetworkGetAutostart',
  'virNetworkSetAutostart',
  'virNetworkIsActive',
  'virNetworkIsPersistent',
  'virNetworkGetName',
  'virNetworkGetUUID',
  'virNetworkGetUUIDString',
];

const NODE_DEVICE = [
  'virNodeDeviceLookupByName',
  'virNodeDeviceGetXMLDesc',
  'virNodeDeviceGetName',
  'virNodeDeviceGetParent',
  'virNodeDeviceNumOfCaps',
  'virNodeDeviceListCaps',
  'virNodeDeviceDetachFlags',
  'virNodeDeviceReAttach',
  'virNodeDeviceReset',
];

const EVENTS = [
  'virConnectDomainEventRegisterAny',
  'virConnectDomainEventDeregisterAny',
  'virConnectNetworkEventRegisterAny',
  'virConnectNetworkEventDeregisterAny',
  // libvirt-qemu
  'virConnectDomainQemuMonitorEventRegister',
  'virConnectDomainQemuMonitorEventDeregister',
];

/** Functions of a non-Connect object whose first C parameter is a virConnectPtr (or none). */
const TAKES_CONNECTION = new Set([
  'virConnectOpen',
  'virConnectOpenReadOnly',
  'virDomainLookupByName',
  'virDomainLookupByID',
  'virDomainLookupByUUID',
  'virDomainLookupByUUIDString',
  'virDomainDefineXML',
  'virDomainDefineXMLFlags',
  'virDomainCreateXML',
  'virNetworkLookupByName',
  'virNetworkLookupByUUID',
  'virNetworkLookupByUUIDString',
  'virNetworkDefineXML',
  'virNetworkCreateXML',
  'virNodeDeviceLookupByName',
]);

const CLASSES = { Connect, Domain, Network, NodeDevice } as const;
type ClassName = keyof typeof CLASSES;

interface Mapped {
  cls: ClassName;
  name: string;
  isStatic: boolean;
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** DESIGN.md's rules, applied to a C function name. */
function mapCFunction(cname: string): Mapped {
  if (cname === 'virConnectOpen' || cname === 'virConnectOpenReadOnly') {
    return { cls: 'Connect', name: lowerFirst(cname.slice('virConnect'.length)), isStatic: true };
  }
  for (const prefix of ['NodeDevice', 'Network', 'Domain'] as const) {
    if (cname.startsWith(`vir${prefix}`)) {
      const name = lowerFirst(cname.slice(`vir${prefix}`.length));
      return { cls: prefix, name, isStatic: TAKES_CONNECTION.has(cname) };
    }
  }
  if (cname.startsWith('virConnect')) return { cls: 'Connect', name: lowerFirst(cname.slice('virConnect'.length)), isStatic: false };
  if (cname.startsWith('virNode')) return { cls: 'Connect', name: lowerFirst(cname.slice('vir'.length)), isStatic: false };
  throw new Error(`no mapping rule for ${cname}`);
}

describe('coverage: every C function in scope exists under its mapped name', () => {
  it('maps names by the documented rules', () => {
    assert.deepEqual(mapCFunction('virDomainGetXMLDesc'), { cls: 'Domain', name: 'getXMLDesc', isStatic: false });
    assert.deepEqual(mapCFunction('virDomainLookupByName'), { cls: 'Domain', name: 'lookupByName', isStatic: true });
    assert.deepEqual(mapCFunction('virNodeGetCellsFreeMemory'), { cls: 'Connect', name: 'nodeGetCellsFreeMemory', isStatic: false });
    assert.deepEqual(mapCFunction('virNodeDeviceDetachFlags'), { cls: 'NodeDevice', name: 'detachFlags', isStatic: false });
    assert.deepEqual(mapCFunction('virConnectOpenReadOnly'), { cls: 'Connect', name: 'openReadOnly', isStatic: true });
  });

  const groups: Array<[string, string[]]> = [
    ['Connect', CONNECT],
    ['Domain', DOMAIN],
    ['Network', NETWORK],
    ['NodeDevice', NODE_DEVICE],
    ['events', EVENTS],
  ];
  for (const [group, functions] of groups) {
    describe(group, () => {
      for (const cname of functions) {
        const m = mapCFunction(cname);
        const where = m.isStatic ? `${m.cls}.${m.name}` : `${m.cls}.prototype.${m.name}`;
        it(`${cname} -> ${where}`, () => {
          const cls = CLASSES[m.cls] as unknown as Record<string, unknown> & { prototype: Record<string, unknown> };
          const target = m.isStatic ? cls[m.name] : cls.prototype[m.name];
          assert.equal(typeof target, 'function', `${where} is missing`);
        });
      }
    });
  }

  it('the synchronous accessors C answers locally are not async', async () => {
    const conn = await Connect.open('test:///default');
    try {
      const dom = await Domain.lookupByName(conn, 'test');
      const net = await Network.lookupByName(conn, 'default');
      const dev = await NodeDevice.lookupByName(conn, 'computer');
      assert.equal(dom.getName(), 'test');
      assert.equal(dom.getID(), 1);
      assert.equal(dom.getUUIDString(), '6695eb01-f6a4-8304-79aa-97f2502e193f');
      assert.equal(Buffer.from(dom.getUUID()).toString('hex'), '6695eb01f6a4830479aa97f2502e193f');
      assert.equal(net.getName(), 'default');
      assert.equal(net.getUUIDString(), 'dd8fe884-6c02-601e-7551-cca97df1c5df');
      assert.equal(dev.getName(), 'computer');
      const info = dom.getInfo();
      assert.ok(info instanceof Promise, 'getInfo reaches the driver, so it returns a Promise');
      assert.equal((await info).maxMem, 8388608);
    } finally {
      await conn.close();
    }
  });
});
