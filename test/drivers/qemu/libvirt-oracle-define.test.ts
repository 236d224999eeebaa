// What defineXML keeps, against libvirt 9.0 on the same QEMU: each definition is defined on an
// embed root of virtnode's and on one of Debian's libvirt QEMU driver (embedded in python3-libvirt,
// test/support/libvirt-qemu-oracle.*, mode 'define'), and the inactive XML each gives back must be
// the same, or both must refuse it with the same code, domain and message. Each is undefined at
// once on both sides: libvirt's inputs share names. Inputs: libvirt's qemuxml2argv inputs (from
// ../shared when present) and our own test/data/qemu-oracle/ definitions, those listed in
// libvirt-oracle-define-agreeing.txt (the list only grows; own ones as qemu-oracle/NAME).
// What may differ is what either side makes up or where it keeps it: a generated UUID, MAC
// (52:54:00:...) or VM generation ID, and the embed roots (NVRAM files live under them).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect } from '../../../src/connect';
import { VIR_DOMAIN_UNDEFINE_KEEP_NVRAM, VIR_DOMAIN_XML_INACTIVE } from '../../../src/constants';
import { Domain } from '../../../src/domain';
import { VirError } from '../../../src/error';
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
const LIST = 'libvirt-oracle-define-agreeing.txt';
const OWN = 'qemu-oracle/';

type Answer = { xml: string } | { code: number; domain: number; message: string };

const listed = readCaseList(path.join(__dirname, LIST));

function fileOf(name: string): string {
  return name.startsWith(OWN) ? path.join(ownDir, `${name.slice(OWN.length)}.xml`) : path.join(goldenDir, `${name}.xml`);
}

const haveGolden = fs.existsSync(goldenDir);
const cases = listed.filter((name) => haveGolden || name.startsWith(OWN));

/** Made-up values and the embed root; a VM generation ID only when the input asked for a new one. */
function normalise(xml: string, root: string, input: string): string {
  let out = xml
    .split(root)
    .join('<root>')
    .replace(/52:54:00(:[0-9a-f]{2}){3}/g, '52:54:00:xx:xx:xx');
  if (!/<uuid>/.test(input)) out = out.replace(/<uuid>[0-9a-f-]{36}<\/uuid>/, '<uuid>(generated)</uuid>');
  if (/<genid\s*\/>|<genid><\/genid>/.test(input)) out = out.replace(/<genid>[0-9a-f-]{36}<\/genid>/, '<genid>(generated)</genid>');
  return out;
}

function fromLibvirt(r: OracleResult, root: string, input: string): Answer | { crashed: string } | { argv: string } {
  if ('xml' in r) return { xml: normalise(r.xml, root, input) };
  if ('error' in r) return { code: r.code, domain: r.domain, message: r.error };
  return r;
}

describe('drivers/qemu: the inactive XML after define, against libvirt 9.0 on the same QEMU', function () {
  this.timeout(180_000);
  const libvirt = new Map<string, ReturnType<typeof fromLibvirt>>();
  const virtnode = new Map<string, Answer>();
  let leftOver: string[] = [];

  it(`${LIST} names existing inputs, each once`, () => {
    assert.equal(new Set(listed).size, listed.length, 'duplicate entries');
    for (const name of listed) {
      if (name.startsWith(OWN) || haveGolden) assert.ok(fs.existsSync(fileOf(name)), `${name}: no such input`);
    }
  });

  describe('each listed definition', () => {
    before(async function () {
      const missing = libvirtOracleHostMissing();
      if (missing) {
        console.log(`      (skipped: ${missing})`);
        this.skip();
      }
      // Without KVM both sides get the definitions as plain QEMU (TCG) guests.
      const accel = virtType();
      const inputs = cases.map((name) => {
        return { name, xml: forVirtType(fs.readFileSync(fileOf(name), 'utf8'), accel) };
      });

      let reply: OracleReply;
      try {
        reply = runLibvirtOracle({ cases: inputs, mode: 'define' });
      } catch (e) {
        if (!(e instanceof LibvirtUnavailable)) throw e;
        console.log(`      (skipped: ${e.message})`);
        this.skip();
      }
      const byName = new Map(inputs.map((c) => [c.name, c.xml]));
      for (const [name, r] of reply.results) libvirt.set(name, fromLibvirt(r, reply.root, byName.get(name)!));

      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-oracle-define-'));
      const conn = await Connect.open(`qemu:///embed?root=${root}`);
      try {
        for (const { name, xml } of inputs) {
          try {
            const dom = await Domain.defineXML(conn, xml);
            try {
              virtnode.set(name, { xml: normalise(await dom.getXMLDesc(VIR_DOMAIN_XML_INACTIVE), root, xml) });
            } finally {
              await dom.undefineFlags(VIR_DOMAIN_UNDEFINE_KEEP_NVRAM);
            }
          } catch (e) {
            if (!(e instanceof VirError)) throw e;
            virtnode.set(name, { code: e.code, domain: e.domain, message: e.message });
          }
        }
        leftOver = await conn.listDefinedDomains();
      } finally {
        await conn.close();
        fs.rmSync(root, { recursive: true, force: true });
      }
    });

    it('leaves no definition behind', () => assert.deepEqual(leftOver, []));

    for (const name of cases) {
      it(name, () => {
        const theirs = libvirt.get(name);
        assert.ok(theirs && ('xml' in theirs || 'code' in theirs), `libvirt gave no answer for ${name}: ${JSON.stringify(theirs)}`);
        assert.deepEqual(virtnode.get(name), theirs);
      });
    }
  });
});
