import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { attr, child, childText, children, parseXML, XmlElement } from '../../../src/conf/xml';
import {
  FLAGS_RETIRED_IN_LIBVIRT_9_0,
  probeQemuCaps,
  QemuAccel,
  QemuCaps,
} from '../../../src/drivers/qemu/capabilities';
import { QmpCommandError } from '../../../src/drivers/qemu/qmp-peer';
import { qapiSchemaFromReply, qapiSchemaPathExists } from '../../../src/drivers/qemu/qapi';
import { capsFromRepliesFile, FakeQmpPeer, parseJsonSequence, parseReplies } from '../../../src/drivers/qemu/replies';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const capsDir = path.resolve(repoRoot, '..', 'shared', 'libvirt-9.0-tests', 'qemucapabilitiesdata');

function readCaps(version: string, ext: 'replies' | 'xml'): string {
  return fs.readFileSync(path.join(capsDir, `caps_${version}.x86_64.${ext}`), 'utf8');
}

async function probeRecorded(version: string): Promise<{ caps: QemuCaps; peer: FakeQmpPeer; opened: QemuAccel[] }> {
  const peer = new FakeQmpPeer(parseReplies(readCaps(version, 'replies')));
  const opened: QemuAccel[] = [];
  const caps = await probeQemuCaps(async (accel) => {
    opened.push(accel);
    return peer;
  }, '/usr/bin/qemu-system-x86_64');
  return { caps, peer, opened };
}

/** The machine attributes of libvirt's capabilities digest, as our fields would render them. */
function digestMachines(digest: XmlElement, accel: QemuAccel): Record<string, unknown>[] {
  return children(digest, 'machine')
    .filter((m) => attr(m, 'type') === accel)
    .map((m) => ({
      name: attr(m, 'name'),
      alias: attr(m, 'alias'),
      maxCpus: Number(attr(m, 'maxCpus') ?? 0),
      hotplugCpus: attr(m, 'hotplugCpus') === 'yes',
      qemuDefault: attr(m, 'default') === 'yes',
      defaultCPU: attr(m, 'defaultCPU'),
      numaMemSupported: attr(m, 'numaMemSupported') === 'yes',
      defaultRAMid: attr(m, 'defaultRAMid'),
      deprecated: attr(m, 'deprecated') === 'yes',
    }));
}

function ourMachines(caps: QemuCaps, virtType: string): Record<string, unknown>[] {
  return caps.machines(virtType).map((m) => ({
    name: m.name,
    alias: m.alias,
    maxCpus: m.maxCpus,
    hotplugCpus: m.hotplugCpus,
    qemuDefault: m.qemuDefault,
    defaultCPU: m.defaultCPU,
    numaMemSupported: m.numaMemSupported,
    defaultRAMid: m.defaultRAMid,
    deprecated: m.deprecated,
  }));
}

const VERSIONS = [
  { version: '8.0.0', number: 7002050, pkg: 'v7.2.0-333-g222059a0fc' },
  { version: '7.2.0', number: 7002000, pkg: 'v7.2.0' },
  { version: '4.2.0', number: 4002000, pkg: 'v4.2.0' },
];

describe('drivers/qemu/replies: recorded QMP conversations', () => {
  it('parses a .replies file into request/reply pairs in order', () => {
    const exchanges = parseReplies(readCaps('8.0.0', 'replies'));
    assert.equal(exchanges.length, 56);
    assert.equal(exchanges[0].request.execute, 'qmp_capabilities');
    assert.deepEqual(exchanges[1].reply, {
      return: { qemu: { micro: 50, minor: 2, major: 7 }, package: 'v7.2.0-333-g222059a0fc' },
      id: 'libvirt-2',
    });
    assert.deepEqual(exchanges[10].request.arguments, { typename: 'virtio-net-ccw' });
    assert.ok('error' in exchanges[10].reply);
  });

  it('splits JSON values even when strings hold braces and blank lines', () => {
    assert.deepEqual(parseJsonSequence('{"a": "}\\n\\n{"}\n\n[1, {"b": 2}]'), [{ a: '}\n\n{' }, [1, { b: 2 }]]);
    assert.throws(() => parseJsonSequence('{"a": 1'), SyntaxError);
  });

  it('answers in order, turns QMP errors into VirErrors and refuses a command out of order', async () => {
    const exchanges = parseReplies(readCaps('8.0.0', 'replies'));
    const peer = new FakeQmpPeer(exchanges);
    assert.deepEqual(await peer.command('qmp_capabilities'), {});
    await assert.rejects(peer.command('query-target'), /recording expects 'query-version'/);
    await assert.rejects(peer.command('query-version', { x: 1 }), /has arguments \{"x":1\}/);
    for (let i = 1; i < 10; i++) await peer.command(exchanges[i].request.execute, exchanges[i].request.arguments);
    await assert.rejects(peer.command('device-list-properties', { typename: 'virtio-net-ccw' }), (err: unknown) => {
      assert.ok(err instanceof QmpCommandError);
      assert.equal(err.errorClass, 'DeviceNotFound');
      assert.equal(err.code, 1);
      assert.equal(err.domain, 10);
      assert.equal(
        err.message,
        "internal error: unable to execute QEMU command 'device-list-properties': Device 'virtio-net-ccw' not found",
      );
      return true;
    });
  });
});

describe('drivers/qemu/replies: capsFromRepliesFile', () => {
  it('probes a .replies file as if it were the binary', async () => {
    const caps = await capsFromRepliesFile(path.join(capsDir, 'caps_8.0.0.x86_64.replies'));
    assert.equal(caps.version, 7002050);
    assert.equal(caps.data.binary, '/usr/bin/qemu-system-x86_64');
    assert.equal(caps.has('device.json+hotplug'), true);
  });
});

describe('drivers/qemu/qapi: schema path queries', () => {
  const schemaReply = parseReplies(readCaps('8.0.0', 'replies'))[3].reply;
  const schema = qapiSchemaFromReply('return' in schemaReply ? schemaReply.return : []);

  it('finds command features, union variants, enum values and members through arrays', () => {
    assert.equal(qapiSchemaPathExists('device_add/$json-cli-hotplug', schema), true);
    assert.equal(qapiSchemaPathExists('device_add/$no-such-feature', schema), false);
    assert.equal(qapiSchemaPathExists('object-add/$json-cli-hotplug', schema), false);
    assert.equal(qapiSchemaPathExists('netdev_add/arg-type/type/^dgram', schema), true);
    assert.equal(qapiSchemaPathExists('netdev_add/arg-type/type/^no-such-netdev', schema), false);
    assert.equal(qapiSchemaPathExists('blockdev-add/arg-type/+file/aio/^io_uring', schema), true);
    assert.equal(qapiSchemaPathExists('query-hotpluggable-cpus/ret-type/props/die-id', schema), true);
    assert.equal(qapiSchemaPathExists('block-commit/arg-type/*top', schema), true);
    assert.equal(qapiSchemaPathExists('block-commit/arg-type/*job-id', schema), true);
    assert.equal(qapiSchemaPathExists('block-commit/arg-type/*device', schema), false);
    assert.equal(qapiSchemaPathExists('no-such-command', schema), false);
  });
});

describe('drivers/qemu/capabilities: probing libvirt recorded conversations', () => {
  for (const { version, number, pkg } of VERSIONS) {
    describe(`caps_${version}.x86_64`, () => {
      let probed: Awaited<ReturnType<typeof probeRecorded>>;
      let digest: XmlElement;
      before(async () => {
        probed = await probeRecorded(version);
        digest = parseXML(readCaps(version, 'xml'), `caps_${version}.x86_64.xml`);
      });

      it('consumes the whole conversation: a KVM process, then a TCG one', () => {
        assert.equal(probed.peer.remaining, 0);
        assert.deepEqual(probed.opened, ['kvm', 'tcg']);
      });

      it('reports libvirt version number, package and arch', () => {
        assert.equal(probed.caps.version, number);
        assert.equal(String(probed.caps.version), childText(digest, 'version'));
        assert.equal(probed.caps.package, pkg);
        assert.equal(probed.caps.package, childText(digest, 'package'));
        assert.equal(probed.caps.arch, childText(digest, 'arch'));
      });

      it("computes exactly libvirt's capability flags", () => {
        const expected = children(digest, 'flag').map((f) => attr(f, 'name')).sort();
        const ours = [...probed.caps.flags].filter((f) => !FLAGS_RETIRED_IN_LIBVIRT_9_0.includes(f)).sort();
        assert.deepEqual(ours, expected);
        for (const retired of FLAGS_RETIRED_IN_LIBVIRT_9_0) assert.ok(probed.caps.has(retired), retired);
      });

      it('lists the machine types of each accelerator like libvirt, preferred default first', () => {
        for (const accel of ['kvm', 'tcg'] as const) {
          const expected = digestMachines(digest, accel);
          assert.ok(expected.length > 40);
          assert.deepEqual(ourMachines(probed.caps, accel === 'kvm' ? 'kvm' : 'qemu'), expected);
        }
        assert.equal(probed.caps.defaultMachine('kvm')?.alias, 'pc');
        assert.equal(probed.caps.canonicalMachine('kvm', 'q35'), probed.caps.machines('kvm').find((m) => m.alias === 'q35')?.name);
      });

      it('lists the CPU models of each accelerator with usability and blockers', () => {
        for (const accel of ['kvm', 'tcg'] as const) {
          const expected = children(digest, 'cpu')
            .filter((c) => attr(c, 'type') === accel)
            .map((c) => ({
              name: attr(c, 'name'),
              typename: attr(c, 'typename'),
              usable: attr(c, 'usable'),
              blockers: children(c, 'blocker').map((b) => attr(b, 'name')),
              deprecated: attr(c, 'deprecated') === 'yes',
            }));
          const ours = probed.caps.cpuModels(accel === 'kvm' ? 'kvm' : 'qemu').map((c) => ({
            name: c.name,
            typename: c.typename,
            usable: c.usable,
            blockers: c.blockers,
            deprecated: c.deprecated,
          }));
          assert.deepEqual(ours, expected);
        }
      });

      it('expands the host CPU with migratability like libvirt', () => {
        for (const accel of ['kvm', 'tcg'] as const) {
          const host = children(digest, 'hostCPU').find((h) => attr(h, 'type') === accel);
          assert.ok(host);
          const ours = probed.caps.data.accel[accel]?.hostCpu;
          assert.ok(ours);
          assert.equal(ours.model, attr(host, 'model'));
          const props = children(host, 'property');
          assert.deepEqual(
            Object.keys(ours.props).sort(),
            props.map((p) => attr(p, 'name')).sort(),
          );
          for (const p of props) {
            assert.equal(String(ours.props[attr(p, 'name') ?? '']), attr(p, 'value'), attr(p, 'name'));
          }
          assert.deepEqual(
            [...ours.nonMigratable].sort(),
            props.filter((p) => attr(p, 'migratable') === 'no').map((p) => attr(p, 'name')).sort(),
          );
        }
        const hyperv = child(digest, 'hypervCapabilities');
        assert.deepEqual(probed.caps.data.hyperv ?? [], hyperv ? children(hyperv, 'cap').map((c) => attr(c, 'name')) : []);
      });

      it('exposes what the command-line builder keys on', () => {
        const caps = probed.caps;
        assert.equal(caps.has('virtio-net.failover'), true);
        assert.equal(caps.hasDeviceProp('virtio-net-pci', 'failover'), true);
        assert.equal(caps.has('blockdev'), true);
        assert.equal(caps.has('audiodev'), true);
        assert.equal(caps.has('kvm'), true);
        assert.equal(caps.has('tcg'), true);
        const modern = version !== '4.2.0';
        assert.equal(caps.has('device.json+hotplug'), modern);
        assert.equal(caps.has('netdev.json'), modern);
        assert.equal(caps.has('object.qapified'), modern);
        assert.equal(caps.has('machine-hpet'), version === '8.0.0');
        assert.equal(caps.machineDefaultCpu('kvm', 'pc'), 'qemu64');
      });

      it("strips machine aliases the way libvirt's xml2argv tests do", () => {
        const stripped = probed.caps.withoutMachineAliases();
        for (const virtType of ['kvm', 'qemu']) {
          const original = probed.caps.machines(virtType);
          const machines = stripped.machines(virtType);
          assert.ok(machines.every((m) => m.alias === undefined));
          const aliased = original.filter((m) => m.alias !== undefined);
          assert.ok(aliased.length >= 2);
          assert.equal(machines.length, original.length + aliased.length);
          assert.equal(machines[0].name, original[0].name, 'default machine unchanged');
          const pc = stripped.findMachine(virtType, 'pc');
          assert.equal(pc?.name, 'pc');
          assert.equal(pc?.maxCpus, probed.caps.findMachine(virtType, 'pc')?.maxCpus);
          assert.equal(stripped.canonicalMachine(virtType, 'q35'), 'q35');
        }
        assert.equal(probed.caps.canonicalMachine('kvm', 'pc'), probed.caps.machines('kvm')[0].name);
      });

      it('lists guest machines for the host capabilities as virsh capabilities shows them', () => {
        const machines = probed.caps.guestMachines();
        const kvm = probed.caps.machines('kvm');
        const aliased = kvm.filter((m) => m.alias !== undefined).length;
        assert.equal(machines.length, kvm.length + aliased);
        assert.deepEqual(machines.slice(0, 2), [
          { name: kvm[0].name, maxCpus: 255, deprecated: false },
          { name: 'pc', canonical: kvm[0].name, maxCpus: 255, deprecated: false },
        ]);
        const q35 = machines.findIndex((m) => m.name === 'q35');
        assert.equal(machines[q35 - 1].name, machines[q35].canonical);
        assert.equal(new Set(machines.map((m) => m.name)).size, machines.length);
        assert.deepEqual(probed.caps.guestDomainTypes(), ['qemu', 'kvm']);
      });

      it('survives a JSON round trip unchanged', () => {
        const copy = QemuCaps.fromJSON(JSON.parse(JSON.stringify(probed.caps)));
        assert.deepEqual(copy.toJSON(), probed.caps.toJSON());
        assert.equal(copy.has('tcg'), true);
      });
    });
  }
});
