// The CLI's building blocks and its virtnode-only extras: virsh's word splitting and option
// parsing, table and tree layout, --json output, the progress bar and colors (terminals only).
import assert from 'node:assert/strict';
import { ParseError, parseArgv, parseLine, tokenizeString } from '../../src/cli/parse';
import { formatTable, withProgress } from '../../src/cli/output';
import { formatTree } from '../../src/cli/commands/nodedev';
import { Session } from '../../src/cli/session';
import { bin, cleanEnv, ensureBuilt, run } from './harness';

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (text: string) => chunks.push(text) } };
}

describe('virtnode CLI: parsing command lines as virsh does', () => {
  it('splits words with quotes, backslashes, comments and ; separators', () => {
    const words = tokenizeString(`dominfo 'te st' "a\\"b" c\\ d # rest; ignored\nlist;`).map((t) => (t.kind === 'arg' ? t.text : ';'));
    assert.deepEqual(words, ['dominfo', 'te st', 'a"b', 'c d', ';', 'list', ';']);
  });

  it('fills required data options positionally and accepts --opt value and --opt=value', () => {
    const [a, b, c] = parseLine('dominfo test; domstate --reason --domain x; net-info --network=default');
    assert.equal(a.opts.get('domain'), 'test');
    assert.equal(b.opts.get('domain'), 'x');
    assert.equal(b.opts.get('reason'), true);
    assert.equal(c.opts.get('network'), 'default');
  });

  it('collects the rest of the words into an argv option', () => {
    const [cmd] = parseArgv(['qemu-monitor-command', 'vm', '--hmp', 'info', 'status']);
    assert.deepEqual(cmd.opts.get('cmd'), ['info', 'status']);
  });

  it('reports virsh errors for unknown commands and options, repeats, missing values', () => {
    const cases: Array<[string, string]> = [
      ['bogus', "unknown command: 'bogus'"],
      ['list --bogus', "command 'list' doesn't support option --bogus"],
      ['list --all --all', 'option --all already seen'],
      ['list --all=1', "invalid '=' after option --all"],
      ['dominfo', "command 'dominfo' requires <domain> option"],
      ['dominfo --domain', 'expected syntax: --domain <string>'],
      ['dumpxml test /x', "unexpected data '/x'"],
      ['dominfo "x', 'missing "'],
    ];
    for (const [line, message] of cases) assert.throws(() => parseLine(line), (e: Error) => e instanceof ParseError && e.message === message, line);
  });

  it('turns `cmd --help` into `help cmd`', () => {
    const [cmd] = parseLine('start --help');
    assert.equal(cmd.def.name, 'help');
    assert.equal(cmd.opts.get('command'), 'start');
  });
});

describe('virtnode CLI: layout', () => {
  it('pads table columns to their widest cell, the dash line spanning width + 3 per column', () => {
    assert.equal(
      formatTable(['Id', 'Name', 'State'], [['1', 'test', 'running'], ['-', 'longer-name', 'shut off']]),
      ' Id   Name          State\n------------------------------\n 1    test          running\n -    longer-name   shut off\n',
    );
  });

  it('keeps the padding before an empty last cell, and drops the header in quiet mode', () => {
    assert.equal(formatTable(['A', 'Title'], [['x', '']]), ' A   Title\n------------\n x   \n');
    assert.equal(formatTable(null, [['1', 'test', 'running']]), ' 1   test   running\n');
  });

  it('draws device trees with +- branches and | rails', () => {
    const names = ['computer', 'scsi_host1', 'scsi_host11', 'scsi_host2'];
    const parents = [null, 'computer', 'scsi_host1', 'computer'];
    assert.equal(
      formatTree(names, parents),
      ['computer', '  |', '  +- scsi_host1', '  |   |', '  |   +- scsi_host11', '  |     ', '  +- scsi_host2', '    ', ''].join('\n'),
    );
  });
});

describe('virtnode CLI: terminal-only extras', () => {
  it('shows a progress bar only for waits over a second on a terminal, and erases it', async () => {
    const tty = capture(true);
    const slow = new Promise<string>((resolve) => setTimeout(() => resolve('done'), 1300));
    assert.equal(await withProgress('starting domain', slow, tty.stream as unknown as NodeJS.WriteStream), 'done');
    const shown = tty.chunks.join('');
    assert.match(shown, /\r\[.*\] starting domain 1\.\ds/);
    assert.ok(shown.endsWith('\r\x1b[2K'));

    const fastTTY = capture(true);
    await withProgress('quick', Promise.resolve(1), fastTTY.stream as unknown as NodeJS.WriteStream);
    assert.deepEqual(fastTTY.chunks, []);

    const pipe = capture(false);
    await withProgress('slow', new Promise((r) => setTimeout(r, 1100)), pipe.stream as unknown as NodeJS.WriteStream);
    assert.deepEqual(pipe.chunks, []);
  });

  it('colors error: on a terminal only, and never with NO_COLOR', () => {
    const tty = capture(true);
    new Session({ uri: null, readOnly: false, quiet: false, interactive: false, stderr: tty.stream }).error('boom');
    assert.equal(tty.chunks.join(''), '\x1b[31merror:\x1b[0m boom\n');

    const pipe = capture(false);
    new Session({ uri: null, readOnly: false, quiet: false, interactive: false, stderr: pipe.stream }).error('boom');
    assert.equal(pipe.chunks.join(''), 'error: boom\n');

    process.env.NO_COLOR = '1';
    try {
      const plain = capture(true);
      new Session({ uri: null, readOnly: false, quiet: false, interactive: false, stderr: plain.stream }).error('boom');
      assert.equal(plain.chunks.join(''), 'error: boom\n');
    } finally {
      delete process.env.NO_COLOR;
    }
  });
});

describe('virtnode CLI: --json output', function () {
  this.timeout(60_000);
  before(() => ensureBuilt());

  async function json(line: string): Promise<unknown> {
    const r = await run(process.execPath, [bin, '-c', 'test:///default', line], cleanEnv());
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  }

  it('list, dominfo, domstate, domiflist, domblklist', async () => {
    assert.deepEqual(await json('list --all --json'), [
      { id: 1, name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', state: 'running', persistent: true, autostart: false },
    ]);
    const info = (await json('dominfo test --json')) as Record<string, unknown>;
    assert.equal(info.id, 1);
    assert.equal(info.maxMemoryKiB, 8388608);
    assert.equal(info.usedMemoryKiB, 2097152);
    assert.equal(info.cpus, 2);
    assert.deepEqual(info.security, { model: 'testSecurity', doi: '', label: 'libvirt-test', enforcing: true });
    assert.deepEqual(await json('domstate test --json'), { state: 'running', reason: 'unknown', stateCode: 1, reasonCode: 0 });
    assert.deepEqual(await json('domiflist test --json'), [
      { interface: 'testnet0', type: 'network', source: 'default', model: null, mac: 'aa:bb:cc:dd:ee:ff' },
    ]);
    assert.deepEqual(await json('domblklist test --json'), [{ type: 'file', device: 'disk', target: 'vda', source: '/guest/diskimage1' }]);
  });

  it('net-list, net-info, nodeinfo, freecell, version', async () => {
    assert.deepEqual(await json('net-list --all --json'), [
      { name: 'default', uuid: 'dd8fe884-6c02-601e-7551-cca97df1c5df', active: true, autostart: false, persistent: true },
    ]);
    assert.deepEqual(await json('net-info default --json'), {
      name: 'default',
      uuid: 'dd8fe884-6c02-601e-7551-cca97df1c5df',
      active: true,
      persistent: true,
      autostart: false,
      bridge: 'virbr0',
    });
    assert.deepEqual(await json('nodeinfo --json'), { model: 'i686', cpus: 16, mhz: 1400, sockets: 2, cores: 2, threads: 2, nodes: 2, memoryKiB: 3145728 });
    assert.deepEqual(await json('freecell --all --json'), { cells: [{ cell: 0, freeKiB: 2048 }, { cell: 1, freeKiB: 4096 }], totalKiB: 6144 });
    const version = (await json('version --json')) as { hypervisor: unknown; library: { name: string } };
    assert.deepEqual(version.hypervisor, { type: 'TEST', version: '0.0.2' });
    assert.equal(version.library.name, 'virtnode');
  });
});
