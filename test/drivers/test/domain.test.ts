import assert from 'node:assert/strict';
import path from 'node:path';
import { Connect, Domain } from '../../../src';
import { rejectsWith } from './helpers';

const nodeFile = path.resolve(__dirname, '..', '..', 'data', 'test-driver', 'node.xml');

const DEFAULT_DOMAIN_XML = `<domain type='test' id='1'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
`;

const small = (name: string, extra = '') =>
  `<domain type='test'><name>${name}</name><memory>1024</memory><os><type>hvm</type></os>${extra}</domain>`;

async function state(d: Domain): Promise<[number, number]> {
  const s = await d.getState();
  return [s.state, s.reason];
}

describe('drivers/test: the default domain', () => {
  let conn: Connect;
  before(async () => {
    conn = await Connect.open('test:///default');
  });
  after(async () => {
    await conn.close();
  });

  it('is running with reason unknown, as libvirt starts it', async () => {
    const d = await Domain.lookupByName(conn, 'test');
    assert.equal(d.getUUIDString(), '6695eb01-f6a4-8304-79aa-97f2502e193f');
    assert.deepEqual(await state(d), [1, 0]);
    const info = await d.getInfo();
    assert.deepEqual([info.state, info.maxMem, info.memory, info.nrVirtCpu], [1, 8388608, 2097152, 2]);
    // CPU time is the wall clock in nanoseconds, as libvirt's test driver reports it.
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    assert.ok(info.cpuTime > nowNs - 10_000_000_000n && info.cpuTime < nowNs + 10_000_000_000n);
    assert.equal(await d.getOSType(), 'linux');
    assert.equal(await d.getMaxMemory(), 8388608);
    assert.equal(await d.getMaxVcpus(), 2);
    assert.deepEqual(
      [await d.isActive(), await d.isPersistent(), await d.isUpdated(), await d.getAutostart(), await d.hasManagedSaveImage()],
      [true, true, false, false, false],
    );
    assert.equal(await d.getHostname(), 'testhost');
  });

  it('formats its XML exactly as libvirt 9.0 does, live and inactive', async () => {
    const d = await Domain.lookupByName(conn, 'test');
    const xml = await d.getXMLDesc();
    assert.equal(xml.replace(/ id='\d+'/, " id='1'"), DEFAULT_DOMAIN_XML);
    assert.ok((await d.getXMLDesc(2)).startsWith("<domain type='test'>\n"));
    await rejectsWith(d.getXMLDesc(4), 8, 12, 'unsupported flags (0x4) in function testDomainGetXMLDesc');
  });

  it('reports lookups of unknown domains without detail', async () => {
    await rejectsWith(Domain.lookupByName(conn, 'nosuch'), 42, 12, 'Domain not found');
    await rejectsWith(Domain.lookupByID(conn, 99), 42, 12, 'Domain not found');
    await rejectsWith(Domain.lookupByUUIDString(conn, '11111111-2222-3333-4444-555555555555'), 42, 12, 'Domain not found');
  });

  it('has no device hotplug, like libvirt 9.0 test driver', async () => {
    const d = await Domain.lookupByName(conn, 'test');
    const disk = "<disk type='file' device='disk'><source file='/x.img'/><target dev='vdb' bus='virtio'/></disk>";
    await rejectsWith(d.attachDevice(disk), 3, 20, 'this function is not supported by the connection driver: virDomainAttachDevice');
    await rejectsWith(d.detachDeviceFlags(disk, 2), 3, 20, 'this function is not supported by the connection driver: virDomainDetachDeviceFlags');
    await rejectsWith(d.updateDeviceFlags(disk, 2), 3, 20, 'this function is not supported by the connection driver: virDomainUpdateDeviceFlags');
  });
});

describe('drivers/test: domain lifecycle', () => {
  let conn: Connect;
  beforeEach(async () => {
    conn = await Connect.open(`test://${nodeFile}`);
  });
  afterEach(async () => {
    await conn.close();
  });

  it('walks suspend, resume, shutdown, start, reboot, reset and destroy with libvirt reasons', async () => {
    const d = await Domain.lookupByName(conn, 'fv0');
    await d.suspend();
    assert.deepEqual(await state(d), [3, 1]);
    await rejectsWith(d.suspend(), 1, 12, "internal error: domain 'fv0' not running");
    await rejectsWith(d.create(), 1, 12, "internal error: Domain 'fv0' is already running");
    await d.resume();
    assert.deepEqual(await state(d), [1, 5]);
    await rejectsWith(d.resume(), 1, 12, "internal error: domain 'fv0' not paused");
    await d.shutdown();
    assert.deepEqual(await state(d), [5, 1]);
    assert.equal(d.getID(), -1);
    await rejectsWith(d.shutdown(), 1, 12, "internal error: domain 'fv0' not running");
    await rejectsWith(d.destroy(), 55, 20, 'Requested operation is not valid: domain is not running');
    await rejectsWith(d.reboot(0), 55, 20, 'Requested operation is not valid: domain is not running');
    await rejectsWith(d.reset(0), 55, 20, 'Requested operation is not valid: domain is not running');
    await d.create();
    assert.deepEqual(await state(d), [1, 1]);
    assert.equal(d.getID(), 3, 'ids count up and are never reused');
    await d.reboot(0);
    await d.reset(0);
    assert.deepEqual(await state(d), [1, 1]);
    assert.equal(d.getID(), 3);
    await d.destroy();
    assert.deepEqual(await state(d), [5, 2]);
    await rejectsWith(d.createWithFlags(1), 8, 12, 'unsupported flags (0x1) in function testDomainCreateWithFlags');
  });

  it('defines, redefines and undefines; an undefined running domain becomes transient', async () => {
    const d = await Domain.defineXML(conn, small('n1'));
    assert.deepEqual([d.getID(), await d.isActive(), await d.isPersistent()], [-1, false, true]);
    assert.deepEqual(await state(d), [5, 0]);
    assert.deepEqual(await conn.listDefinedDomains(), ['off', 'n1']);
    const again = await Domain.defineXML(conn, small('n1', `<uuid>${d.getUUIDString()}</uuid>`).replace('1024', '2048'));
    assert.equal((await again.getInfo()).maxMem, 2048);
    await rejectsWith(
      Domain.defineXML(conn, small('n1')),
      9,
      20,
      `operation failed: domain 'n1' already exists with uuid ${d.getUUIDString()}`,
    );
    await rejectsWith(
      Domain.defineXML(conn, small('other', `<uuid>${d.getUUIDString()}</uuid>`)),
      9,
      20,
      `operation failed: domain 'n1' is already defined with uuid ${d.getUUIDString()}`,
    );
    await d.create();
    await d.undefine();
    assert.deepEqual([await d.isActive(), await d.isPersistent()], [true, false]);
    await d.destroy();
    await rejectsWith(d.getInfo(), 42, 12, `Domain not found: no domain with matching uuid '${d.getUUIDString()}' (n1)`);
  });

  it('accepts a UUID in any form libvirt does and reports it in canonical form', async () => {
    const d = await Domain.defineXML(conn, small('u1', '<uuid> 0B7E1D2C 3A4F-4C5D 8E6F-00000000 00AB </uuid>'));
    const canonical = '0b7e1d2c-3a4f-4c5d-8e6f-0000000000ab';
    assert.equal(d.getUUIDString(), canonical);
    assert.equal((await Domain.lookupByUUIDString(conn, '0B7E1D2C3A4F4C5D8E6F0000000000AB')).getName(), 'u1');
    assert.match(await d.getXMLDesc(), new RegExp(`\n  <uuid>${canonical}</uuid>\n`));
    await rejectsWith(Domain.defineXML(conn, small('u2', '<uuid>0b7e1d2c-3a4f-4c5d-8e6f-0000000000a</uuid>')), 1, 20, 'internal error: malformed uuid element');
  });

  it('keeps each domain its own devices through define, start and stop', async () => {
    const disk = "<devices><disk type='file' device='disk'><source file='/d.img'/><target dev='vda'/></disk></devices>";
    const bare = await Domain.defineXML(conn, small('bare'));
    const withDisk = await Domain.defineXML(conn, small('withdisk', disk));
    for (const d of [bare, withDisk, bare]) {
      await d.create();
      await d.destroy();
    }
    assert.match(await bare.getXMLDesc(), /\n {2}<devices>\n {2}<\/devices>\n/);
    assert.match(await withDisk.getXMLDesc(), /\n {2}<devices>\n {4}<disk type='file' device='disk'>\n {6}<source file='\/d.img'\/>\n/);
    assert.equal((await withDisk.getXMLDesc()).match(/<disk /g)?.length, 1);
  });

  it('creates transient domains that vanish when stopped, with testnetN interface names', async () => {
    const t = await Domain.createXML(conn, small('t1', "<devices><interface type='network'><source network='default'/></interface></devices>"));
    assert.deepEqual([t.getID(), await t.isPersistent()], [3, false]);
    const xml = await t.getXMLDesc();
    assert.match(xml, /<mac address='52:54:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}'\/>\n {6}<source network='default'\/>\n {6}<target dev='testnet0'\/>/);
    await rejectsWith(t.managedSave(0), 55, 12, 'Requested operation is not valid: cannot do managed save for transient domain');
    await rejectsWith(t.setMemoryFlags(512, 2), 55, 20, 'Requested operation is not valid: transient domains do not have any persistent config');
    await t.shutdown();
    await rejectsWith(Domain.lookupByName(conn, 't1'), 42, 12, 'Domain not found');
    await rejectsWith(Domain.createXML(conn, small('fv0')), 9, 20, "operation failed: domain 'fv0' already exists with uuid 4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
  });

  it('keeps a managed save image until the next start', async () => {
    const d = await Domain.lookupByName(conn, 'fv0');
    await d.managedSave(0);
    assert.deepEqual([await state(d), await d.hasManagedSaveImage(), d.getID()], [[5, 5], true, -1]);
    assert.deepEqual((await conn.listAllDomains(256)).map((x) => x.getName()), ['fv0', 'off']);
    await rejectsWith(d.undefine(), 55, 12, 'Requested operation is not valid: Refusing to undefine while domain managed save image exists');
    await d.create();
    assert.deepEqual([await state(d), await d.hasManagedSaveImage()], [[1, 1], false]);
    await rejectsWith(d.managedSave(8), 8, 12, 'unsupported flags (0x8) in function testDomainManagedSave');
    const off = await Domain.lookupByName(conn, 'off');
    await off.managedSaveRemove(0);
    assert.equal(await off.hasManagedSaveImage(), false);
  });

  it('changes memory and vcpus of the live and persistent definitions separately', async () => {
    const d = await Domain.lookupByName(conn, 'fv0');
    await rejectsWith(d.setMemory(300000), 8, 12, 'invalid argument: cannot set memory higher than max memory');
    await d.setMemory(100000);
    await d.setMemoryFlags(200000, 2);
    assert.equal((await d.getInfo()).memory, 100000);
    assert.match(await d.getXMLDesc(2), /<currentMemory unit='KiB'>200000<\/currentMemory>/);
    await rejectsWith(d.setMaxMemory(100), 55, 12, 'Requested operation is not valid: cannot resize the maximum memory on an active domain');
    await rejectsWith(
      d.setMemoryFlags(100, 3),
      8,
      20,
      "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
    );
    await rejectsWith(d.setVcpus(40), 8, 12, 'invalid argument: requested cpu amount exceeds maximum supported amount (40 > 32)');
    await rejectsWith(d.setVcpus(2), 8, 12, 'invalid argument: requested cpu amount exceeds maximum (2 > 1)');
    const vcpuErr = await rejectsWith(
      d.setVcpusFlags(4, 1 | 4),
      8,
      20,
      "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'",
    );
    assert.deepEqual([vcpuErr.str1, vcpuErr.str2], ['virDomainSetVcpusFlags', 'ctl']);
    await d.setVcpusFlags(4, 2 | 4);
    await d.setVcpusFlags(3, 2);
    assert.match(await d.getXMLDesc(2), /<vcpu placement='static' current='3'>4<\/vcpu>/);
    await d.destroy();
    assert.deepEqual(await d.getInfo().then((i) => [i.maxMem, i.memory, i.nrVirtCpu]), [261072, 200000, 3]);
    await rejectsWith(d.setMemory(1000), 55, 20, 'Requested operation is not valid: domain is not running');
    await rejectsWith(d.getMaxVcpus(), 55, 20, 'Requested operation is not valid: domain is not running');
    await d.setMaxMemory(1000);
    assert.deepEqual(await d.getInfo().then((i) => [i.maxMem, i.memory]), [1000, 1000]);
  });

  it('lists and counts domains with every filter flag', async () => {
    const names = async (flags: number) => (await conn.listAllDomains(flags)).map((d) => d.getName()).sort();
    await (await Domain.lookupByName(conn, 'fv0')).setAutostart(true);
    assert.deepEqual(await names(0), ['fv0', 'off', 'paused']);
    assert.deepEqual(await names(1), ['fv0', 'paused']);
    assert.deepEqual(await names(2), ['off']);
    assert.deepEqual(await names(4), ['fv0', 'off']);
    assert.deepEqual(await names(8), ['paused']);
    assert.deepEqual(await names(16), ['fv0']);
    assert.deepEqual(await names(32), ['paused']);
    assert.deepEqual(await names(64), ['off']);
    assert.deepEqual(await names(128), []);
    assert.deepEqual(await names(256), ['off']);
    assert.deepEqual(await names(512), ['fv0', 'paused']);
    assert.deepEqual(await names(1024), ['fv0']);
    assert.deepEqual(await names(2048), ['off', 'paused']);
    assert.deepEqual(await names(4096), []);
    assert.deepEqual(await names(8192 | 32768), ['fv0', 'off', 'paused']);
    await rejectsWith(conn.listAllDomains(0x10000), 8, 12, 'unsupported flags (0x10000) in function testConnectListAllDomains');
    assert.deepEqual([await conn.numOfDomains(), await conn.numOfDefinedDomains()], [2, 1]);
    assert.deepEqual(await conn.listDomains(), [1, 2]);
    assert.deepEqual(await conn.listDomains(1), [1]);
    assert.deepEqual(await conn.listDefinedDomains(), ['off']);
  });

  it('reports malformed domain XML with libxml2-style detail', async () => {
    await rejectsWith(
      Domain.defineXML(conn, '<domain'),
      35,
      20,
      "(domain_definition):1: Couldn't find end of Start Tag domain line 1\n<domain\n-------^",
    );
    await rejectsWith(Domain.defineXML(conn, small('a\nb')), 35, 5, 'invalid char in name: \n');
    await rejectsWith(Domain.defineXMLFlags(conn, small('x'), 2), 8, 12, 'unsupported flags (0x2) in function testDomainDefineXMLFlags');
  });

  it('validates element structure against the schema only when asked to', async () => {
    const schemaError = (detail: string) =>
      `XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/domain.rng\n${detail}`;
    await rejectsWith(
      Domain.defineXMLFlags(conn, small('v1', '<devices><bogus/></devices>'), 1),
      92,
      5,
      schemaError('Extra element devices in interleave\nElement domain failed to validate content\n'),
    );
    await rejectsWith(Domain.createXML(conn, small('v1', '<bogus/>'), 16), 92, 5, schemaError('Element domain has extra content: bogus\n'));
    const lax = await Domain.defineXMLFlags(conn, small('v1', '<bogus/>'), 0);
    await lax.undefine();
  });
});
