// virConnectGetCapabilities and virConnectGetDomainCapabilities on qemu:///embed?root=DIR through
// the public API, checked against what the installed QEMU itself says (`-machine help`), and the
// same documents from the virtnode CLI's `capabilities` and `domcapabilities`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { attr, child, children, parseXML, textOf, type XmlElement } from '../../../src/conf/xml';
import { Connect } from '../../../src/connect';
import { bin, cleanEnv, ensureBuilt, run } from '../../cli/harness';
import { QEMU, skipWithoutQemu } from '../../support/qemu';
import { rejection } from '../../support/rejection';

/** `qemu-system-x86_64 -machine help`: the machine names and the default one. */
function machineHelp(): { names: string[]; defaultName: string } {
  const lines = execFileSync(QEMU, ['-machine', 'help'], { encoding: 'utf8' }).split('\n').slice(1).filter((l) => l.trim());
  const names = lines.map((l) => l.split(/\s+/)[0]);
  const def = lines.find((l) => l.includes('(default)'));
  assert.ok(def, 'QEMU names a default machine type');
  return { names, defaultName: def.split(/\s+/)[0] };
}

describe('drivers/qemu: getCapabilities and getDomainCapabilities', function () {
  this.timeout(120_000);
  let root: string;
  let conn: Connect;
  let uri: string;

  before(async function () {
    skipWithoutQemu(this);
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-qemu-caps-'));
    uri = `qemu:///embed?root=${root}`;
    conn = await Connect.open(uri);
  });

  after(async () => {
    if (conn) await conn.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('describes the host and the guests of the installed QEMU', async () => {
    const doc = parseXML(await conn.getCapabilities(), '(capabilities)');
    assert.equal(doc.name, 'capabilities');
    const host = child(doc, 'host')!;
    assert.equal(textOf(child(child(host, 'cpu')!, 'arch')), os.arch() === 'x64' ? 'x86_64' : os.arch());
    const cells = children(child(child(host, 'topology')!, 'cells')!, 'cell');
    const cpuIds = cells.flatMap((c) => children(child(c, 'cpus')!, 'cpu').map((x) => Number(attr(x, 'id'))));
    assert.equal(cpuIds.length, os.cpus().length, 'every CPU of the host is in a NUMA cell');
    const dac = children(host, 'secmodel').find((s) => textOf(child(s, 'model')) === 'dac')!;
    assert.deepEqual(children(dac, 'baselabel').map((b) => textOf(b)), [`+${process.getuid!()}:+${process.getgid!()}`, `+${process.getuid!()}:+${process.getgid!()}`]);

    const x86 = children(doc, 'guest').map((g) => child(g, 'arch')!).find((a) => attr(a, 'name') === 'x86_64');
    assert.ok(x86, 'an x86_64 guest');
    assert.equal(textOf(child(x86, 'emulator')), QEMU);
    const { names } = machineHelp();
    const ours = children(x86, 'machine').map((m) => textOf(m)!);
    // libvirt leaves out QEMU's 'none' machine type.
    assert.deepEqual([...ours].sort(), names.filter((n) => n !== 'none').sort());
    assert.ok(children(x86, 'domain').some((d) => attr(d, 'type') === 'qemu'));
  });

  it('answers domain capabilities for the default binary and machine type, with and without kvm', async () => {
    const { defaultName } = machineHelp();
    const dflt = parseXML(await conn.getDomainCapabilities(null, null, null, null, 0), '(domainCapabilities)');
    assert.equal(textOf(child(dflt, 'path')), QEMU);
    assert.equal(textOf(child(dflt, 'machine')), defaultName);
    assert.equal(textOf(child(dflt, 'arch')), 'x86_64');

    const tcg = parseXML(await conn.getDomainCapabilities(null, 'x86_64', 'q35', 'qemu', 0), '(domainCapabilities)');
    assert.equal(textOf(child(tcg, 'domain')), 'qemu');
    assert.match(textOf(child(tcg, 'machine'))!, /^pc-q35-\d/);
    const passthrough = children(child(tcg, 'cpu')!, 'mode').find((m) => attr(m, 'name') === 'host-passthrough')!;
    assert.equal(attr(passthrough, 'supported'), 'no', 'TCG cannot pass the host CPU through');
    // No firmware descriptors installed (Debian's ovmf package): no loaders and no EFI.
    if (!fs.existsSync('/usr/share/qemu/firmware') && !fs.existsSync('/etc/qemu/firmware')) {
      const osEl = child(tcg, 'os')!;
      assert.equal(children(child(osEl, 'loader')!, 'value').length, 0);
      assert.equal(children(child(osEl, 'enum') as XmlElement, 'value').length, 0);
    }

    const caps = parseXML(await conn.getCapabilities(), '(capabilities)');
    const kvmGuest = children(caps, 'guest').some((g) => children(child(g, 'arch')!, 'domain').some((d) => attr(d, 'type') === 'kvm'));
    if (kvmGuest) {
      const kvm = parseXML(await conn.getDomainCapabilities(null, null, null, 'kvm', 0), '(domainCapabilities)');
      assert.equal(textOf(child(kvm, 'domain')), 'kvm');
      assert.equal(textOf(child(dflt, 'domain')), 'kvm', 'kvm is the default virt type where KVM works');
      const hp = children(child(kvm, 'cpu')!, 'mode').find((m) => attr(m, 'name') === 'host-passthrough')!;
      assert.equal(attr(hp, 'supported'), 'yes');
    } else {
      const err = await rejection(conn.getDomainCapabilities(null, null, null, 'kvm', 0));
      assert.equal(err.code, 8); // VIR_ERR_INVALID_ARG
      assert.equal(err.message, `invalid argument: KVM is not supported by '${QEMU}' on this host`);
    }
  });

  it("rejects an unknown machine type, virt type and emulator with libvirt's errors", async () => {
    let err = await rejection(conn.getDomainCapabilities(null, null, 'nosuch', 'qemu', 0));
    assert.equal(err.code, 8); // VIR_ERR_INVALID_ARG
    assert.equal(err.domain, 10); // VIR_FROM_QEMU
    assert.equal(err.message, `invalid argument: the machine 'nosuch' is not supported by emulator '${QEMU}'`);
    err = await rejection(conn.getDomainCapabilities(null, null, null, 'bogus', 0));
    assert.equal(err.message, 'invalid argument: unknown virttype: bogus');
    err = await rejection(conn.getDomainCapabilities(null, 'aarch64', null, null, 0));
    assert.equal(err.message, "invalid argument: unable to find any emulator to serve 'aarch64' architecture");
    err = await rejection(conn.getDomainCapabilities(null, null, null, null, 1));
    assert.equal(err.code, 8);
    assert.equal(err.message, 'unsupported flags (0x1) in function qemuConnectGetDomainCapabilities');
    err = await rejection(conn.getDomainCapabilities('/nonexistent/qemu', null, null, null, 0));
    assert.equal(err.code, 38); // VIR_ERR_SYSTEM_ERROR
    assert.equal(err.message, 'Cannot check QEMU binary /nonexistent/qemu: No such file or directory');
  });

  it('answers the same host and guests on qemu:///session', async () => {
    const session = await Connect.open('qemu:///session');
    try {
      assert.equal(await session.getCapabilities(), await conn.getCapabilities());
      assert.equal(await session.getDomainCapabilities(null, null, 'q35', 'qemu', 0), await conn.getDomainCapabilities(null, null, 'q35', 'qemu', 0));
    } finally {
      await session.close();
    }
  });

  it('prints the same documents from `virtnode capabilities` and `domcapabilities`', async function () {
    this.timeout(180_000);
    ensureBuilt();
    const env = cleanEnv();
    const caps = await run(process.execPath, [bin, '-c', uri, 'capabilities'], env);
    assert.equal(caps.stderr, '');
    assert.equal(caps.status, 0);
    // As virsh: the document, the newline `capabilities` prints after it, and the blank line that
    // ends every non-interactive run.
    assert.equal(caps.stdout, `${await conn.getCapabilities()}\n\n`);
    const dom = await run(process.execPath, [bin, '-c', uri, 'domcapabilities', '--virttype', 'qemu', '--machine', 'q35'], env);
    assert.equal(dom.status, 0, dom.stderr);
    assert.equal(dom.stdout, `${await conn.getDomainCapabilities(null, null, 'q35', 'qemu', 0)}\n\n`);
    const bad = await run(process.execPath, [bin, '-c', uri, 'domcapabilities', '--machine', 'nosuch'], env);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr, `error: failed to get emulator capabilities\nerror: invalid argument: the machine 'nosuch' is not supported by emulator '${QEMU}'\n`);
  });
});
