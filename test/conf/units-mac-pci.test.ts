import assert from 'node:assert/strict';
import { parseMemoryKiB, scaleInteger } from '../../src/conf/units';
import { VirError } from '../../src/error';
import { canonicalBitmap, formatBitmap, parseBitmap } from '../../src/util/bitmap';
import { formatMAC, generateMAC, normalizeMAC, parseMAC } from '../../src/util/mac';
import { formatPciAddress, parsePciAddress, pciAddressXmlAttrs } from '../../src/util/pci';

describe('conf/units: libvirt memory units', () => {
  const cases: Array<[string, string | undefined, number]> = [
    ['1', undefined, 1],
    ['1', 'KiB', 1],
    ['1', 'k', 1],
    ['1', 'KB', 1],
    ['1', 'b', 1],
    ['1024', 'bytes', 1],
    ['1', 'M', 1024],
    ['1', 'MB', 977],
    ['1', 'MiB', 1024],
    ['1', 'G', 1048576],
    ['1', 'GB', 976563],
    ['2', 'T', 2147483648],
    ['1', 'PiB', 1099511627776],
  ];
  for (const [value, unit, kib] of cases) {
    it(`${value} ${unit ?? '(KiB)'} = ${kib} KiB`, () => assert.equal(parseMemoryKiB(value, unit, './memory[1]'), kib));
  }
  it('rejects unknown suffixes and overflows like virScaleInteger', () => {
    assert.throws(() => scaleInteger(1n, 'XB', 1024n, 2n ** 63n), (e: unknown) => e instanceof VirError && e.code === 8 && e.message === "invalid argument: unknown suffix 'XB'");
    assert.throws(() => parseMemoryKiB('9', 'EiB', 'x'), (e: unknown) => e instanceof VirError && e.code === 82 && e.message === 'numerical overflow: value too large: 9EiB');
    assert.throws(() => parseMemoryKiB('-1', undefined, './memory[1]'), (e: unknown) => e instanceof VirError && e.code === 27 && e.domain === 5);
  });
});

describe('util/mac', () => {
  it('parses and formats MAC addresses as libvirt does', () => {
    assert.deepEqual(parseMAC('52:54:00:AB:cd:1'), [0x52, 0x54, 0, 0xab, 0xcd, 1]);
    assert.equal(normalizeMAC('52-54-00-AB-cd-01'), '52:54:00:ab:cd:01');
    assert.equal(parseMAC('52:54:00:ab:cd'), null);
    assert.equal(parseMAC('52:54:00:ab:cd:ef:01'), null);
    assert.equal(parseMAC('zz:54:00:ab:cd:ef'), null);
    assert.equal(formatMAC([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]), 'aa:bb:cc:dd:ee:ff');
    assert.match(generateMAC(), /^52:54:00(:[0-9a-f]{2}){3}$/);
  });
});

describe('util/pci', () => {
  it('formats host and XML forms of PCI addresses', () => {
    const a = { domain: 0, bus: 3, slot: 7, function: 1 };
    assert.equal(formatPciAddress(a), '0000:03:07.1');
    assert.deepEqual(parsePciAddress('0000:03:07.1'), a);
    assert.deepEqual(parsePciAddress('03:07.1'), a);
    assert.equal(parsePciAddress('0000:03:20.1'), null);
    assert.deepEqual(pciAddressXmlAttrs(a), [
      ['domain', '0x0000'],
      ['bus', '0x03'],
      ['slot', '0x07'],
      ['function', '0x1'],
      ['multifunction', undefined],
    ]);
  });
});

describe('util/bitmap', () => {
  it('reads and writes CPU/node sets as virBitmapParse/virBitmapFormat', () => {
    assert.deepEqual(parseBitmap('0-3,^2,8'), [0, 1, 3, 8]);
    assert.equal(formatBitmap([0, 1, 3, 8]), '0-1,3,8');
    assert.equal(canonicalBitmap('1-2,5-7,^6'), '1-2,5,7');
    assert.equal(canonicalBitmap('3,1,2'), '1-3');
    assert.equal(parseBitmap('1-'), null);
    assert.equal(canonicalBitmap('x'), 'x');
  });
});
