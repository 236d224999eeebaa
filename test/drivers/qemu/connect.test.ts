// The QEMU connection driver through the public API: qemu:///embed?root=DIR opened in a temporary
// directory, connection-level queries, and domxml-to-native with the installed QEMU's real
// capabilities (API and the virtnode CLI).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect } from '../../../src/connect';
import { bin, cleanEnv, ensureBuilt, run } from '../../cli/harness';
import { QEMU, skipWithoutQemu } from '../../support/qemu';
import { rejection } from '../../support/rejection';


/** A q35 guest whose virtio NIC is the persistent half of a failover pair. */
function teamingDomain(model = 'virtio'): string {
  return `<domain type='kvm'>
  <name>teamvm</name>
  <uuid>6ba7b810-9dad-11d1-80b4-00c04fd430c8</uuid>
  <memory unit='KiB'>219100</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  <devices>
    <emulator>${QEMU}</emulator>
    <interface type='user'>
      <mac address='00:11:22:33:44:55'/>
      <model type='${model}'/>
      <teaming type='persistent'/>
      <alias name='ua-backup0'/>
    </interface>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
  </devices>
</domain>
`;
}


describe('drivers/qemu: qemu:/// connections', function () {
  this.timeout(120_000);
  let root: string;
  let conn: Connect;

  before(async function () {
    skipWithoutQemu(this);
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-qemu-connect-'));
    conn = await Connect.open(`qemu:///embed?root=${root}`);
  });

  after(async () => {
    if (conn) await conn.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('reports type QEMU, the installed QEMU version and the host name', async () => {
    assert.equal(await conn.getType(), 'QEMU');
    const banner = execFileSync(QEMU, ['--version'], { encoding: 'utf8' });
    const m = /version (\d+)\.(\d+)\.(\d+)/.exec(banner);
    assert.ok(m, banner);
    assert.equal(await conn.getVersion(), Number(m[1]) * 1_000_000 + Number(m[2]) * 1000 + Number(m[3]));
    assert.equal(await conn.getHostname(), os.hostname());
  });

  it('probes capabilities into the cache under the embed root', () => {
    const dir = path.join(root, 'cache', 'qemu', 'capabilities');
    const entries = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    assert.equal(entries.length, 1, `cache entries: ${fs.readdirSync(dir).join(', ')}`);
    const entry = JSON.parse(fs.readFileSync(path.join(dir, entries[0]), 'utf8'));
    assert.equal(entry.binary, QEMU);
  });

  it('reports vCPU limits: 16 for QEMU, an error for an unknown type', async () => {
    assert.equal(await conn.getMaxVcpus(null), 16);
    assert.equal(await conn.getMaxVcpus('qemu'), 16);
    assert.ok((await conn.getMaxVcpus('kvm')) >= 1);
    const err = await rejection(conn.getMaxVcpus('xen'));
    assert.equal(err.code, 8);
    assert.equal(err.message, "invalid argument: unknown type 'xen'");
  });

  it('domxml-to-native prints the one-line command of a real start, the NIC as a bare tap', async () => {
    const argv = await conn.domainXMLToNative('qemu-argv', teamingDomain());
    assert.ok(!argv.includes('\n'), 'one line');
    assert.ok(argv.startsWith(`LC_ALL=C PATH=${process.env.PATH} `), argv.slice(0, 40));
    assert.ok(argv.includes(` ${QEMU} -name guest=teamvm,debug-threads=on `), argv);
    // the alias 'q35' is resolved to the versioned machine type it stands for
    assert.match(argv, / -machine pc-q35-\d+\.\d+,usb=off,/);
    // libvirt's pretend start turns every interface into a tap that keeps its MAC and model only:
    // no failover, no user alias
    assert.match(argv, / -netdev '\{"type":"tap","fd":"\d+","id":"hostnet0"\}' /);
    assert.ok(argv.includes('{"driver":"virtio-net-pci","netdev":"hostnet0","id":"net0","mac":"00:11:22:33:44:55",'), argv);
    assert.ok(!argv.includes('failover') && !argv.includes('ua-backup0'), argv);
    assert.ok(argv.includes('-uuid 6ba7b810-9dad-11d1-80b4-00c04fd430c8'), argv);
    const domainDir = path.join(root, 'lib', 'qemu', 'domain--1-teamvm');
    assert.ok(argv.includes(`-chardev socket,id=charmonitor,path=${domainDir}/monitor.sock,server=on,wait=off`), argv);
    assert.ok(argv.includes(`HOME=${domainDir} `), argv);
    // the guest agent socket gets libvirt's per-domain channel path
    const channel = path.join(root, 'lib', 'qemu', 'channel', 'target', 'domain--1-teamvm', 'org.qemu.guest_agent.0');
    assert.ok(argv.includes(`-chardev socket,id=charchannel0,path=${channel},server=on,wait=off`), argv);
  });

  it('refuses native formats other than qemu-argv', async () => {
    const err = await rejection(conn.domainXMLToNative('xen-xm', teamingDomain()));
    assert.equal(err.code, 8); // VIR_ERR_INVALID_ARG
    assert.equal(err.domain, 10); // VIR_FROM_QEMU
    assert.equal(err.message, 'invalid argument: unsupported config type xen-xm');
  });

  it('passes QEMU validation errors through: a persistent teaming NIC must be virtio', async () => {
    const err = await rejection(conn.domainXMLToNative('qemu-argv', teamingDomain('e1000e')));
    assert.equal(err.code, 67); // VIR_ERR_CONFIG_UNSUPPORTED
    assert.equal(err.domain, 10);
    assert.equal(
      err.message,
      "unsupported configuration: virtio-net teaming persistent interface must be <model type='virtio'/>, not 'e1000e'",
    );
  });

  it('needs an absolute root for qemu:///embed, as libvirt 9.0 does', async () => {
    let err = await rejection(Connect.open('qemu:///embed'));
    assert.deepEqual([err.code, err.domain, err.message], [8, 45, "invalid argument: Missing URI parameter 'root'"]);
    err = await rejection(Connect.open('qemu:///embed?root=relative/dir'));
    assert.deepEqual([err.code, err.domain, err.message], [67, 0, 'unsupported configuration: root path must be absolute']);
  });

  it('opens qemu:///session and refuses unknown paths as libvirt\'s qemuConnectOpen does', async () => {
    const session = await Connect.open('qemu:///session');
    try {
      assert.equal(await session.getType(), 'QEMU');
      assert.equal(await session.getHostname(), os.hostname());
    } finally {
      await session.close();
    }
    const err = await rejection(Connect.open('qemu:///bogus'));
    const hint = process.getuid?.() === 0 ? 'qemu:///system' : 'qemu:///session';
    assert.deepEqual([err.code, err.domain, err.message], [1, 10, `internal error: unexpected QEMU URI path '/bogus', try ${hint}`]);
  });

  it('virtnode domxml-to-native prints the same command line', async function () {
    ensureBuilt();
    const file = path.join(root, 'teamvm.xml');
    fs.writeFileSync(file, teamingDomain());
    const res = await run(process.execPath, [bin, '-c', `qemu:///embed?root=${root}`, 'domxml-to-native', 'qemu-argv', file], cleanEnv());
    assert.equal(res.stderr, '');
    assert.equal(res.status, 0);
    const expected = await conn.domainXMLToNative('qemu-argv', teamingDomain());
    assert.equal(res.stdout.trimEnd(), expected);
    assert.ok(res.stdout.includes('"mac":"00:11:22:33:44:55"'));
  });
});
