// The interactive shell, driven through a pseudo-terminal (python3's pty module) the way a person
// uses it: banner, prompt, commands whose state carries over from line to line, errors, history
// recalled with the up arrow and saved between sessions, quit and end of input.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bin, cleanEnv, ensureBuilt } from './harness';

const PYTHON = '/usr/bin/python3';

/**
 * Runs argv under a pty; each step waits until `expect` has appeared in the output since the
 * previous step, then types `send`. Returns everything the terminal showed and the exit status.
 */
const DRIVER = String.raw`
import json, os, pty, select, sys, time
argv, steps = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out = b''
def pump(timeout):
    global out
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return False
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        return None
    if not chunk:
        return None
    out += chunk
    return True
since = 0
for step in steps:
    deadline = time.time() + 15
    while step['expect'].encode() not in out[since:]:
        if time.time() > deadline or pump(0.2) is None:
            print(json.dumps({'output': out.decode('utf8', 'replace'), 'status': None, 'stuck': step['expect']}))
            sys.exit(0)
    since = len(out)
    os.write(fd, step['send'].encode())
deadline = time.time() + 15
while time.time() < deadline:
    if pump(0.2) is None:
        break
_, status = os.waitpid(pid, 0)
print(json.dumps({'output': out.decode('utf8', 'replace'), 'status': os.waitstatus_to_exitcode(status)}))
`;

interface Step {
  expect: string;
  send: string;
}

function drive(args: string[], steps: Step[], env: NodeJS.ProcessEnv): Promise<{ output: string; status: number | null; stuck?: string }> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', DRIVER, JSON.stringify([process.execPath, bin, ...args]), JSON.stringify(steps)], { env, timeout: 60_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as { output: string; status: number | null });
    });
  });
}

/** Terminal output without carriage returns and escape sequences. */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

describe('virtnode CLI: interactive shell in a pseudo-terminal', function () {
  this.timeout(90_000);
  let cache: string;
  let env: NodeJS.ProcessEnv;

  before(function () {
    if (!existsSync(PYTHON)) this.skip(); // python3 (Debian package python3) drives the pty
    ensureBuilt();
    cache = mkdtempSync(path.join(tmpdir(), 'virtnode-shell-'));
    env = cleanEnv({ XDG_CACHE_HOME: cache, TERM: 'xterm' });
  });

  after(() => {
    if (cache) rmSync(cache, { recursive: true, force: true });
  });

  it('greets, prompts, runs commands with state kept between lines, reports errors, and quits', async () => {
    const r = await drive(
      ['-c', 'test:///default'],
      [
        { expect: 'virtnode # ', send: 'list\r' },
        { expect: 'virtnode # ', send: 'destroy test\r' },
        { expect: 'virtnode # ', send: 'domstate test --reason\r' },
        { expect: 'virtnode # ', send: 'foo\r' },
        { expect: 'virtnode # ', send: 'start test; domid test\r' },
        { expect: 'virtnode # ', send: 'cd /tmp; pwd\r' },
        { expect: 'virtnode # ', send: 'connect test:///default --readonly; uri\r' },
        { expect: 'virtnode > ', send: 'quit\r' },
      ],
      env,
    );
    assert.equal(r.stuck, undefined, plain(r.output));
    const out = plain(r.output);
    assert.match(out, /Welcome to virtnode, the virtualization interactive terminal\.\n\nType:  'help' for help with commands\n {7}'quit' to quit\n/);
    assert.match(out, / Id {3}Name {3}State\n-+\n 1 {4}test {3}running\n/);
    assert.match(out, /Domain 'test' destroyed\n/);
    assert.match(out, /shut off \(destroyed\)\n/);
    assert.match(out, /error: unknown command: 'foo'\n/);
    assert.match(out, /Domain 'test' started\n\n2\n/, 'the test node keeps counting ids within one shell');
    assert.match(out, /\n\/tmp\n/, 'cd works in the shell');
    assert.match(out, /\ntest:\/\/\/default\n\nvirtnode > /, 'connect --readonly switches to the read-only prompt');
    assert.equal(r.status, 0);
  });

  it('recalls the previous line with the up arrow and keeps history across sessions', async () => {
    const first = await drive(
      ['-c', 'test:///default'],
      [
        { expect: 'virtnode # ', send: 'domuuid test\r' },
        { expect: 'virtnode # ', send: '\x1b[A' },
        { expect: 'domuuid test', send: '\r' },
        { expect: 'virtnode # ', send: 'exit\r' },
      ],
      env,
    );
    const uuids = plain(first.output).match(/6695eb01-f6a4-8304-79aa-97f2502e193f\n/g) ?? [];
    assert.equal(uuids.length, 2, plain(first.output));
    const history = readFileSync(path.join(cache, 'virtnode', 'history'), 'utf8');
    assert.match(history, /domuuid test\n/);

    const second = await drive(
      ['-c', 'test:///default'],
      [
        { expect: 'virtnode # ', send: '\x1b[A\x1b[A' },
        { expect: 'domuuid test', send: '\r' },
        { expect: 'virtnode # ', send: 'quit\r' },
      ],
      env,
    );
    assert.match(plain(second.output), /6695eb01-f6a4-8304-79aa-97f2502e193f\n/);
  });

  it('shows the read-only prompt with -r and refuses changes', async () => {
    const r = await drive(
      ['-r', '-c', 'test:///default'],
      [
        { expect: 'virtnode > ', send: 'destroy test\r' },
        { expect: 'virtnode > ', send: 'help domid\r' },
        { expect: 'virtnode > ', send: 'quit\r' },
      ],
      env,
    );
    const out = plain(r.output);
    assert.match(out, /error: Failed to destroy domain 'test'\nerror: operation forbidden: read only access prevents virDomainDestroy\n/);
    assert.match(out, / {2}NAME\n {4}domid - convert a domain name or UUID to domain id\n/);
  });

  it('reads commands from a pipe like virsh does, with its own name in banner and prompt', async function () {
    if (spawnSync('virsh', ['--version']).status !== 0) this.skip(); // needs libvirt-clients
    const input = 'list\nfoo\ndestroy test\ndomstate test --reason\nnet-list --all\n';
    const feed = (file: string, args: string[]) =>
      new Promise<{ stdout: string; stderr: string }>((resolve) => {
        const child = spawn(file, args, { env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', () => resolve({ stdout, stderr }));
        child.stdin.end(input);
      });
    const [virsh, virtnode] = await Promise.all([
      feed('virsh', ['-c', 'test:///default']),
      feed(process.execPath, [bin, '-c', 'test:///default']),
    ]);
    assert.equal(virtnode.stdout, virsh.stdout.replace(/virsh/g, 'virtnode'));
    assert.equal(virtnode.stderr, virsh.stderr.replace(/^Authorization not available.*\n/m, ''));
  });

  it('leaves on end of input (Ctrl-D)', async () => {
    const r = await drive(['-c', 'test:///default'], [{ expect: 'virtnode # ', send: '\x04' }], env);
    assert.equal(r.stuck, undefined);
    assert.equal(r.status, 0);
  });
});
