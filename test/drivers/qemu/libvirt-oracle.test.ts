// virtnode's domainXMLToNative against libvirt 9.0's own, run here: Debian's QEMU driver embedded
// in a python3-libvirt process (test/support/libvirt-qemu-oracle.*), each on an embed root of its
// own, both probing the same installed QEMU. Inputs: our definitions in test/data/qemu-oracle/
// (machine types and topology, chardevs, interfaces, PCI and USB passthrough, disks, controllers,
// graphics and video, and definitions both must refuse), the benchmark's domain, and libvirt's
// qemuxml2argv inputs listed in libvirt-oracle-agreeing.txt (read from ../shared when present).
// The two command lines must be equal but for the embed roots and the numbers of the tap and
// vhost-net fds libvirt opens (virtnode opens none); refusals must carry the same code, domain
// and message.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect } from '../../../src/connect';
import { VirError } from '../../../src/error';
import { benchDomainXML } from '../../../bench/native.bench';
import {
  forVirtType,
  LibvirtUnavailable,
  libvirtOracleHostMissing,
  readCaseList,
  runLibvirtOracle,
  type OracleReply,
  type OracleResult,
} from '../../support/libvirt-qemu-oracle';
import { virtType } from '../../support/qemu';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const ownDir = path.join(repoRoot, 'test', 'data', 'qemu-oracle');
const goldenDir = path.resolve(repoRoot, '..', 'shared', 'libvirt-9.0-tests', 'qemuxml2argvdata');

type Answer = { argv: string } | { code: number; domain: number; message: string };

const ownCases = fs
  .readdirSync(ownDir)
  .filter((f) => f.endsWith('.xml'))
  .sort()
  .map((f) => ({ name: f.slice(0, -'.xml'.length), file: path.join(ownDir, f) }));
const goldenCases = fs.existsSync(goldenDir)
  ? readCaseList(path.join(__dirname, 'libvirt-oracle-agreeing.txt')).map((name) => ({ name: `golden/${name}`, file: path.join(goldenDir, `${name}.xml`) }))
  : [];

/** What may differ: the embed root each side used, and the numbers of fds libvirt opened. */
function normalise(argv: string, root: string): string {
  return argv.split(root).join('<root>').replace(/"(fd|vhostfd)":"\d+"/g, '"$1":"<fd>"');
}

function fromLibvirt(r: OracleResult, root: string): Answer | { crashed: string } {
  if ('argv' in r) return { argv: normalise(r.argv, root) };
  if ('error' in r) return { code: r.code, domain: r.domain, message: r.error };
  return r;
}

describe('drivers/qemu: domxml-to-native against libvirt 9.0 on the same QEMU', function () {
  this.timeout(180_000);
  const libvirt = new Map<string, Answer | { crashed: string }>();
  const virtnode = new Map<string, Answer>();

  before(async function () {
    const missing = libvirtOracleHostMissing();
    if (missing) {
      console.log(`      (skipped: ${missing})`);
      this.skip();
    }
    // Without KVM both sides get the definitions as plain QEMU (TCG) guests.
    const accel = virtType();
    const cases = [...ownCases, ...goldenCases].map(({ name, file }) => {
      return { name, xml: forVirtType(fs.readFileSync(file, 'utf8'), accel) };
    });
    cases.push({ name: 'bench-domain', xml: accel === 'kvm' ? benchDomainXML() : benchDomainXML().replace("type='kvm'", "type='qemu'") });

    let reply: OracleReply;
    try {
      reply = runLibvirtOracle({ cases });
    } catch (e) {
      if (!(e instanceof LibvirtUnavailable)) throw e;
      console.log(`      (skipped: ${e.message})`);
      this.skip();
    }
    for (const [name, r] of reply.results) libvirt.set(name, fromLibvirt(r, reply.root));

    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-oracle-'));
    const conn = await Connect.open(`qemu:///embed?root=${root}`);
    try {
      for (const { name, xml } of cases) {
        try {
          virtnode.set(name, { argv: normalise(await conn.domainXMLToNative('qemu-argv', xml), root) });
        } catch (e) {
          if (!(e instanceof VirError)) throw e;
          virtnode.set(name, { code: e.code, domain: e.domain, message: e.message });
        }
      }
    } finally {
      await conn.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  function agrees(name: string): void {
    const theirs = libvirt.get(name);
    assert.ok(theirs && !('crashed' in theirs), `libvirt gave no answer for ${name}: ${JSON.stringify(theirs)}`);
    assert.deepEqual(virtnode.get(name), theirs);
  }

  for (const { name, file } of ownCases) {
    const refusal = name.startsWith('reject-');
    it(`${name}: ${refusal ? 'refused with libvirt\'s error' : 'the same command line'}`, function () {
      agrees(name);
      // The definitions say what they are for: a refusal must be one, a guest must start.
      assert.equal('message' in virtnode.get(name)!, refusal, `${path.basename(file)}: ${JSON.stringify(virtnode.get(name))}`);
    });
  }

  it('the benchmark\'s 15-device guest: the same command line', () => {
    agrees('bench-domain');
    assert.ok('argv' in virtnode.get('bench-domain')!);
  });

  describe('libvirt\'s own qemuxml2argv inputs', () => {
    if (goldenCases.length === 0) {
      it.skip(`needs libvirt's test data in ${goldenDir}`);
      return;
    }
    for (const { name } of goldenCases) it(name.slice('golden/'.length), () => agrees(name));
  });
});
