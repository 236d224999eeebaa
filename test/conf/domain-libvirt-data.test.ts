// Round trips on libvirt 9.0's own xml2xml data (../shared/libvirt-9.0-tests, read in place).
//
// Two numbers are measured:
//  - expected outputs: every qemuxml2xmloutdata/<name>.x86_64-latest.xml (and the teaming files)
//    parsed and formatted again must come back unchanged: it is already canonical, so this checks
//    the parser and formatter alone;
//  - inputs: qemuxml2argvdata/<name>.xml formatted without the QEMU driver's post-parse step
//    (default devices, aliases, PCI addresses) equals the expected output only when the input
//    needs none of those; that count is reported and must not drop.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatDomainXML, parseDomainXML } from '../../src/conf/domain';
import { VIR_DOMAIN_XML_INACTIVE, VIR_DOMAIN_XML_SECURE } from '../../src/constants';

const shared = path.resolve(__dirname, '..', '..', '..', 'shared', 'libvirt-9.0-tests');
const outDir = path.join(shared, 'qemuxml2xmloutdata');
const inDir = path.join(shared, 'qemuxml2argvdata');
// qemuxml2xmltest parses its inputs as live XML (they keep <backingStore index>, which a
// definition loses) and formats with VIR_DOMAIN_DEF_FORMAT_SECURE, inactive.
const FLAGS = VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE;
const LIVE = 0;
const QEMU_LIKE = { userAliases: true };

/** Inputs that format to their expected output with generic defaults only (measured 2026-11-22). */
const MIN_INPUT_MATCHES = 38;

function roundTrip(xml: string): string {
  return formatDomainXML(parseDomainXML(xml, QEMU_LIKE, LIVE), FLAGS);
}

describe('conf/domain: libvirt 9.0 xml2xml data', function () {
  before(function () {
    if (!existsSync(outDir)) this.skip();
  });

  it('formats every expected output file back unchanged', () => {
    const files = readdirSync(outDir).filter((f) => f.endsWith('.xml')).sort();
    const failed: string[] = [];
    for (const f of files) {
      const text = readFileSync(path.join(outDir, f), 'utf8');
      let out: string;
      try {
        out = roundTrip(text);
      } catch (err) {
        out = `error: ${(err as Error).message}`;
      }
      if (out !== text) failed.push(f);
    }
    console.log(`      expected outputs round-tripped: ${files.length - failed.length}/${files.length}`);
    assert.deepEqual(failed, []);
  });

  it('parses every qemuxml2argvdata input that libvirt parses', () => {
    const files = readdirSync(inDir).filter((f) => f.endsWith('.xml')).sort();
    const failed: string[] = [];
    for (const f of files) {
      try {
        parseDomainXML(readFileSync(path.join(inDir, f), 'utf8'), QEMU_LIKE);
      } catch (err) {
        failed.push(`${f}: ${(err as Error).message}`);
      }
    }
    console.log(`      inputs parsed: ${files.length - failed.length}/${files.length}`);
    assert.deepEqual(failed, []);
  });

  it(`formats at least ${MIN_INPUT_MATCHES} inputs exactly as their expected output without QEMU defaults`, () => {
    let total = 0;
    const passed: string[] = [];
    for (const f of readdirSync(outDir).sort()) {
      const name = f.replace(/\.x86_64-latest\.xml$|\.xml$/, '');
      const input = path.join(inDir, `${name}.xml`);
      if (!existsSync(input)) continue;
      total++;
      try {
        if (roundTrip(readFileSync(input, 'utf8')) === readFileSync(path.join(outDir, f), 'utf8')) passed.push(name);
      } catch {
        // counted as not matching
      }
    }
    console.log(`      inputs equal to their expected output: ${passed.length}/${total} (the rest need the QEMU post-parse step)`);
    assert.ok(passed.length >= MIN_INPUT_MATCHES, `${passed.length} < ${MIN_INPUT_MATCHES}`);
    assert.ok(passed.includes('net-virtio-teaming-hostdev'));
  });
});
