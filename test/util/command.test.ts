import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Command, shellEscape } from '../../src/util/command';
import { splitEnvAndArgv, splitShellWords } from '../support/shell-words';

const repoRoot = path.resolve(__dirname, '..', '..');
const argvDir = path.resolve(repoRoot, '..', 'shared', 'libvirt-9.0-tests', 'qemuxml2argvdata');

function commandFromArgsFile(text: string): Command {
  const { env, argv } = splitEnvAndArgv(splitShellWords(text));
  const cmd = new Command(argv[0]);
  for (const [name, value] of env) cmd.addEnv(name, value);
  cmd.addArgs(...argv.slice(1));
  return cmd;
}

describe('util/command: Command.toString (virCommandToStringBuf)', () => {
  it('quotes words with shell-special characters and escapes embedded quotes', () => {
    assert.equal(shellEscape(''), "''");
    assert.equal(shellEscape('pc,usb=off,dump-guest-core=off'), 'pc,usb=off,dump-guest-core=off');
    assert.equal(shellEscape('{"qom-type":"secret"}'), `'{"qom-type":"secret"}'`);
    assert.equal(shellEscape("/tmp/it's a file.iso"), `'/tmp/it'\\''s a file.iso'`);
    assert.equal(shellEscape('[::]:59630'), "'[::]:59630'");
  });

  it('puts env vars, the binary and each option with its value on their own lines', () => {
    const cmd = new Command('/usr/bin/qemu-system-x86_64')
      .addEnv('LC_ALL', 'C')
      .addEnv('HOME', '/tmp/a b')
      .addArgs('-name', 'guest=x', '-S', '-device', '{"driver":"x"}', '-nodefaults');
    assert.equal(
      cmd.toString({ linebreaks: true }),
      "LC_ALL=C \\\nHOME='/tmp/a b' \\\n/usr/bin/qemu-system-x86_64 \\\n-name guest=x \\\n-S \\\n" +
        `-device '{"driver":"x"}' \\\n-nodefaults`,
    );
    assert.equal(
      cmd.toString({ linebreaks: false }),
      `LC_ALL=C HOME='/tmp/a b' /usr/bin/qemu-system-x86_64 -name guest=x -S -device '{"driver":"x"}' -nodefaults`,
    );
  });

  it('keeps several values on the option line while an option follows, and breaks after the last', () => {
    const cmd = new Command('/bin/x').addArgs('pos0', '-a', 'v1', 'v2', '-b', 'w1', 'w2', 'w3');
    assert.equal(cmd.toString({ linebreaks: true }), '/bin/x \\\npos0 \\\n-a v1 v2 \\\n-b w1 \\\nw2 \\\nw3');
    assert.equal(cmd.toString({ stripCommandPath: true }), 'x pos0 -a v1 v2 -b w1 w2 w3');
  });

  it('rejects an environment entry without a name', () => {
    const cmd = new Command('/bin/true').addEnv('', 'x');
    assert.throws(() => cmd.toString(), { code: 1, message: 'internal error: invalid use of command API' });
  });

  const files = fs.existsSync(argvDir)
    ? fs.readdirSync(argvDir).filter((f) => f.endsWith('.args')).sort()
    : [];

  it(`re-renders every libvirt .args file byte for byte (${files.length} files)`, function () {
    if (files.length === 0) this.skip();
    const mismatched: string[] = [];
    for (const file of files) {
      const expected = fs.readFileSync(path.join(argvDir, file), 'utf8');
      const rendered = commandFromArgsFile(expected).toString({ linebreaks: true }) + '\n';
      if (rendered !== expected) mismatched.push(file);
    }
    assert.deepEqual(mismatched, [], `${files.length - mismatched.length}/${files.length} reproduced`);
    assert.ok(files.length >= 250);
  });
});
