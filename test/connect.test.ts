// src/connect.ts and the checks every public entry point makes before it reaches a driver
// (src/dispatch.ts): unknown URI schemes, empty driver slots, read-only connections and closed
// connections fail exactly as libvirt 9.0 fails them. A tiny driver registered under a made-up
// scheme stands in for a real one, so only the public layer is under test.
import assert from 'node:assert/strict';

import {
  Connect,
  Domain,
  Network,
  NodeDevice,
  registerConnectDriver,
  VIR_DOMAIN_XML_SECURE,
  VIR_ERR_INVALID_CONN,
  VIR_ERR_NO_CONNECT,
  VIR_ERR_NO_SUPPORT,
  VIR_ERR_OPERATION_DENIED,
  VIR_FROM_DOMAIN,
  VIR_FROM_NETWORK,
  VIR_FROM_NODEDEV,
  VIR_FROM_NONE,
} from '../src';
import type { ConnectDriver, DriverSet } from '../src/driver';
import { PYTHON_ERROR_FIELDS, errorFields, requirePythonLibvirt, runPythonJSON } from './support/python-libvirt';
import { rejection } from './support/rejection';

const SCHEME = 'virtnodefake';
const URI = `${SCHEME}:///default`;
const DOMAIN_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
const NETWORK_UUID = 'dd8fe884-6c02-601e-7551-cca97df1c5df';
const DOMAIN_XML = "<domain type='test'><name>fake</name><memory>1024</memory><os><type>hvm</type></os></domain>";
const NETWORK_XML = '<network><name>fake</name></network>';

interface OpenCall {
  scheme: string;
  rawUri: string;
  readOnly: boolean;
}
const opens: OpenCall[] = [];
let closes = 0;

/** Knows a handful of objects and implements only the slots listed here. */
const fakeDriver: ConnectDriver = {
  schemes: [SCHEME],
  async open(uri: URL, rawUri: string, { readOnly }): Promise<DriverSet> {
    opens.push({ scheme: uri.protocol, rawUri, readOnly });
    return {
      hypervisor: {
        name: 'FAKE',
        async connectClose() {
          closes++;
        },
        async connectGetType() {
          return 'FAKE';
        },
        async domainLookupByName(name: string) {
          return { name, uuid: DOMAIN_UUID, id: 1 };
        },
        async domainGetXMLDesc(dom) {
          return `<domain><name>${dom.name}</name></domain>`;
        },
      },
      network: {
        async networkLookupByName(name: string) {
          return { name, uuid: NETWORK_UUID };
        },
      },
      nodeDevice: {
        async nodeDeviceLookupByName(name: string) {
          return { name };
        },
      },
    };
  },
};


const fieldsOf = errorFields;

interface Connections {
  rw: Connect;
  ro: Connect;
  closed: Connect;
}

/**
 * The same failure through libvirt-python on test:///default and through virtnode on the fake
 * driver. In python, `rw`, `ro` and `closed` are a read-write, a read-only and a closed connection.
 */
interface Scenario {
  name: string;
  python: string;
  virtnode: (c: Connections) => Promise<unknown>;
}

const scenarios: Scenario[] = [
  {
    name: 'virDomainDefineXML on a read-only connection',
    python: 'ro.defineXML(DOMAIN_XML)',
    virtnode: ({ ro }) => Domain.defineXML(ro, DOMAIN_XML),
  },
  {
    name: 'virDomainCreateXML on a read-only connection',
    python: 'ro.createXML(DOMAIN_XML, 0)',
    virtnode: ({ ro }) => Domain.createXML(ro, DOMAIN_XML),
  },
  {
    name: 'virNetworkDefineXML on a read-only connection',
    python: 'ro.networkDefineXML(NETWORK_XML)',
    virtnode: ({ ro }) => Network.defineXML(ro, NETWORK_XML),
  },
  {
    name: 'virNodeDeviceReset on a read-only connection',
    python: "ro.nodeDeviceLookupByName('computer').reset()",
    virtnode: async ({ ro }) => (await NodeDevice.lookupByName(ro, 'computer')).reset(),
  },
  {
    name: 'virDomainGetXMLDesc(VIR_DOMAIN_XML_SECURE) on a read-only connection',
    python: "ro.lookupByName('test').XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)",
    virtnode: async ({ ro }) => (await Domain.lookupByName(ro, 'test')).getXMLDesc(VIR_DOMAIN_XML_SECURE),
  },
  {
    name: 'virDomainDetachDeviceAlias, a slot the driver leaves empty',
    python: "rw.lookupByName('test').detachDeviceAlias('ua-x', 0)",
    virtnode: async ({ rw }) => (await Domain.lookupByName(rw, 'test')).detachDeviceAlias('ua-x'),
  },
  {
    name: 'virDomainUpdateDeviceFlags, a slot the driver leaves empty',
    python: "rw.lookupByName('test').updateDeviceFlags('<disk/>', 0)",
    virtnode: async ({ rw }) => (await Domain.lookupByName(rw, 'test')).updateDeviceFlags('<disk/>'),
  },
  {
    name: 'virConnectDomainXMLToNative, a slot the driver leaves empty',
    python: "rw.domainXMLToNative('qemu-argv', DOMAIN_XML, 0)",
    virtnode: ({ rw }) => rw.domainXMLToNative('qemu-argv', DOMAIN_XML),
  },
  {
    name: 'virNodeDeviceDettach, a slot the node device driver leaves empty',
    python: "rw.nodeDeviceLookupByName('computer').dettach()",
    virtnode: async ({ rw }) => (await NodeDevice.lookupByName(rw, 'computer')).dettach(),
  },
  { name: 'virConnectGetType on a closed connection', python: 'closed.getType()', virtnode: ({ closed }) => closed.getType() },
  {
    name: 'virConnectNumOfDomains on a closed connection',
    python: 'closed.numOfDomains()',
    virtnode: ({ closed }) => closed.numOfDomains(),
  },
  {
    name: 'virConnectListAllDomains on a closed connection',
    python: 'closed.listAllDomains(0)',
    virtnode: ({ closed }) => closed.listAllDomains(),
  },
  {
    name: 'virDomainLookupByName on a closed connection',
    python: "closed.lookupByName('test')",
    virtnode: ({ closed }) => Domain.lookupByName(closed, 'test'),
  },
  {
    name: 'virDomainDefineXML on a closed connection',
    python: 'closed.defineXML(DOMAIN_XML)',
    virtnode: ({ closed }) => Domain.defineXML(closed, DOMAIN_XML),
  },
  {
    name: 'virNetworkLookupByName on a closed connection',
    python: "closed.networkLookupByName('default')",
    virtnode: ({ closed }) => Network.lookupByName(closed, 'default'),
  },
  {
    name: 'virNodeDeviceLookupByName on a closed connection',
    python: "closed.nodeDeviceLookupByName('computer')",
    virtnode: ({ closed }) => NodeDevice.lookupByName(closed, 'computer'),
  },
];

describe('connect: opening and dispatch', () => {
  before(() => registerConnectDriver(fakeDriver));

  it("Connect.open('bogus:///x') rejects with VIR_ERR_NO_CONNECT", async () => {
    const err = await rejection(Connect.open('bogus:///x'));
    assert.deepEqual(fieldsOf(err), {
      code: VIR_ERR_NO_CONNECT,
      domain: VIR_FROM_NONE,
      level: 2,
      message: 'no connection driver available for bogus:///x',
      str1: 'no connection driver available for %s',
      str2: 'bogus:///x',
      str3: null,
      int1: -1,
      int2: -1,
    });
    assert.equal(err.code, 5);
    assert.equal(err.domain, 0);
  });

  it('Connect.open rejects a URI that does not parse with VIR_ERR_NO_CONNECT', async () => {
    const err = await rejection(Connect.open('no scheme here'));
    assert.equal(err.code, VIR_ERR_NO_CONNECT);
    assert.equal(err.message, 'no connection driver available for no scheme here');
  });

  it('a registered driver opens its scheme, read-write and read-only', async () => {
    opens.length = 0;
    const rw = await Connect.open(URI);
    const ro = await Connect.openReadOnly(URI);
    assert.deepEqual(opens, [
      { scheme: `${SCHEME}:`, rawUri: URI, readOnly: false },
      { scheme: `${SCHEME}:`, rawUri: URI, readOnly: true },
    ]);
    assert.equal(await rw.getURI(), URI);
    assert.equal(await rw.getType(), 'FAKE');
    assert.equal(ro.readOnly, true);
    assert.equal(rw.readOnly, false);
    await rw.close();
    await ro.close();
  });

  it('a slot the driver leaves empty rejects with VIR_ERR_NO_SUPPORT naming the C function', async () => {
    const conn = await Connect.open(URI);
    const dom = await Domain.lookupByName(conn, 'test');
    const err = await rejection(dom.getInfo());
    assert.deepEqual(fieldsOf(err), {
      code: VIR_ERR_NO_SUPPORT,
      domain: VIR_FROM_DOMAIN,
      level: 2,
      message: 'this function is not supported by the connection driver: virDomainGetInfo',
      str1: 'this function is not supported by the connection driver: %s',
      str2: 'virDomainGetInfo',
      str3: null,
      int1: -1,
      int2: -1,
    });
    assert.equal((await rejection(conn.nodeGetInfo())).message, 'this function is not supported by the connection driver: virNodeGetInfo');
    const net = await Network.lookupByName(conn, 'default');
    const netErr = await rejection(net.getXMLDesc());
    assert.equal(netErr.domain, VIR_FROM_NETWORK);
    assert.equal(netErr.message, 'this function is not supported by the connection driver: virNetworkGetXMLDesc');
    await conn.close();
  });

  it('a call on a read-only connection that would change something rejects with VIR_ERR_OPERATION_DENIED', async () => {
    const ro = await Connect.openReadOnly(URI);
    const err = await rejection(Domain.defineXML(ro, DOMAIN_XML));
    assert.deepEqual(fieldsOf(err), {
      code: 29,
      domain: 20,
      level: 2,
      message: 'operation forbidden: read only access prevents virDomainDefineXML',
      str1: 'operation forbidden: %s',
      str2: 'read only access prevents virDomainDefineXML',
      str3: null,
      int1: -1,
      int2: -1,
    });
    assert.equal(err.code, VIR_ERR_OPERATION_DENIED);
    // Reading is still allowed.
    const dom = await Domain.lookupByName(ro, 'test');
    assert.equal(await dom.getXMLDesc(), '<domain><name>test</name></domain>');
    const dev = await NodeDevice.lookupByName(ro, 'computer');
    assert.equal((await rejection(dev.reAttach())).domain, VIR_FROM_NODEDEV);
    await ro.close();
  });

  it('a closed connection rejects every call with VIR_ERR_INVALID_CONN and closes its driver once', async () => {
    const conn = await Connect.open(URI);
    const before = closes;
    assert.equal(await conn.close(), 0);
    assert.equal(await conn.close(), 0);
    assert.equal(closes, before + 1);
    // libvirt (and libvirt-python) report a closed connection as an invalid pointer here too.
    assert.equal((await rejection(conn.isAlive())).message, 'invalid connection pointer in virConnectIsAlive');
    const err = await rejection(conn.getType());
    assert.deepEqual(fieldsOf(err), {
      code: VIR_ERR_INVALID_CONN,
      domain: VIR_FROM_DOMAIN,
      level: 2,
      message: 'invalid connection pointer in virConnectGetType',
      str1: 'invalid connection pointer in %s',
      str2: 'virConnectGetType',
      str3: null,
      int1: -1,
      int2: -1,
    });
  });

  it('failures arrive as rejected promises, never as synchronous throws', async () => {
    const ro = await Connect.openReadOnly(URI);
    const calls: Array<() => Promise<unknown>> = [
      () => Connect.open('bogus:///x'),
      () => Domain.defineXML(ro, DOMAIN_XML),
      () => Network.createXML(ro, NETWORK_XML),
      () => ro.getCapabilities(),
    ];
    for (const call of calls) {
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        promise = call();
      });
      assert.ok(promise instanceof Promise);
      await rejection(promise);
    }
    await ro.close();
  });
});

describe('connect: parity of failures with libvirt 9.0 (python3-libvirt on test:///default)', function () {
  this.timeout(30_000);
  let python: Record<string, unknown> = {};
  const connections = {} as Connections;

  before(async function () {
    requirePythonLibvirt(this);
    registerConnectDriver(fakeDriver);
    const calls = Object.fromEntries(scenarios.map((s) => [s.name, s.python]));
    python = runPythonJSON<Record<string, unknown>>(
      `
import json, sys, libvirt
${PYTHON_ERROR_FIELDS}
libvirt.registerErrorHandler(lambda ctx, err: None, None)
DOMAIN_XML, NETWORK_XML = sys.argv[2], sys.argv[3]
rw = libvirt.open('test:///default')
ro = libvirt.openReadOnly('test:///default')
closed = libvirt.open('test:///default')
closed.close()
out = {}
for name, call in json.loads(sys.argv[1]).items():
    try:
        eval(call)
        out[name] = 'succeeded'
    except libvirt.libvirtError as e:
        out[name] = error_fields(e)
print(json.dumps(out))
`,
      [JSON.stringify(calls), DOMAIN_XML, NETWORK_XML],
    );
    connections.rw = await Connect.open(URI);
    connections.ro = await Connect.openReadOnly(URI);
    connections.closed = await Connect.open(URI);
    await connections.closed.close();
  });

  after(async () => {
    await connections.rw?.close();
    await connections.ro?.close();
  });

  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      const ours = fieldsOf(await rejection(scenario.virtnode(connections)));
      assert.deepEqual(ours, python[scenario.name]);
    });
  }
});
