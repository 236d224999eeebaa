import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  formatDeviceArg,
  formatNetdevArg,
  formatObjectArg,
  formatQemuJSON,
  formatQemuKeyValue,
  QemuProps,
  QemuPropValue,
} from '../../../src/drivers/qemu/props';
import { splitEnvAndArgv, splitShellWords } from '../../support/shell-words';

const argvDir = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'libvirt-9.0-tests', 'qemuxml2argvdata');

/** JSON.parse, but integers beyond double precision come back as bigints. */
function parseExact(text: string): QemuPropValue {
  const marked = text.replace(/("(?:[^"\\]|\\.)*")|(-?\d{16,})(?=[,}\]])/g, (m, str: string | undefined, big: string | undefined) =>
    str !== undefined ? str : `{"$bigint":"${big}"}`,
  );
  const revive = (v: unknown): QemuPropValue => {
    if (Array.isArray(v)) return v.map(revive);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$bigint === 'string' && Object.keys(o).length === 1) return BigInt(o.$bigint);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
    }
    return v as QemuPropValue;
  };
  return revive(JSON.parse(marked));
}

function jsonArgsOfCorpus(): { option: string; value: string; file: string }[] {
  if (!fs.existsSync(argvDir)) return [];
  const out: { option: string; value: string; file: string }[] = [];
  for (const file of fs.readdirSync(argvDir).filter((f) => f.endsWith('.args'))) {
    const { argv } = splitEnvAndArgv(splitShellWords(fs.readFileSync(path.join(argvDir, file), 'utf8')));
    for (let i = 1; i < argv.length; i++) {
      if (argv[i].startsWith('{')) out.push({ option: argv[i - 1], value: argv[i], file });
    }
  }
  return out;
}

describe('drivers/qemu/props: -device/-object/-netdev property syntax', () => {
  const corpus = jsonArgsOfCorpus();

  it(`writes every JSON argument of libvirt's expectations identically (${corpus.length} arguments)`, function () {
    if (corpus.length === 0) this.skip();
    const different = corpus.filter(({ value }) => formatQemuJSON(parseExact(value)) !== value);
    assert.deepEqual(different, []);
    assert.ok(corpus.length > 2000);
  });

  it('keeps 64-bit integers exact (scsi wwn)', () => {
    const props: QemuProps = { driver: 'scsi-hd', id: 'scsi0-0-0-0', wwn: 5764824127192592813n, skipped: undefined };
    assert.equal(formatQemuJSON(props), '{"driver":"scsi-hd","id":"scsi0-0-0-0","wwn":5764824127192592813}');
    assert.equal(formatDeviceArg(props, false), 'scsi-hd,id=scsi0-0-0-0,wwn=5764824127192592813');
  });

  it("writes the key=value lines of libvirt's teaming expectations", () => {
    const nic: QemuProps = {
      driver: 'virtio-net-pci',
      failover: true,
      netdev: 'hostua-backup0',
      id: 'ua-backup0',
      mac: '00:11:22:33:44:55',
      bus: 'pci.0',
      addr: '0x3',
    };
    assert.equal(
      formatDeviceArg(nic, false),
      'virtio-net-pci,failover=on,netdev=hostua-backup0,id=ua-backup0,mac=00:11:22:33:44:55,bus=pci.0,addr=0x3',
    );
    assert.equal(
      formatDeviceArg(nic, true),
      '{"driver":"virtio-net-pci","failover":true,"netdev":"hostua-backup0","id":"ua-backup0","mac":"00:11:22:33:44:55","bus":"pci.0","addr":"0x3"}',
    );
    const vfio: QemuProps = {
      driver: 'vfio-pci',
      host: '0000:03:07.1',
      id: 'hostdev0',
      failover_pair_id: 'ua-backup0',
      bus: 'pci.0',
      addr: '0x5',
    };
    assert.equal(formatDeviceArg(vfio, false), 'vfio-pci,host=0000:03:07.1,id=hostdev0,failover_pair_id=ua-backup0,bus=pci.0,addr=0x5');
    const ide: QemuProps = { driver: 'ide-hd', bus: 'ide.0', unit: 0, drive: 'libvirt-1-format', id: 'ide0-0-0', bootindex: 1 };
    assert.equal(formatDeviceArg(ide, false), 'ide-hd,bus=ide.0,unit=0,drive=libvirt-1-format,id=ide0-0-0,bootindex=1');
    assert.equal(formatNetdevArg({ type: 'user', id: 'hostua-backup0' }, false), 'user,id=hostua-backup0');
    assert.equal(formatNetdevArg({ type: 'user', id: 'hostua-backup0' }, true), '{"type":"user","id":"hostua-backup0"}');
    const secret: QemuProps = {
      'qom-type': 'secret',
      id: 'masterKey0',
      format: 'raw',
      file: '/tmp/lib/domain--1-QEMUGuest1/master-key.aes',
    };
    assert.equal(formatObjectArg(secret, false), 'secret,id=masterKey0,format=raw,file=/tmp/lib/domain--1-QEMUGuest1/master-key.aes');
    assert.equal(
      formatObjectArg(secret, true),
      '{"qom-type":"secret","id":"masterKey0","format":"raw","file":"/tmp/lib/domain--1-QEMUGuest1/master-key.aes"}',
    );
  });

  it('spells arrays, nested objects and commas the way each option expects', () => {
    assert.equal(
      formatObjectArg({ 'qom-type': 'memory-backend-ram', id: 'ram-node0', size: 1048576, 'host-nodes': [0, 1, 2, 3, 5], policy: 'bind' }, false),
      'memory-backend-ram,id=ram-node0,size=1048576,host-nodes=0-3,host-nodes=5,policy=bind',
    );
    assert.equal(
      formatNetdevArg({ type: 'user', id: 'n0', hostfwd: [{ str: 'tcp::2222-:22' }, { str: 'udp::53-:53' }] }, false),
      'user,id=n0,hostfwd=tcp::2222-:22,hostfwd=udp::53-:53',
    );
    assert.equal(formatDeviceArg({ driver: 'x', list: ['a', 'b'] }, false), 'x,list.0=a,list.1=b');
    assert.equal(formatDeviceArg({ driver: 'x', cache: { direct: true, 'no-flush': false } }, false), 'x,cache.direct=on,cache.no-flush=off');
    assert.equal(formatDeviceArg({ driver: 'x', serial: 'a,b' }, false), 'x,serial=a,,b');
    assert.throws(() => formatQemuKeyValue({ id: 'x' }, 'driver', 'numbered'), /missing 'driver'/);
    assert.throws(() => formatDeviceArg({ driver: 'x', l: [[1]] }, false), /nested JSON array/);
    assert.throws(() => formatDeviceArg({ driver: 'x', backing: null }, false), /NULL JSON type/);
    assert.equal(formatQemuJSON({ driver: 'qcow2', backing: null }), '{"driver":"qcow2","backing":null}');
  });
});
