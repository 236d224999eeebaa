import assert from 'node:assert/strict';
import path from 'node:path';
import { Connect, Network, NodeDevice } from '../../../src';
import { rejectsWith } from './helpers';

const nodeFile = path.resolve(__dirname, '..', '..', 'data', 'test-driver', 'node.xml');

const DEFAULT_NETWORK_XML = `<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
`;

describe('drivers/test: networks', () => {
  it('serves the default network as libvirt 9.0 does', async () => {
    const conn = await Connect.open('test:///default');
    try {
      const n = await Network.lookupByName(conn, 'default');
      assert.equal(n.getUUIDString(), 'dd8fe884-6c02-601e-7551-cca97df1c5df');
      assert.equal(await n.getXMLDesc(), DEFAULT_NETWORK_XML);
      assert.equal(await n.getBridgeName(), 'virbr0');
      assert.deepEqual([await n.isActive(), await n.isPersistent(), await n.getAutostart()], [true, true, false]);
      await rejectsWith(n.getXMLDesc(1), 8, 12, 'unsupported flags (0x1) in function testNetworkGetXMLDesc');
      await rejectsWith(n.create(), 55, 12, "Requested operation is not valid: Network 'default' is already running");
      await rejectsWith(n.undefine(), 55, 12, "Requested operation is not valid: Network 'default' is still running");
      await rejectsWith(Network.lookupByName(conn, 'nosuch'), 43, 12, "Network not found: no network with matching name 'nosuch'");
      await rejectsWith(
        Network.lookupByUUIDString(conn, '11111111-2222-3333-4444-555555555555'),
        43,
        12,
        "Network not found: no network with matching uuid '11111111-2222-3333-4444-555555555555'",
      );
      await rejectsWith(
        Network.defineXML(conn, '<network><name>default</name></network>'),
        9,
        19,
        "operation failed: network 'default' already exists with uuid dd8fe884-6c02-601e-7551-cca97df1c5df",
      );
    } finally {
      await conn.close();
    }
  });

  it('defines, starts, stops and undefines with the test driver rules', async () => {
    const conn = await Connect.open(`test://${nodeFile}`);
    try {
      const m = await Network.defineXML(conn, '<network><name>n2</name></network>');
      assert.match(await m.getXMLDesc(), /^<network>\n {2}<name>n2<\/name>\n {2}<uuid>[0-9a-f-]{36}<\/uuid>\n {2}<bridge stp='on' delay='0'\/>\n<\/network>\n$/);
      await rejectsWith(m.getBridgeName(), 1, 12, "internal error: network 'n2' does not have a bridge name.");
      // libvirt 9.0's test driver stops a network whether or not it runs.
      await m.destroy();
      assert.deepEqual([await m.isActive(), await m.isPersistent()], [false, true]);
      assert.deepEqual([await conn.numOfNetworks(), await conn.numOfDefinedNetworks()], [1, 1]);
      assert.deepEqual([await conn.listNetworks(), await conn.listDefinedNetworks()], [['private'], ['n2']]);
      await m.setAutostart(true);
      const names = async (flags: number) => (await conn.listAllNetworks(flags)).map((n) => n.getName());
      assert.deepEqual(await names(1), ['n2']);
      assert.deepEqual(await names(2), ['private']);
      assert.deepEqual(await names(4), ['private', 'n2']);
      assert.deepEqual(await names(8), []);
      assert.deepEqual(await names(16), ['n2']);
      assert.deepEqual(await names(32), ['private']);
      await rejectsWith(conn.listAllNetworks(64), 8, 12, 'unsupported flags (0x40) in function testConnectListAllNetworks');
      await m.undefine();
      await rejectsWith(m.isActive(), 43, 12, `Network not found: no network with matching uuid '${m.getUUIDString()}'`);
      await rejectsWith(m.undefine(), 43, 12, "Network not found: no network with matching name 'n2'");

      const t = await Network.createXML(conn, "<network><name>n3</name><bridge name='br3'/></network>");
      assert.deepEqual([await t.isActive(), await t.isPersistent()], [true, false]);
      await t.destroy();
      await rejectsWith(Network.lookupByName(conn, 'n3'), 43, 12, "Network not found: no network with matching name 'n3'");
      await rejectsWith(
        Network.createXML(conn, "<network><name>private</name><uuid>e2a4fe9f-8f43-4dee-b0a4-1d0a3d1e4a66</uuid></network>"),
        55,
        19,
        "Requested operation is not valid: network is already active as 'private'",
      );
      await rejectsWith(Network.defineXMLFlags(conn, '<network><name>zz</name></network>', 2), 8, 12, 'unsupported flags (0x2) in function testNetworkDefineXMLFlags');
    } finally {
      await conn.close();
    }
  });
});

describe('drivers/test: node devices', () => {
  let conn: Connect;
  before(async () => {
    conn = await Connect.open('test:///default');
  });
  after(async () => {
    await conn.close();
  });

  it('lists the default devices by capability', async () => {
    const sorted = async (cap: string | null) => (await conn.nodeListDevices(cap)).sort();
    assert.deepEqual(await sorted(null), ['computer', 'scsi_host1', 'scsi_host11', 'scsi_host2']);
    assert.deepEqual(await sorted('system'), ['computer']);
    assert.deepEqual(await sorted('fc_host'), ['scsi_host1', 'scsi_host11', 'scsi_host2']);
    assert.deepEqual(await sorted('vports'), ['scsi_host1', 'scsi_host2']);
    assert.deepEqual(await sorted('pci'), []);
    assert.equal(await conn.nodeNumOfDevices('scsi_host'), 3);
    const all = async (flags: number) => (await conn.listAllNodeDevices(flags)).map((d) => d.getName()).sort();
    assert.deepEqual(await all(1), ['computer']);
    assert.deepEqual(await all(1024), ['scsi_host1', 'scsi_host2']);
    await rejectsWith(conn.listAllNodeDevices(0x80000000), 8, 12, 'unsupported flags (0x80000000) in function testConnectListAllNodeDevices');
    await rejectsWith(conn.nodeNumOfDevices(null, 1), 8, 12, 'unsupported flags (0x1) in function testNodeNumOfDevices');
  });

  it('describes devices and refuses PCI passthrough operations', async () => {
    const host = await NodeDevice.lookupByName(conn, 'scsi_host1');
    assert.equal(await host.getParent(), 'computer');
    assert.equal(await (await NodeDevice.lookupByName(conn, 'computer')).getParent(), null);
    assert.deepEqual([await host.numOfCaps(), await host.listCaps()], [1, ['scsi_host']]);
    assert.equal(
      await host.getXMLDesc(),
      "<device>\n  <name>scsi_host1</name>\n  <parent>computer</parent>\n  <capability type='scsi_host'>\n" +
        '    <host>1</host>\n    <unique_id>0</unique_id>\n' +
        "    <capability type='fc_host'>\n      <wwnn>2000000012341234</wwnn>\n      <wwpn>1000000012341234</wwpn>\n" +
        "      <fabric_wwn>2000000043214321</fabric_wwn>\n    </capability>\n    <capability type='vport_ops'>\n" +
        '      <max_vports>0</max_vports>\n      <vports>0</vports>\n    </capability>\n  </capability>\n</device>\n',
    );
    await rejectsWith(host.dettach(), 3, 22, 'this function is not supported by the connection driver: virNodeDeviceDettach');
    await rejectsWith(host.detachFlags('vfio', 0), 3, 22, 'this function is not supported by the connection driver: virNodeDeviceDetachFlags');
    await rejectsWith(host.reAttach(), 3, 22, 'this function is not supported by the connection driver: virNodeDeviceReAttach');
    await rejectsWith(host.reset(), 3, 22, 'this function is not supported by the connection driver: virNodeDeviceReset');
    await rejectsWith(NodeDevice.lookupByName(conn, 'nosuch'), 53, 12, "Node device not found: no node device with matching name 'nosuch'");
  });
});
