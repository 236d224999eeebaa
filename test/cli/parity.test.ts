// Output parity with virsh 9.0: every command line below runs through `virsh -c test:///default`
// and through `node bin/virtnode.js -c test:///default`; stdout, stderr and the exit status must be
// byte for byte the same. Each process starts from a fresh test node, so scenarios are chained in
// one command string as virsh users do. The only masked difference is `CPU time`, which the test
// driver derives from the wall clock.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type RunResult, bin, cleanEnv, dataDir, ensureBuilt, hasVirsh, inBatches, repoRoot, run } from './harness';

const D = dataDir;

/** Each entry is one process's argv after `-c test:///default`. */
const CASES: string[][] = [
  // listing
  ['list'],
  ['list', '--all'],
  ['list --inactive'],
  ['list --name'],
  ['list --uuid --all'],
  ['list --id'],
  ['list --name --uuid --id --all'],
  ['list --table --name'],
  ['list --table --uuid'],
  ['list --state-running'],
  ['list --state-shutoff'],
  ['list --state-paused'],
  ['list --persistent --all'],
  ['list --transient'],
  ['list --autostart'],
  ['list --no-autostart --all'],
  ['list --title --all'],
  ['list --with-managed-save'],
  ['list --managed-save --all'],
  ['list --all --all'],
  ['list --all=yes'],
  ['list extra'],
  ['list --bogus'],
  [`define ${D}/new1.xml; define ${D}/tr1.xml; start new1; list --all; list --inactive; list --state-running --state-shutoff; list --name --all`],
  [`create ${D}/tr1.xml; list --transient; list --persistent; list --title; undefine tr1; destroy tr1; list --all`],
  // domain information
  ['dominfo test'],
  ['dominfo 1'],
  ['dominfo 6695eb01-f6a4-8304-79aa-97f2502e193f'],
  ['dominfo --domain test'],
  ['dominfo --domain=test'],
  ['dominfo nosuch'],
  ['dominfo'],
  ['dominfo test extra'],
  ['dominfo --domain'],
  ['domstate test'],
  ['domstate test --reason'],
  ['domstate --reason 1'],
  ['domstate nosuch'],
  ['domid test'],
  ['domid 6695eb01-f6a4-8304-79aa-97f2502e193f'],
  ['domid 1'],
  ['domname 1'],
  ['domname 6695eb01-f6a4-8304-79aa-97f2502e193f'],
  ['domuuid test'],
  ['domuuid 1'],
  ['dumpxml test'],
  ['dumpxml --inactive test'],
  ['dumpxml test --security-info'],
  ['dumpxml test --migratable'],
  ['dumpxml nosuch'],
  ['domiflist test'],
  ['domiflist test --inactive'],
  ['domblklist test'],
  ['domblklist test --details'],
  ['domblklist --inactive test'],
  [`create ${D}/tr1.xml; domiflist tr1; domblklist tr1; domblklist tr1 --details; dominfo tr1`],
  // life cycle, including wrong-state errors
  ['destroy test; destroy test; start test; domstate --reason test; suspend test; domstate --reason test; resume test; domstate --reason test; shutdown test; domstate --reason test; list --all'],
  ['start test'],
  ['start 1'],
  ['resume test'],
  ['suspend test; suspend test; resume test; resume test'],
  ['destroy test; shutdown test; reboot test; reset test; suspend test; resume test; dominfo test'],
  ['reboot test; domstate --reason test; reset test; domstate test'],
  ['shutdown test --mode acpi'],
  ['shutdown test --mode foo'],
  ['shutdown test acpi'],
  ['reboot test acpi'],
  ['dumpxml test /domain/name'],
  ['dumpxml test --xpath /domain/os; dumpxml test --xpath /domain/os --wrap; dumpxml test --xpath //devices/interface'],
  ['dumpxml test --xpath //@dev; dumpxml test --xpath //@dev --wrap; dumpxml test --xpath //disk/source/@file'],
  ['dumpxml test --xpath /domain/name/text(); dumpxml test --xpath //nosuch; dumpxml test --xpath //nosuch --wrap'],
  ['dumpxml test --xpath count(//disk)'],
  [`dumpxml test --xpath "//disk[@device='disk']/target"; dumpxml test --xpath "//*[@type='pci']"; dumpxml test --xpath /domain/devices/*[2]`],
  [`dumpxml test --xpath "//interface[source/@network='default']/mac"; dumpxml test --xpath devices/disk/target/@dev; dumpxml test --xpath domain/name`],
  ['dumpxml test --xpath /domain/@type; dumpxml test --xpath /domain/devices/* --wrap; dumpxml test --wrap'],
  ['net-dumpxml default --xpath //ip; net-dumpxml default --xpath //range/@start --wrap'],
  ['nodedev-dumpxml scsi_host1 --xpath //capability/@type; nodedev-dumpxml computer --xpath /device/capability/hardware'],
  [`create ${D}/tr1.xml; dumpxml tr1; domblklist tr1 --inactive`],
  ['destroy test; start test; dominfo test; domid test'],
  [`define ${D}/new1.xml; list --all; start new1; list --all; undefine new1; list --all; destroy new1; list --all`],
  [`define ${D}/new1.xml; dominfo new1; domid new1; dumpxml new1; undefine new1; undefine new1`],
  [`define ${D}/bad.xml`],
  [`define ${D}/wrongroot.xml`],
  [`define ${D}/dup.xml`],
  [`define ${D}/missing.xml`],
  [`define ${D}`],
  [`create ${D}/new1.xml; dominfo new1; create ${D}/new1.xml`],
  ['undefine test; list --all; destroy test; list --all'],
  ['autostart test; dominfo test; list --autostart; autostart --disable test; list --autostart'],
  ['autostart nosuch'],
  [`define --validate ${D}/v1-unknown-element.xml`],
  [`define ${D}/v1-unknown-element.xml; start v1 --paused; domstate v1 --reason; list --state-paused; resume v1; domstate v1 --reason`],
  [`create --paused ${D}/new1.xml; domstate new1 --reason`],
  ['destroy test --graceful; domstate test --reason; start test --force-boot; start test --autodestroy'],
  ['destroy test; start test --bypass-cache; destroy test; start test --reset-nvram; list'],
  ['undefine test --nvram; undefine test --managed-save'],
  ['destroy test; undefine test --nvram --keep-nvram'],
  [`define ${D}/v1-unknown-element.xml; undefine v1 --tpm; list --all`],
  [`define ${D}/v1-unknown-element.xml; undefine v1 --checkpoints-metadata --keep-nvram; list --all`],
  [`define ${D}/v1-unknown-element.xml; undefine v1 --snapshots-metadata --managed-save; list --all`],
  [`define ${D}/v1-unknown-element.xml; undefine v1 --tpm --nvram; list --all`],
  ['undefine test --storage vda'],
  ['reboot test --mode acpi,agent'],
  ['dumpxml 1 --inactive --security-info --migratable'],
  ['domstate 6695eb01-f6a4-8304-79aa-97f2502e193f'],
  ['list --transient --persistent'],
  ['list --all --with-snapshot'],
  ['list --all --without-snapshot --without-checkpoint'],
  ['domiflist nosuch'],
  ['domblklist nosuch --details'],
  // devices and QEMU-only commands the test driver does not support
  [`attach-device test ${D}/disk.xml`],
  [`attach-device test ${D}/disk.xml --config`],
  [`attach-device test ${D}/disk.xml --current --live`],
  [`detach-device test ${D}/disk.xml --persistent`],
  [`detach-device test ${D}/missing.xml`],
  [`domxml-to-native qemu-argv ${D}/new1.xml`],
  ['domxml-to-native qemu-argv --domain test'],
  ['domxml-to-native qemu-argv'],
  [`domxml-to-native qemu-argv --domain test --xml ${D}/new1.xml`],
  ['qemu-monitor-command test query-status'],
  ['qemu-monitor-command', 'test', '{"execute":"query-status"}'],
  ['qemu-monitor-command', 'test', '--pretty', 'query-block', '"id":"x"', '"flat":true'],
  ['qemu-monitor-command test --hmp info status'],
  ['qemu-monitor-command test --hmp --pretty info'],
  ['qemu-monitor-command test'],
  ['qemu-monitor-command nosuch query-status'],
  ['domcapabilities'],
  // networks
  ['net-list'],
  ['net-list --all'],
  ['net-list --inactive'],
  ['net-list --name'],
  ['net-list --uuid'],
  ['net-list --uuid --name'],
  ['net-info default'],
  ['net-info dd8fe884-6c02-601e-7551-cca97df1c5df'],
  ['net-info nosuch'],
  ['net-dumpxml default'],
  ['net-dumpxml default --inactive'],
  ['net-dumpxml nosuch'],
  ['net-start default'],
  ['net-destroy default; net-info default; net-list; net-list --all; net-start default; net-list'],
  [`net-define ${D}/net1.xml; net-list --all; net-info net1; net-start net1; net-list; net-undefine net1; net-destroy net1; net-list --all`],
  [`net-define ${D}/net1.xml; net-undefine net1; net-list --all`],
  [`net-define ${D}/bad.xml`],
  [`net-define ${D}/missing.xml`],
  ['net-autostart default; net-info default; net-list --autostart; net-autostart --disable default; net-list --no-autostart'],
  ['net-undefine nosuch'],
  [`net-define ${D}/net1.xml; net-define ${D}/net1.xml`],
  [`net-define --validate ${D}/net1.xml`],
  [`net-define ${D}/net1.xml; net-info 3e3fce45-4f53-4fa7-bb32-11f34168b82b`],
  ['net-dumpxml --network default'],
  ['net-autostart nosuch'],
  ['net-start nosuch'],
  // node devices
  ['nodedev-list'],
  ['nodedev-list --all'],
  ['nodedev-list --inactive'],
  ['nodedev-list --all --inactive'],
  ['nodedev-list --tree --cap system'],
  ['nodedev-list --all --cap foo'],
  ['nodedev-list --all --cap scsi_host,fc_host'],
  ['nodedev-dumpxml computer'],
  ['nodedev-dumpxml scsi_host1'],
  ['nodedev-dumpxml scsi_host11'],
  ['nodedev-dumpxml nosuch'],
  ['nodedev-detach computer'],
  ['nodedev-detach nosuch'],
  ['nodedev-reattach computer'],
  ['nodedev-reset computer'],
  ['nodedev-dumpxml --device computer'],
  ['nodedev-detach computer --driver vfio'],
  // host
  ['nodeinfo'],
  ['capabilities'],
  ['sysinfo'],
  ['hostname'],
  ['uri'],
  ['freecell'],
  ['freecell --all'],
  ['freecell 0'],
  ['freecell --cellno 1'],
  ['freecell 5'],
  ['freecell abc'],
  ['freecell -1'],
  ['freecell --all --cellno 1'],
  // parsing, chaining, the shell's own commands
  ['foo'],
  ['list; foo; list'],
  ['dominfo nosuch; list'],
  ['list; dominfo nosuch'],
  ['list;;domstate test;'],
  ["dominfo 'test' # a comment"],
  ['dominfo "te"st'],
  ['dominfo te\\'],
  ['list "--all'],
  ['dominfo -- test'],
  ['list -- --all'],
  ['list', ';', 'list'],
  ['domstate', '--reason', 'test'],
  ['echo hello world'],
  ['echo --shell a "b c" "it\'s"'],
  ['echo --xml "<a&b>"'],
  ['echo --err oops'],
  ['quit; list'],
  ['help dominfo'],
  ['help start'],
  ['help qemu-monitor-command'],
  ['help echo'],
  ['help hostname'],
  ['help nodeinfo'],
  ['help virsh'],
  ['help nosuch'],
  ['help list'],
  ['help net-list'],
  ['help undefine'],
  ['start --help'],
  ['cd /tmp'],
];

/** virsh's `version` with virtnode's library name and version put in, the hypervisor line kept. */
function expectedVersion(virsh: string): string {
  const own = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  return virsh
    .replace(/^Compiled against library: libvirt \S+$/m, `Compiled against library: virtnode ${own}`)
    .replace(/^Using library: libvirt \S+$/m, `Using library: virtnode ${own}`)
    .replace(/^Using API: (\S+) \S+$/m, `Using API: $1 ${own}`);
}

function mask(text: string): string {
  return text.replace(/^CPU time:( +)\d+\.\ds$/gm, 'CPU time:$1<masked>');
}

const label = (args: string[]) => args.map((a) => (args.length > 1 && /[\s;]/.test(a) ? JSON.stringify(a) : a)).join(' ');

describe('virtnode CLI: output parity with virsh on test:///default', function () {
  this.timeout(180_000);
  const results = new Map<string, { virsh: RunResult; virtnode: RunResult }>();
  let skipReason: string | null = null;

  before(async function () {
    if (!hasVirsh()) {
      skipReason = 'virsh not found: install libvirt-clients';
      return;
    }
    ensureBuilt();
    const jobs = CASES.map((args) => async () => {
      const [virsh, virtnode] = await Promise.all([
        run('virsh', ['-c', 'test:///default', ...args]),
        run(process.execPath, [bin, '-c', 'test:///default', ...args]),
      ]);
      results.set(label(args), { virsh, virtnode });
    });
    await inBatches(jobs, 4);
  });

  for (const args of CASES) {
    it(label(args), function () {
      if (skipReason) this.skip();
      const r = results.get(label(args));
      assert.ok(r);
      assert.equal(mask(r.virtnode.stderr), mask(r.virsh.stderr), 'stderr');
      assert.equal(mask(r.virtnode.stdout), mask(r.virsh.stdout), 'stdout');
      assert.equal(r.virtnode.status, r.virsh.status, 'exit status');
    });
  }

  it('version: virsh lines, with virtnode as the library', async function () {
    if (skipReason) this.skip();
    const [virsh, virtnode] = await Promise.all([
      run('virsh', ['-c', 'test:///default', 'version; version --daemon']),
      run(process.execPath, [bin, '-c', 'test:///default', 'version']),
    ]);
    const expected = expectedVersion(virsh.stdout).split('\n\n')[0] + '\n\n';
    assert.equal(virtnode.stdout, expected);
    assert.equal(virtnode.stderr, '');
    assert.equal(virtnode.status, 0);
  });

  it('-q drops table headers and the blank line after each command, as virsh -q does', async function () {
    if (skipReason) this.skip();
    const line = 'list --all; dominfo test; net-list; echo no newline';
    const [virsh, virtnode] = await Promise.all([
      run('virsh', ['-q', '-c', 'test:///default', line]),
      run(process.execPath, [bin, '-q', '-c', 'test:///default', line]),
    ]);
    assert.equal(mask(virtnode.stdout), mask(virsh.stdout));
    assert.equal(virtnode.status, virsh.status);
  });

  it('-r refuses changes with the read-only error and still runs the rest', async function () {
    if (skipReason) this.skip();
    const line = `define ${D}/new1.xml; start test; destroy test; list`;
    const [virsh, virtnode] = await Promise.all([
      run('virsh', ['-r', '-c', 'test:///default', line]),
      run(process.execPath, [bin, '-r', '-c', 'test:///default', line]),
    ]);
    assert.equal(virtnode.stderr, virsh.stderr);
    assert.equal(virtnode.stdout, virsh.stdout);
    assert.equal(virtnode.status, virsh.status);
  });

  it('the bundled fast path and the plain lib/ modules print the same', async function () {
    if (skipReason) this.skip();
    assert.ok(existsSync(path.join(repoRoot, 'lib', 'virtnode-cli.js')), 'lib/virtnode-cli.js is built (esbuild from tsx)');
    const line = `define ${D}/new1.xml; start new1; list --all; domstate new1 --reason; net-list --all; nodedev-dumpxml computer; dominfo nosuch`;
    const [bundled, plain] = await Promise.all([
      run(process.execPath, [bin, '-c', 'test:///default', line]),
      run(process.execPath, [bin, '-c', 'test:///default', line], cleanEnv({ VIRTNODE_NO_BUNDLE: '1' })),
    ]);
    assert.equal(bundled.stdout, plain.stdout);
    assert.equal(bundled.stderr, plain.stderr);
    assert.equal(bundled.status, plain.status);
    assert.match(bundled.stdout, /Domain 'new1' started/);
  });

  it('global option errors read as virsh words them', async function () {
    if (skipReason) this.skip();
    for (const args of [['-c'], ['-x'], ['--connect']]) {
      const [virsh, virtnode] = await Promise.all([run('virsh', args), run(process.execPath, [bin, ...args])]);
      assert.equal(virtnode.stderr, virsh.stderr, args.join(' '));
      assert.equal(virtnode.status, virsh.status, args.join(' '));
    }
  });
});
