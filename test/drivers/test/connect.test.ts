import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import path from 'node:path';
import { Connect, Domain, NodeDevice } from '../../../src';
import { rejectsWith } from './helpers';

const nodeFile = path.resolve(__dirname, '..', '..', 'data', 'test-driver', 'node.xml');

describe('drivers/test: test:///default connection', () => {
  let conn: Connect;
  before(async () => {
    conn = await Connect.open('test:///default');
  });
  after(async () => {
    await conn.close();
  });

  it('describes the fixed test host as libvirt does', async () => {
    assert.equal(await conn.getType(), 'TEST');
    assert.equal(await conn.getVersion(), 2);
    assert.equal(await conn.getHostname(), hostname());
    assert.equal(await conn.getURI(), 'test:///default');
    assert.equal(await conn.getMaxVcpus(null), 32);
    assert.equal(await conn.isAlive(), true);
    assert.deepEqual(await conn.nodeGetInfo(), {
      model: 'i686',
      memory: 3145728,
      cpus: 16,
      mhz: 1400,
      nodes: 2,
      sockets: 2,
      cores: 2,
      threads: 2,
    });
  });

  it('reports free memory with the test driver quirks (KiB sum, per-cell totals)', async () => {
    assert.equal(await conn.nodeGetFreeMemory(), 3145728n);
    assert.deepEqual(await conn.nodeGetCellsFreeMemory(0, 5), [2097152n, 4194304n]);
    assert.deepEqual(await conn.nodeGetCellsFreeMemory(1, 5), [4194304n]);
    await rejectsWith(conn.nodeGetCellsFreeMemory(2, 1), 8, 12, 'invalid argument: Range exceeds available cells');
  });

  it('serves the capabilities and sysinfo XML of libvirt 9.0', async () => {
    const caps = await conn.getCapabilities();
    assert.ok(caps.startsWith("<capabilities>\n\n  <host>\n    <cpu>\n      <arch>i686</arch>\n"));
    assert.ok(caps.includes("          <pages unit='KiB' size='8'>524288</pages>\n"));
    assert.ok(caps.includes("            <cpu id='15' socket_id='1' die_id='0' core_id='7' siblings='15'/>\n"));
    assert.ok(caps.includes('    <secmodel>\n      <model>testSecurity</model>\n      <doi></doi>\n    </secmodel>\n'));
    assert.equal(caps.match(/<guest>/g)?.length, 2);
    assert.ok(caps.endsWith('  </guest>\n\n</capabilities>\n'));
    assert.equal(
      await conn.getSysinfo(),
      "<sysinfo type='smbios'>\n  <bios>\n    <entry name='vendor'>LENOVO</entry>\n" +
        "    <entry name='version'>G4ETA1WW (2.61 )</entry>\n    <entry name='date'>05/07/2014</entry>\n" +
        "    <entry name='release'>2.61</entry>\n  </bios>\n</sysinfo>\n",
    );
  });

  it('rejects unknown flags the way virCheckFlags reports them', async () => {
    const err = await rejectsWith(conn.getSysinfo(1), 8, 12, 'unsupported flags (0x1) in function testConnectGetSysinfo');
    assert.deepEqual([err.str1, err.str2, err.str3, err.int1, err.int2], ['testConnectGetSysinfo', 'flags', null, 0, 0]);
  });

  it('shares one state between connections to test:///default', async () => {
    const other = await Connect.open('test:///default');
    try {
      const dom = await Domain.defineXML(other, "<domain type='test'><name>shared-1</name><memory>1024</memory><os><type>hvm</type></os></domain>");
      assert.equal((await Domain.lookupByName(conn, 'shared-1')).getUUIDString(), dom.getUUIDString());
      await dom.undefine();
    } finally {
      await other.close();
    }
  });

  it('denies writes on a read-only connection', async () => {
    const ro = await Connect.openReadOnly('test:///default');
    try {
      assert.equal((await Domain.lookupByName(ro, 'test')).getID() > 0, true);
      await rejectsWith(
        Domain.defineXML(ro, "<domain type='test'><name>ro</name><memory>1024</memory><os><type>hvm</type></os></domain>"),
        29,
        20,
        'operation forbidden: read only access prevents virDomainDefineXML',
      );
    } finally {
      await ro.close();
    }
  });
});

describe('drivers/test: opening test:///path', () => {
  it('refuses a URI without a path', async () => {
    await rejectsWith(Connect.open('test:///'), 8, 12, 'invalid argument: testOpen: supply a path or use test:///default');
  });

  it('reports a missing node file as libvirt does', async () => {
    await rejectsWith(Connect.open('test:///nonexistent.xml'), 27, 12, "XML error: failed to parse xml document '/nonexistent.xml'");
  });

  it('loads host info, domains with their test runstates, networks and devices from a <node> file', async () => {
    const conn = await Connect.open(`test://${nodeFile}`);
    try {
      assert.deepEqual(await conn.nodeGetInfo(), {
        model: 'i986',
        memory: 8192000,
        cpus: 50,
        mhz: 6000,
        nodes: 4,
        sockets: 4,
        cores: 4,
        threads: 2,
      });
      const states: Record<string, unknown> = {};
      for (const name of ['fv0', 'off', 'paused']) {
        const d = await Domain.lookupByName(conn, name);
        states[name] = [d.getID(), await d.getState(), await d.isPersistent(), await d.hasManagedSaveImage()];
      }
      assert.deepEqual(states, {
        fv0: [1, { state: 1, reason: 0 }, true, false],
        off: [-1, { state: 5, reason: 0 }, true, true],
        paused: [2, { state: 3, reason: 0 }, false, false],
      });
      const fv0 = await (await Domain.lookupByName(conn, 'fv0')).getXMLDesc();
      assert.ok(fv0.startsWith("<domain type='test' id='1'>\n  <name>fv0</name>\n  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>\n"));
      assert.ok(fv0.includes("      <source bridge='br0'/>\n      <target dev='testnet0'/>\n"));
      const off = await (await Domain.lookupByName(conn, 'off')).getXMLDesc();
      assert.ok(!off.includes('test:'), 'test namespace settings are not written back');
      assert.deepEqual((await conn.listAllNetworks()).map((n) => n.getName()), ['private']);
      assert.equal(
        await (await NodeDevice.lookupByName(conn, 'computer')).getXMLDesc(),
        "<device>\n  <name>computer</name>\n  <capability type='system'>\n    <hardware>\n      <vendor>Acme</vendor>\n" +
          '      <uuid>11111111-2222-3333-4444-555555555556</uuid>\n    </hardware>\n    <firmware>\n    </firmware>\n' +
          '  </capability>\n</device>\n',
      );
      await rejectsWith(conn.nodeGetCellsFreeMemory(0, 1), 8, 12, 'invalid argument: Range exceeds available cells');
      assert.equal(await conn.nodeGetFreeMemory(), 0n);
      assert.ok((await conn.getCapabilities()).includes("    <topology>\n      <cells num='0'>\n      </cells>\n    </topology>\n"));
    } finally {
      await conn.close();
    }
  });

  it('gives each file connection a state of its own', async () => {
    const a = await Connect.open(`test://${nodeFile}`);
    const b = await Connect.open(`test://${nodeFile}`);
    try {
      await (await Domain.lookupByName(a, 'fv0')).destroy();
      assert.equal(await (await Domain.lookupByName(b, 'fv0')).isActive(), true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
