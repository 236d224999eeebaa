import assert from 'node:assert/strict';
import path from 'node:path';
import { Connect, Domain, Network } from '../../../src';
import { rejectsWith } from './helpers';

const nodeFile = path.resolve(__dirname, '..', '..', 'data', 'test-driver', 'node.xml');
const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('drivers/test: events', () => {
  let conn: Connect;
  beforeEach(async () => {
    conn = await Connect.open(`test://${nodeFile}`);
  });
  afterEach(async () => {
    await conn.close();
  });

  it('numbers callbacks from 0 per driver state and never reuses ids', () => {
    const noop = () => undefined;
    assert.equal(conn.domainEventRegisterAny(null, 0, noop), 0);
    assert.equal(conn.domainEventRegisterAny(null, 1, () => undefined), 1);
    assert.equal(conn.networkEventRegisterAny(null, 0, () => undefined), 2);
    assert.equal(conn.domainEventDeregisterAny(0), 0);
    assert.equal(conn.domainEventRegisterAny(null, 0, noop), 3);
  });

  it('refuses the same callback twice and unknown ids, as libvirt does', async () => {
    const cb = () => undefined;
    conn.domainEventRegisterAny(null, 0, cb);
    assert.throws(() => conn.domainEventRegisterAny(null, 0, cb), {
      code: 8,
      domain: 0,
      message: 'invalid argument: event callback already tracked',
    });
    assert.throws(() => conn.domainEventDeregisterAny(99), {
      code: 8,
      domain: 0,
      message: 'invalid argument: could not find event callback 99 for deletion',
    });
  });

  it('delivers lifecycle events asynchronously with libvirt detail codes and ids', async () => {
    const seen: unknown[] = [];
    conn.domainEventRegisterAny(null, 0, (_c, dom, event, detail) => seen.push([dom.getName(), dom.getID(), event, detail]));
    conn.domainEventRegisterAny(null, 1, (_c, dom) => seen.push(['reboot', dom.getName()]));
    const d = await Domain.lookupByName(conn, 'fv0');
    await d.suspend();
    assert.deepEqual(seen, [], 'nothing is delivered synchronously');
    await d.resume();
    await d.reboot(0);
    await d.shutdown();
    await d.create();
    await d.destroy();
    await d.create();
    await d.managedSave(0);
    const x = await Domain.defineXML(conn, "<domain type='test'><name>n1</name><uuid>c39e33be-d0d9-4cce-afe9-c01c562377af</uuid><memory>1024</memory><os><type>hvm</type></os></domain>");
    await Domain.defineXML(conn, "<domain type='test'><name>n1</name><uuid>c39e33be-d0d9-4cce-afe9-c01c562377af</uuid><memory>2048</memory><os><type>hvm</type></os></domain>");
    await x.create();
    await x.undefine();
    await x.destroy();
    const t = await Domain.createXML(conn, "<domain type='test'><name>t1</name><memory>1024</memory><os><type>hvm</type></os></domain>");
    await t.shutdown();
    await tick();
    assert.deepEqual(seen, [
      ['fv0', 1, 3, 0],
      ['fv0', 1, 4, 0],
      ['fv0', -1, 5, 0],
      ['fv0', 3, 2, 0],
      ['fv0', -1, 5, 1],
      ['fv0', 4, 2, 0],
      ['fv0', -1, 5, 4],
      ['n1', -1, 0, 0],
      ['n1', -1, 0, 1],
      ['n1', 5, 2, 0],
      ['n1', 5, 1, 0],
      ['n1', -1, 5, 1],
      ['t1', 6, 2, 0],
      // A transient domain's stop event still carries its id: it has no persistent definition.
      ['t1', 6, 5, 0],
    ]);
  });

  it('filters by domain and orders deliveries by registration across connections', async () => {
    const other = await Connect.open(`test://${nodeFile}`);
    const seen: string[] = [];
    try {
      const d = await Domain.lookupByName(conn, 'fv0');
      conn.domainEventRegisterAny(null, 0, (_c, dom, ev) => seen.push(`all:${dom.getName()}:${ev}`));
      conn.domainEventRegisterAny(d, 0, (_c, dom, ev) => seen.push(`fv0:${dom.getName()}:${ev}`));
      // A file-based connection has its own state: it hears nothing of this one.
      other.domainEventRegisterAny(null, 0, () => seen.push('other'));
      await (await Domain.lookupByName(conn, 'paused')).resume();
      await d.suspend();
      await tick();
      assert.deepEqual(seen, ['all:paused:4', 'all:fv0:3', 'fv0:fv0:3']);
    } finally {
      await other.close();
    }
  });

  it('shares events between test:///default connections in registration order', async () => {
    const a = await Connect.open('test:///default');
    const b = await Connect.open('test:///default');
    const seen: string[] = [];
    try {
      a.domainEventRegisterAny(null, 0, (_c, _d, ev) => seen.push(`a1:${ev}`));
      b.domainEventRegisterAny(null, 0, (_c, _d, ev) => seen.push(`b:${ev}`));
      a.domainEventRegisterAny(null, 0, (_c, _d, ev) => seen.push(`a2:${ev}`));
      const d = await Domain.defineXML(b, "<domain type='test'><name>ev-shared</name><memory>1024</memory><os><type>hvm</type></os></domain>");
      await d.undefine();
      await tick();
      assert.deepEqual(seen, ['a1:0', 'b:0', 'a2:0', 'a1:1', 'b:1', 'a2:1']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('emits network lifecycle events', async () => {
    const seen: unknown[] = [];
    conn.networkEventRegisterAny(null, 0, (_c, net, event, detail) => seen.push([net.getName(), event, detail]));
    const n = await Network.lookupByName(conn, 'private');
    await n.destroy();
    await n.create();
    const m = await Network.defineXML(conn, "<network><name>n2</name><bridge name='virbr9'/></network>");
    await m.create();
    await m.destroy();
    await m.undefine();
    const t = await Network.createXML(conn, '<network><name>n3</name></network>');
    await t.destroy();
    await tick();
    assert.deepEqual(seen, [
      ['private', 3, 0],
      ['private', 2, 0],
      ['n2', 0, 0],
      ['n2', 2, 0],
      ['n2', 3, 0],
      ['n2', 1, 0],
      ['n3', 2, 0],
      ['n3', 3, 0],
    ]);
    await rejectsWith(Network.lookupByName(conn, 'n3'), 43, 12, "Network not found: no network with matching name 'n3'");
  });
});
