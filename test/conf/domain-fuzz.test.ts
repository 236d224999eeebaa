// Hostile input: every mutation of the fixtures must give a DomainDef or a VirError, never another
// exception, and quickly.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatDomainXML, parseDomainXML } from '../../src/conf/domain';
import { parseXML } from '../../src/conf/xml';
import { VirError } from '../../src/error';

const dataDir = path.join(__dirname, '..', 'data', 'domain');
const sharedDir = path.resolve(__dirname, '..', '..', '..', 'shared', 'libvirt-9.0-tests', 'qemuxml2xmloutdata');

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seeds(): string[] {
  const own = readdirSync(dataDir).filter((f) => f.endsWith('.xml')).map((f) => readFileSync(path.join(dataDir, f), 'utf8'));
  let shared: string[] = [];
  try {
    shared = readdirSync(sharedDir).slice(0, 40).map((f) => readFileSync(path.join(sharedDir, f), 'utf8'));
  } catch {
    // libvirt's data is optional for this test
  }
  return [...own, ...shared];
}

const TAGS = /<[^<>]+>/g;

function mutate(src: string, r: () => number): string {
  const pick = (n: number): number => Math.floor(r() * n);
  const tags = src.match(TAGS) ?? [];
  switch (pick(12)) {
    case 0:
      return src.slice(0, pick(src.length));
    case 1: {
      const chars = [...src];
      for (let i = 0; i < 1 + pick(8); i++) chars[pick(chars.length)] = String.fromCharCode(pick(256));
      return chars.join('');
    }
    case 2: {
      const t = tags[pick(tags.length)] ?? '<x>';
      const at = src.indexOf(t);
      return src.slice(0, at) + t + src.slice(at);
    }
    case 3: {
      const t = tags[pick(tags.length)] ?? '<x>';
      return src.replace(t, '');
    }
    case 4:
      return `${'<a>'.repeat(300 + pick(2000))}${src}`;
    case 5:
      return `<!DOCTYPE domain [<!ENTITY big "${'x'.repeat(100)}"><!ENTITY a "&big;&big;">]>${src.replace('<name>', '<name>&a;')}`;
    case 6:
      return src.replace(/'[^']*'/, () => `'${['&#0;', '&#xFFFFFFFF;', '&unknown;', '&amp', '\u0000', '-1', '99999999999999999999', ''][pick(8)]}'`);
    case 7:
      return src.replace(/>([^<>]+)</, () => `>${['', ' ', '-1', '0x', '1e9999', 'ü€😀', '18446744073709551616', 'a/b'][pick(8)]}<`);
    case 8:
      return src.replace(/<devices>/, `<devices>${'<disk type="file"><target dev="sda"/></disk>'.repeat(pick(50))}`);
    case 9:
      return src.replace(/ (\w+)='/, (_m, a: string) => ` ${a}='x' ${a}='`);
    case 10:
      return src.replace('<domain', '<domain xmlns:q="urn:q"').replace('</domain>', '<q:x><q:y a="1"/></q:x></domain>');
    default: {
      const a = pick(src.length);
      const b = pick(src.length);
      return src.slice(0, Math.min(a, b)) + src.slice(Math.max(a, b));
    }
  }
}

describe('conf/domain: fuzzing the parser', () => {
  it('yields a DomainDef or a VirError for every mutated input, in bounded time', function () {
    this.timeout(60000);
    const r = rng(0xc0ffee);
    const inputs = seeds();
    assert.ok(inputs.length >= 5);
    let parsed = 0;
    let rejected = 0;
    let slowest = 0;
    for (let i = 0; i < 4000; i++) {
      const src = inputs[i % inputs.length];
      let text = mutate(src, r);
      if (r() < 0.3) text = mutate(text, r);
      const start = process.hrtime.bigint();
      try {
        const def = parseDomainXML(text, { userAliases: true });
        formatDomainXML(def);
        parsed++;
      } catch (err) {
        if (!(err instanceof VirError)) {
          assert.fail(`non-VirError ${String((err as Error)?.stack ?? err)} for input:\n${text.slice(0, 400)}`);
        }
        rejected++;
      }
      slowest = Math.max(slowest, Number(process.hrtime.bigint() - start) / 1e6);
    }
    assert.ok(parsed > 100, `only ${parsed} mutations parsed`);
    assert.ok(rejected > 100, `only ${rejected} mutations rejected`);
    assert.ok(slowest < 500, `slowest input took ${slowest.toFixed(1)} ms`);
  });

  it('rejects nesting deeper than the parser bound with a VirError', () => {
    const deep = `<domain type='test'><name>d</name>${'<x>'.repeat(100000)}${'</x>'.repeat(100000)}</domain>`;
    assert.throws(() => parseDomainXML(deep), (e: unknown) => e instanceof VirError && e.code === 35);
  });

  it('never expands entities', () => {
    const bomb = `<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><domain type='test'><name>&b;</name><memory>1</memory><os><type>hvm</type></os></domain>`;
    assert.throws(() => parseDomainXML(bomb), (e: unknown) => e instanceof VirError && e.code === 27);
  });
});

describe('conf/xml: the parser fast paths keep libxml2-style reports', () => {
  const fails = (text: string): string => {
    try {
      parseXML(text, '(x)');
    } catch (err) {
      assert.ok(err instanceof VirError);
      return `${err.code}: ${err.message}`;
    }
    return 'parsed';
  };

  it('reports lines and columns of errors deep in a document', () => {
    assert.equal(fails('<a>\n<b>\n</c></a>'), '35: (x):3: Opening and ending tag mismatch: b line 2 and c\n</c></a>\n----^');
    assert.equal(fails("<a>\n\n<b x='1'\ny='2'>\n\n</b>\n<c>]]></c></a>"), "35: (x):7: Sequence ']]>' not allowed in content\n<c>]]></c></a>\n-----^");
    assert.equal(fails('<a>\u0001</a>'), '35: (x):1: PCDATA invalid Char value 1\n<a>\u0001</a>\n---^');
  });

  it('normalises line ends in text and white space in attributes', () => {
    const el = parseXML("<a b='x\ty\r\nz'>l1\r\nl2\rl3 &lt;&#x41;\u00e9\ud83d\ude00</a>", '(x)');
    assert.equal(el.attrs.get('b'), 'x y z');
    assert.deepEqual(el.children, [{ text: 'l1\nl2\nl3 <A\u00e9\ud83d\ude00' }]);
  });
});
