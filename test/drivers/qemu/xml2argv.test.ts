// Golden tests against libvirt 9.0's own expectations: for every qemuxml2argvdata/<name>.xml with an
// x86_64-latest .args (real caps 8.0.0) or a fake-caps .args (the teaming cases), the command line
// must equal the file byte for byte; for every qemuxml2xmloutdata/<name>.x86_64-latest.xml, the
// inactive XML after the QEMU post-parse step must equal it. The cases that pass are listed in
// xml2argv-passing.txt / xml2xml-passing.txt: each is its own test, and the lists only grow.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { QemuCaps } from '../../../src/drivers/qemu/capabilities';
import { readCaseList } from '../../support/libvirt-qemu-oracle';
import { FAKE_BASIC_FLAGS, fakeTestCaps, loadTestCaps, xml2argv, xml2xml } from '../../../src/tools/qemu-test-env';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const testsDir = path.resolve(repoRoot, '..', 'shared', 'libvirt-9.0-tests');
const argvDir = path.join(testsDir, 'qemuxml2argvdata');
const xmlOutDir = path.join(testsDir, 'qemuxml2xmloutdata');
const repliesFile = path.join(testsDir, 'qemucapabilitiesdata', 'caps_8.0.0.x86_64.replies');
const LATEST = '.x86_64-latest';

/** libvirt 9.0's DO_TEST flags for the fake-caps cases virtnode checks (tests/qemuxml2argvtest.c). */
const FAKE_CAPS_CASES: Record<string, string[]> = {
  'net-virtio-teaming': ['vfio-pci'],
  'net-virtio-teaming-hostdev': ['vfio-pci'],
};

/** Every case: `<name>.x86_64-latest` (real caps) or `<name>` (fake caps). */
function argvCases(): string[] {
  if (!fs.existsSync(argvDir)) return [];
  const latest = fs
    .readdirSync(argvDir)
    .filter((f) => f.endsWith(`${LATEST}.args`) && fs.existsSync(path.join(argvDir, f.slice(0, -`${LATEST}.args`.length) + '.xml')))
    .map((f) => f.slice(0, -'.args'.length));
  const fake = Object.keys(FAKE_CAPS_CASES).filter((n) => fs.existsSync(path.join(argvDir, `${n}.args`)));
  return [...latest, ...fake].sort();
}

function xmlCases(): string[] {
  if (!fs.existsSync(xmlOutDir)) return [];
  return fs
    .readdirSync(xmlOutDir)
    .filter((f) => f.endsWith(`${LATEST}.xml`) && fs.existsSync(path.join(argvDir, f.slice(0, -`${LATEST}.xml`.length) + '.xml')))
    .map((f) => f.slice(0, -'.xml'.length))
    .sort();
}

async function capsFor(testCase: string): Promise<QemuCaps> {
  if (testCase.endsWith(LATEST)) return loadTestCaps(repliesFile);
  return fakeTestCaps([...FAKE_BASIC_FLAGS, ...FAKE_CAPS_CASES[testCase]], '/usr/bin/qemu-system-x86_64');
}

function inputOf(testCase: string): string {
  const name = testCase.endsWith(LATEST) ? testCase.slice(0, -LATEST.length) : testCase;
  return fs.readFileSync(path.join(argvDir, `${name}.xml`), 'utf8');
}

async function argvOutcome(testCase: string): Promise<{ got?: string; error?: string; expected: string }> {
  const expected = fs.readFileSync(path.join(argvDir, `${testCase}.args`), 'utf8');
  try {
    return { got: await xml2argv(inputOf(testCase), await capsFor(testCase), testCase), expected };
  } catch (e) {
    return { error: (e as Error).message, expected };
  }
}

async function xmlOutcome(testCase: string): Promise<{ got?: string; error?: string; expected: string }> {
  const expected = fs.readFileSync(path.join(xmlOutDir, `${testCase}.xml`), 'utf8');
  try {
    return { got: xml2xml(inputOf(testCase), await capsFor(testCase), testCase), expected };
  } catch (e) {
    return { error: (e as Error).message, expected };
  }
}

function family(testCase: string): string {
  return testCase.replace(LATEST, '').split('-')[0];
}

function summarize(kind: string, results: Array<[string, boolean]>): string {
  const byFamily = new Map<string, [number, number]>();
  for (const [c, ok] of results) {
    const f = family(c);
    const e = byFamily.get(f) ?? [0, 0];
    e[1]++;
    if (ok) e[0]++;
    byFamily.set(f, e);
  }
  const passed = results.filter(([, ok]) => ok).length;
  const fam = [...byFamily].map(([f, [p, t]]) => `${f} ${p}/${t}`).join(', ');
  return `${kind} golden: ${passed} passed / ${results.length} total (${fam})`;
}

function goldenSuite(
  kind: string,
  listFile: string,
  cases: () => string[],
  outcome: (c: string) => Promise<{ got?: string; error?: string; expected: string }>,
): void {
  describe(`${kind} golden files (libvirt 9.0)`, function () {
    if (!fs.existsSync(testsDir)) {
      it.skip(`needs libvirt's test data in ${testsDir}`);
      return;
    }
    const all = cases();
    const passing = readCaseList(path.join(__dirname, listFile));

    it(`${listFile} names existing cases, each once`, function () {
      assert.equal(new Set(passing).size, passing.length, 'duplicate entries');
      for (const c of passing) assert.ok(all.includes(c), `${c} is not a ${kind} case`);
    });

    for (const testCase of passing) {
      it(`${kind} ${testCase}`, async function () {
        const r = await outcome(testCase);
        assert.equal(r.error, undefined, r.error);
        assert.equal(r.got, r.expected);
      });
    }

    it(`reports passed / total over all ${kind} cases, at least the listed ones`, async function () {
      this.timeout(120000);
      const results: Array<[string, boolean]> = [];
      for (const c of all) {
        const r = await outcome(c);
        results.push([c, r.got === r.expected]);
      }
      const line = summarize(kind, results);
      console.log(`      ${line}`);
      const passed = results.filter(([, ok]) => ok).length;
      assert.ok(passed >= passing.length, `${passed} passing cases < ${passing.length} listed`);
    });
  });
}

goldenSuite('xml2argv', 'xml2argv-passing.txt', argvCases, argvOutcome);
goldenSuite('xml2xml', 'xml2xml-passing.txt', xmlCases, xmlOutcome);
