import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildChardevArg, ChardevBackend, ChardevLog } from '../../../src/drivers/qemu/chardev';
import { escapeOptionValue } from '../../../src/drivers/qemu/props';

const argvDir = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'libvirt-9.0-tests', 'qemuxml2argvdata');

/** Every `-chardev` value libvirt's x86_64-latest expectations contain. */
function libvirtChardevValues(): Set<string> {
  const values = new Set<string>();
  if (!fs.existsSync(argvDir)) return values;
  for (const file of fs.readdirSync(argvDir).filter((f) => f.endsWith('.x86_64-latest.args'))) {
    for (const line of fs.readFileSync(path.join(argvDir, file), 'utf8').split('\n')) {
      const m = /^-chardev (\S+)(?: \\)?$/.exec(line);
      if (m) values.add(m[1]);
    }
  }
  return values;
}

const CASES: [string, ChardevBackend, ChardevLog | undefined, string][] = [
  ['charmonitor', { type: 'unix', fd: 1729, listen: true }, undefined, 'socket,id=charmonitor,fd=1729,server=on,wait=off'],
  ['charserial0', { type: 'pty' }, undefined, 'pty,id=charserial0'],
  ['charserial0', { type: 'vc' }, undefined, 'vc,id=charserial0'],
  ['charserial0', { type: 'dev', path: '/dev/ttyS2' }, undefined, 'serial,id=charserial0,path=/dev/ttyS2'],
  ['charparallel0', { type: 'dev', path: '/dev/parport0' }, undefined, 'parallel,id=charparallel0,path=/dev/parport0'],
  [
    'charserial0',
    { type: 'tcp', host: '127.0.0.1', service: '9999', telnet: true, listen: true },
    undefined,
    'socket,id=charserial0,host=127.0.0.1,port=9999,telnet=on,server=on,wait=off',
  ],
  [
    'charserial1',
    { type: 'tcp', host: '127.0.0.1', service: '5555', tlsCreds: 'objcharserial1_tls0' },
    undefined,
    'socket,id=charserial1,host=127.0.0.1,port=5555,tls-creds=objcharserial1_tls0',
  ],
  ['charredir0', { type: 'tcp', host: 'localhost', service: '4000' }, undefined, 'socket,id=charredir0,host=localhost,port=4000'],
  ['charserial0', { type: 'unix', path: '/tmp/serial.sock' }, undefined, 'socket,id=charserial0,path=/tmp/serial.sock'],
  ['charserial1', { type: 'unix', fd: 1729, listen: true }, undefined, 'socket,id=charserial1,fd=1729,server=on,wait=off'],
  ['charnet0', { type: 'unix', path: '/tmp/vhost0.sock', listen: true, wait: true }, undefined, 'socket,id=charnet0,path=/tmp/vhost0.sock,server=on'],
  [
    'chr-vu-virtio-disk1',
    { type: 'unix', path: '/tmp/vhost1.sock', reconnect: 10 },
    undefined,
    'socket,id=chr-vu-virtio-disk1,path=/tmp/vhost1.sock,reconnect=10',
  ],
  [
    'charserial0',
    { type: 'udp', connectHost: '127.0.0.1', connectService: '2222', bindHost: '127.0.0.1', bindService: '1111' },
    undefined,
    'udp,id=charserial0,host=127.0.0.1,port=2222,localaddr=127.0.0.1,localport=1111',
  ],
  ['charserial1', { type: 'file', path: '/dev/fdset/0', append: true }, undefined, 'file,id=charserial1,path=/dev/fdset/0,append=on'],
  [
    'charserial0',
    { type: 'file', path: '/dev/fdset/0', append: true },
    { file: '/dev/fdset/1', append: true },
    'file,id=charserial0,path=/dev/fdset/0,append=on,logfile=/dev/fdset/1,logappend=on',
  ],
  ['charredir1', { type: 'spicevmc', name: 'usbredir' }, undefined, 'spicevmc,id=charredir1,name=usbredir'],
  ['charchannel1', { type: 'spicevmc', name: 'vdagent' }, undefined, 'spicevmc,id=charchannel1,name=vdagent'],
  [
    'charserial0',
    { type: 'spiceport', channel: 'org.qemu.console.serial.0' },
    undefined,
    'spiceport,id=charserial0,name=org.qemu.console.serial.0',
  ],
  [
    'charchannel0',
    { type: 'qemu-vdagent', clipboard: false, mouse: false },
    undefined,
    'qemu-vdagent,id=charchannel0,name=vdagent,clipboard=off,mouse=off',
  ],
];

describe('drivers/qemu/chardev: -chardev values (qemuBuildChardevStr)', () => {
  const seen = libvirtChardevValues();

  for (const [id, backend, log, expected] of CASES) {
    it(`${backend.type} ${id} -> ${expected}`, () => {
      const value = buildChardevArg(id, backend, log);
      assert.equal(value, expected);
      if (seen.size > 0) assert.ok(seen.has(value), 'a value libvirt 9.0 emits in its x86_64-latest tests');
    });
  }

  it('never writes a short-form boolean', () => {
    for (const [id, backend, log] of CASES) {
      const value = buildChardevArg(id, backend, log);
      for (const option of value.split(',').slice(1)) {
        assert.match(option, /=/, `'${option}' in ${value}`);
      }
    }
  });

  it('spells the cases libvirt 9.0 changed from 7.0 as on/off, and reconnect=0 when disabled', () => {
    assert.equal(
      buildChardevArg('x', { type: 'unix', path: '/tmp/rt/x.sock', listen: true }),
      'socket,id=x,path=/tmp/rt/x.sock,server=on,wait=off',
    );
    assert.equal(
      buildChardevArg('charserial0', { type: 'tcp', host: '127.0.0.1', service: '4555', telnet: true, listen: true, reconnect: 0 }),
      'socket,id=charserial0,host=127.0.0.1,port=4555,telnet=on,server=on,wait=off,reconnect=0',
    );
    assert.equal(
      buildChardevArg('charserial2', { type: 'file', path: '/tmp/serial.log', append: true }, { file: '/tmp/serial-log.log', append: false }),
      'file,id=charserial2,path=/tmp/serial.log,append=on,logfile=/tmp/serial-log.log,logappend=off',
    );
    assert.equal(buildChardevArg('c', { type: 'null' }), 'null,id=c');
    assert.equal(buildChardevArg('c', { type: 'pipe', path: '/tmp/p' }), 'pipe,id=c,path=/tmp/p');
    assert.equal(buildChardevArg('c', { type: 'udp', connectService: '53' }), 'udp,id=c,host=,port=53,localaddr=,localport=0');
  });

  it('doubles commas inside paths', () => {
    assert.equal(escapeOptionValue('/tmp/ser,ial.sock'), '/tmp/ser,,ial.sock');
    assert.equal(
      buildChardevArg('charserial1', { type: 'unix', path: '/tmp/ser,ial.sock', listen: true }),
      'socket,id=charserial1,path=/tmp/ser,,ial.sock,server=on,wait=off',
    );
  });

  it('covers most distinct -chardev values of the expectations', function () {
    if (seen.size === 0) this.skip();
    const built = new Set(CASES.map(([id, backend, log]) => buildChardevArg(id, backend, log)));
    const covered = [...seen].filter((v) => built.has(v)).length;
    assert.ok(covered >= 19, `${covered}/${seen.size}`);
  });
});
