// The QMP transport (native/qmp.cc) and the monitor on top (src/drivers/qemu/monitor.ts), against a
// real qemu-system-x86_64 and, for what QEMU will not do on demand, a fake QMP peer on a net server.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

import { QmpCommandError } from '../src/drivers/qemu/qmp-peer';
import { QemuMonitor, type QemuMonitorEvent } from '../src/drivers/qemu/monitor';
import {
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_TIMEOUT,
  VIR_ERR_SYSTEM_ERROR,
  VIR_FROM_QEMU,
  VirError,
} from '../src/error';
import { native } from '../src/native';
import { rejection } from './support/rejection';

const QEMU = 'qemu-system-x86_64';
setFlagsFromString('--expose-gc'); // for the finalizer test: runInNewContext('gc') then works

function qemuInstalled(): boolean {
  return spawnSync(QEMU, ['--version'], { stdio: 'ignore' }).status === 0;
}

function skipWithoutQemu(context: Mocha.Context): void {
  if (qemuInstalled()) return;
  console.log(`      skipped: ${QEMU} not found; install the Debian package qemu-system-x86`);
  context.skip();
}

function kvmUsable(): boolean {
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
    return true;
  } catch {
    return false;
  }
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-qmp-'));
const started = new Set<ChildProcess>();
let socketCounter = 0;

interface Qemu {
  proc: ChildProcess;
  socket: string;
  exited: Promise<void>;
  stderr(): string;
}

/** Starts a paused QEMU with its QMP socket in our temp dir; the after hook kills it. */
function startQemu(machine: 'none' | 'pc' = 'none'): Qemu {
  socketCounter += 1;
  const socket = path.join(tmpRoot, `qmp-${socketCounter}.sock`);
  const args = ['-machine', machine, '-S', '-nodefaults', '-nographic', '-display', 'none'];
  if (machine !== 'none') args.push('-m', '64', '-accel', kvmUsable() ? 'kvm' : 'tcg');
  args.push('-qmp', `unix:${socket},server=on,wait=off`);
  // stderr is kept, not shown: KVM under nested virtualization warns about CPUID bits.
  const proc = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  started.add(proc);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  exited.then(() => started.delete(proc));
  return { proc, socket, exited, stderr: () => stderr };
}

function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}


after(() => {
  for (const proc of started) proc.kill('SIGKILL');
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

describe('QEMU monitor on a real QEMU', function () {
  let qemu: Qemu;

  before(function () {
    skipWithoutQemu(this);
    qemu = startQemu();
  });

  after(() => qemu?.proc.kill('SIGKILL'));

  it('1. reads the greeting, negotiates capabilities and answers query-status', async () => {
    const mon = await QemuMonitor.open(qemu.socket, { timeoutMs: 10_000 });
    try {
      assert.ok(mon.greeting !== null);
      assert.equal(typeof mon.greeting.version.qemu.major, 'number');
      assert.ok(mon.greeting.capabilities.includes('oob'), 'QEMU offers oob; we do not take it');
      assert.deepEqual(await mon.command('query-status'), { status: 'prelaunch', singlestep: false, running: false });
    } finally {
      mon.close();
    }
  });

  it('2. answers concurrent callers, each with its own reply, in issue order', async () => {
    const mon = await QemuMonitor.open(qemu.socket);
    try {
      const order: number[] = [];
      const calls = Array.from({ length: 40 }, (_, i) => {
        const name = i % 2 === 0 ? 'query-status' : 'query-version';
        return mon.command(name).then((reply) => {
          order.push(i);
          return [name, reply] as const;
        });
      });
      const replies = await Promise.all(calls);
      assert.deepEqual(order, Array.from({ length: 40 }, (_, i) => i));
      for (const [name, reply] of replies) {
        if (name === 'query-status') assert.equal((reply as { status: string }).status, 'prelaunch');
        else assert.equal(typeof (reply as { qemu: { major: number } }).qemu.major, 'number');
      }
    } finally {
      mon.close();
    }
  });

  it('3. reports a QMP error as libvirt does: VIR_ERR_INTERNAL_ERROR with the command and desc', async () => {
    const mon = await QemuMonitor.open(qemu.socket);
    try {
      const err = await rejection(mon.command('no-such-command'));
      assert.ok(err instanceof QmpCommandError);
      assert.equal(err.code, VIR_ERR_INTERNAL_ERROR);
      assert.equal(err.domain, VIR_FROM_QEMU);
      assert.equal(err.message, "internal error: unable to execute QEMU command 'no-such-command': The command no-such-command has not been found");
      assert.equal(err.errorClass, 'CommandNotFound');
      const bad = await rejection(mon.command('query-status', { bogus: 1 }));
      assert.equal(bad.message, "internal error: unable to execute QEMU command 'query-status': Parameter 'bogus' is unexpected");
      // The monitor stays usable after QEMU refused a command.
      assert.equal(((await mon.command('query-status')) as { status: string }).status, 'prelaunch');
    } finally {
      mon.close();
    }
  });

  it('4. passes a real fd with getfd (QEMU makes it blocking) and reports getfd without one', async () => {
    const fifo = path.join(tmpRoot, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // O_RDWR on a FIFO gives a pipe that needs no peer to open.
    const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const mon = await QemuMonitor.open(qemu.socket);
    try {
      const nonblock = () => (parseInt(/flags:\s*(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8) & fs.constants.O_NONBLOCK) !== 0;
      assert.equal(nonblock(), true);
      assert.deepEqual(await mon.sendWithFd('getfd', { fdname: 'pipe0' }, fd), {});
      // QEMU cleared O_NONBLOCK on the open file description it received: it got our pipe.
      assert.equal(nonblock(), false);
      assert.deepEqual(await mon.command('closefd', { fdname: 'pipe0' }), {});
      const gone = await rejection(mon.command('closefd', { fdname: 'pipe0' }));
      assert.equal(gone.message, "internal error: unable to execute QEMU command 'closefd': File descriptor named 'pipe0' not found");

      const added = (await mon.sendWithFd('add-fd', { opaque: 'virtnode-test' }, fd)) as { 'fdset-id': number; fd: number };
      const sets = (await mon.command('query-fdsets')) as { 'fdset-id': number; fds: { fd: number; opaque?: string }[] }[];
      const set = sets.find((s) => s['fdset-id'] === added['fdset-id']);
      assert.deepEqual(set?.fds, [{ fd: added.fd, opaque: 'virtnode-test' }]);

      const missing = await rejection(mon.command('getfd', { fdname: 'nofd' }));
      assert.equal(missing.message, "internal error: unable to execute QEMU command 'getfd': No file descriptor supplied via SCM_RIGHTS");
    } finally {
      mon.close();
      fs.closeSync(fd);
    }
  });

  it('5. reads the 207 KB query-qmp-schema reply, and passes raw commands through as libvirt does', async () => {
    const mon = await QemuMonitor.open(qemu.socket);
    try {
      const schema = (await mon.command('query-qmp-schema')) as { name: string; 'meta-type': string }[];
      assert.ok(JSON.stringify(schema).length > 150_000);
      assert.ok(schema.some((entry) => entry.name === 'query-status' && entry['meta-type'] === 'command'));
      const raw = await mon.commandRaw('{"execute":"query-status"}');
      assert.match(raw, /^\{"return":\{"status":"prelaunch","singlestep":false,"running":false\},"id":"libvirt-\d+"\}$/);
      const rawError = await mon.commandRaw('{"execute":"nope"}');
      assert.match(rawError, /^\{"id":"libvirt-\d+","error":\{"class":"CommandNotFound","desc":"The command nope has not been found"\}\}$/);
      const notJson = await rejection(mon.commandRaw('{"execute":'));
      assert.equal(notJson.code, VIR_ERR_INTERNAL_ERROR);
      assert.match(notJson.message, /^internal error: cannot parse json \{"execute":: /);
    } finally {
      mon.close();
    }
  });

  it('6. close() is idempotent and fails later commands as libvirt: QEMU monitor was closed', async () => {
    const mon = await QemuMonitor.open(qemu.socket);
    const pending = mon.command('query-status');
    mon.close();
    mon.close();
    for (const err of [await rejection(pending), await rejection(mon.command('query-status'))]) {
      assert.equal(err.code, VIR_ERR_OPERATION_FAILED);
      assert.equal(err.domain, VIR_FROM_QEMU);
      assert.equal(err.message, 'operation failed: QEMU monitor was closed');
    }
    assert.equal(mon.isOpen, false);
  });

  it('7. leaks no fd over 50 open/close cycles', async () => {
    (await QemuMonitor.open(qemu.socket)).close(); // warm-up: thread pool, lazy loads
    const before = openFdCount();
    for (let i = 0; i < 50; i++) {
      const mon = await QemuMonitor.open(qemu.socket);
      await mon.command('query-status');
      mon.close();
    }
    assert.equal(openFdCount(), before);
  });

  it('8. closes a connection left open when its worker thread exits', async () => {
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       require(workerData.tsx);
       const { QemuMonitor } = require(workerData.monitor);
       QemuMonitor.open(workerData.socket, { timeoutMs: 5000 })
         .then((mon) => mon.command('query-status'))
         .then((status) => parentPort.postMessage(status.status));`,
      { eval: true, workerData: { tsx: require.resolve('tsx/cjs'), monitor: require.resolve('../src/drivers/qemu/monitor'), socket: qemu.socket } },
    );
    assert.equal(await new Promise<string>((resolve) => worker.once('message', resolve)), 'prelaunch');
    await worker.terminate();
    // QEMU serves one client at a time: a greeting for us proves the worker's socket was closed.
    const mon = await QemuMonitor.open(qemu.socket, { timeoutMs: 5000 });
    mon.close();
  });

  it('9. an unref()ed monitor lets the process exit; an open one keeps it alive', () => {
    const script = (unref: boolean) =>
      `const { QemuMonitor } = require(${JSON.stringify(require.resolve('../src/drivers/qemu/monitor'))});
       QemuMonitor.open(${JSON.stringify(qemu.socket)}, { timeoutMs: 5000 }).then((mon) => {
         ${unref ? 'mon.unref();' : ''}
       });`;
    const args = ['-r', require.resolve('tsx/cjs'), '-e'];
    const exits = spawnSync(process.execPath, [...args, script(true)], { timeout: 10_000 });
    assert.equal(exits.status, 0, exits.stderr?.toString());
    const stays = spawnSync(process.execPath, [...args, script(false)], { timeout: 3000, killSignal: 'SIGKILL' });
    assert.equal(stays.signal, 'SIGKILL', 'an open monitor keeps the event loop alive');
  });

  it('10. times out on a second client, which QEMU does not greet while the first is connected', async () => {
    const first = await QemuMonitor.open(qemu.socket);
    try {
      const err = await rejection(QemuMonitor.open(qemu.socket, { timeoutMs: 300 }));
      assert.equal(err.code, VIR_ERR_OPERATION_TIMEOUT);
      assert.equal(err.message, 'Timed out during operation: no greeting from QEMU monitor');
    } finally {
      first.close();
    }
    (await QemuMonitor.open(qemu.socket)).close();
  });

  it('11. reports a socket that never shows up as libvirt does', async () => {
    const err = await rejection(QemuMonitor.open(path.join(tmpRoot, 'absent.sock'), { timeoutMs: 30 }));
    assert.equal(err.code, VIR_ERR_SYSTEM_ERROR);
    assert.equal(err.domain, VIR_FROM_QEMU);
    assert.equal(err.message, 'monitor socket did not show up: No such file or directory');
  });

  it('24. stops waiting for the socket the moment its signal aborts, as libvirt when QEMU is gone', async () => {
    const gone = new AbortController();
    const started = Date.now();
    setTimeout(() => gone.abort(), 30);
    const err = await rejection(QemuMonitor.open(path.join(tmpRoot, 'never.sock'), { timeoutMs: 30_000, signal: gone.signal }));
    assert.ok(Date.now() - started < 1000, 'gave up long before the 30 s timeout');
    assert.equal(err.code, VIR_ERR_SYSTEM_ERROR);
    assert.equal(err.message, 'failed to connect to monitor socket: No such file or directory');
    // Aborted once connected (QEMU greets, then we give up): the socket is closed, QEMU takes the next client.
    const early = new AbortController();
    early.abort();
    assert.equal((await rejection(QemuMonitor.open(qemu.socket, { signal: early.signal }))).message, 'operation failed: QEMU monitor was closed');
    (await QemuMonitor.open(qemu.socket, { timeoutMs: 5000 })).close();
  });

  it('25. fails a command given a closed fd, alone: the monitor stays usable', async () => {
    const mon = await QemuMonitor.open(qemu.socket);
    try {
      const fd = fs.openSync('/dev/null', 'r');
      fs.closeSync(fd);
      const err = await rejection(mon.sendWithFd('getfd', { fdname: 'gone' }, fd));
      assert.equal(err.code, VIR_ERR_SYSTEM_ERROR);
      assert.equal(err.message, 'Unable to write to monitor: Bad file descriptor');
      assert.equal(((await mon.command('query-status')) as { status: string }).status, 'prelaunch');
    } finally {
      mon.close();
    }
  });
});

describe('QEMU monitor: events and QEMU going away', function () {
  before(function () {
    skipWithoutQemu(this);
  });

  it('12. dispatches STOP and RESUME events with timestamps', async () => {
    const qemu = startQemu('pc');
    const mon = await QemuMonitor.open(qemu.socket, { timeoutMs: 10_000 });
    mon.addCloseListener((err) => assert.fail(`QEMU went away: ${err?.message}\n${qemu.stderr()}`));
    try {
      const events: QemuMonitorEvent[] = [];
      mon.addEventListener((event) => events.push(event));
      const t0 = Date.now() / 1000;
      await mon.command('cont');
      await mon.command('stop');
      // An event can trail its reply; a round trip flushes it.
      await mon.command('query-status');
      const names = events.map((e) => e.event);
      assert.deepEqual(names, ['RESUME', 'STOP']);
      for (const event of events) {
        assert.ok(Math.abs(event.timestamp.seconds - t0) < 60, 'host wall-clock seconds');
        assert.ok(event.timestamp.microseconds >= 0 && event.timestamp.microseconds < 1_000_000);
      }
    } finally {
      mon.close();
      qemu.proc.kill('SIGKILL');
      await qemu.exited;
    }
  });

  it('13. rejects every pending command and notifies close listeners when QEMU is killed mid-command', async () => {
    const qemu = startQemu();
    const mon = await QemuMonitor.open(qemu.socket, { timeoutMs: 10_000 });
    const closed = new Promise<VirError | null>((resolve) => mon.addCloseListener(resolve));
    qemu.proc.kill('SIGSTOP'); // the command below is written but never read
    const first = mon.command('query-status');
    const second = mon.command('query-version');
    await new Promise((resolve) => setTimeout(resolve, 20));
    qemu.proc.kill('SIGKILL');
    const errors = [await rejection(first), await rejection(second), await rejection(mon.command('query-status'))];
    for (const err of errors) {
      assert.equal(err.code, VIR_ERR_SYSTEM_ERROR);
      assert.equal(err.domain, VIR_FROM_QEMU);
      assert.equal(err.message, 'Unable to read from monitor: Connection reset by peer');
    }
    const reason = await closed;
    assert.equal(reason?.message, 'Unable to read from monitor: Connection reset by peer');
    assert.equal(mon.isOpen, false);
    mon.close();
    mon.close();
  });
});

/** A QMP server played by a test: greets, negotiates, then answers with `respond`. */
async function fakePeer(respond: (command: { execute: string; id?: string }, socket: net.Socket) => void) {
  socketCounter += 1;
  const socketPath = path.join(tmpRoot, `fake-${socketCounter}.sock`);
  const peers: net.Socket[] = [];
  const server = net.createServer((socket) => {
    peers.push(socket);
    socket.write('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "fake"}, "capabilities": ["oob"]}}\r\n');
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const command = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (command.execute === 'qmp_capabilities') socket.write(`{"return": {}, "id": ${JSON.stringify(command.id)}}\r\n`);
        else respond(command, socket);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    close: () => {
      for (const peer of peers) peer.destroy();
      server.close();
    },
  };
}

describe('QEMU monitor against a fake QMP peer', () => {
  it('14. keeps one command on the wire at a time', async () => {
    let onWire = 0;
    let maxOnWire = 0;
    const peer = await fakePeer((command, socket) => {
      onWire += 1;
      maxOnWire = Math.max(maxOnWire, onWire);
      setTimeout(() => {
        onWire -= 1;
        socket.write(`{"return": {"echo": ${JSON.stringify(command.execute)}}, "id": ${JSON.stringify(command.id)}}\r\n`);
      }, 2);
    });
    const mon = await QemuMonitor.open(peer.socketPath);
    try {
      const replies = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((name) => mon.command(name)));
      assert.deepEqual(replies, ['a', 'b', 'c', 'd', 'e'].map((echo) => ({ echo })));
      assert.equal(maxOnWire, 1);
    } finally {
      mon.close();
      peer.close();
    }
  });

  it('15. treats an error without an id as a protocol desync and fails everything pending', async () => {
    const peer = await fakePeer((command, socket) => {
      if (command.execute === 'first') {
        socket.write('{"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword \'garbage\'"}}\r\n');
      }
    });
    const mon = await QemuMonitor.open(peer.socketPath);
    const closed = new Promise<VirError | null>((resolve) => mon.addCloseListener(resolve));
    try {
      const first = mon.command('first');
      const second = mon.command('second');
      const firstError = await rejection(first);
      assert.equal(firstError.message, "internal error: unable to execute QEMU command 'first': JSON parse error, invalid keyword 'garbage'");
      const desync = await rejection(second);
      assert.equal(desync.code, VIR_ERR_INTERNAL_ERROR);
      assert.match(desync.message, /^internal error: unexpected reply from QEMU monitor: \{"error"/);
      assert.equal((await closed)?.message, desync.message);
      assert.equal(mon.isOpen, false);
      assert.equal((await rejection(mon.command('third'))).message, desync.message);
    } finally {
      mon.close();
      peer.close();
    }
  });

  it('16. reports a clean EOF mid-command as libvirt: End of file from qemu monitor', async () => {
    const peer = await fakePeer((_command, socket) => socket.end());
    const mon = await QemuMonitor.open(peer.socketPath, { domainName: 'fake' });
    const closed = new Promise<VirError | null>((resolve) => mon.addCloseListener(resolve));
    try {
      const err = await rejection(mon.command('query-status'));
      assert.equal(err.code, VIR_ERR_INTERNAL_ERROR);
      assert.equal(err.message, "internal error: End of file from qemu monitor (vm='fake')");
      assert.equal(await closed, null);
    } finally {
      mon.close();
      peer.close();
    }
  });

  it('17. delivers events sent before the peer hangs up, then the close', async () => {
    const peer = await fakePeer((command, socket) => {
      socket.write('{"timestamp": {"seconds": 1700000000, "microseconds": 42}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}\r\n');
      socket.end(`{"return": {}, "id": ${JSON.stringify(command.id)}}\r\n`);
    });
    const mon = await QemuMonitor.open(peer.socketPath);
    const seen: string[] = [];
    mon.addEventListener((event) => seen.push(`${event.event} ${JSON.stringify(event.data)} ${event.timestamp.seconds}.${event.timestamp.microseconds}`));
    const closed = new Promise<VirError | null>((resolve) =>
      mon.addCloseListener((reason) => {
        seen.push('closed');
        resolve(reason);
      }),
    );
    try {
      assert.deepEqual(await mon.command('quit'), {});
      assert.equal(await closed, null);
      assert.deepEqual(seen, ['SHUTDOWN {"guest":false,"reason":"host-qmp-quit"} 1700000000.42', 'closed']);
    } finally {
      mon.close();
      peer.close();
    }
  });

  it('18. sends a command split by a partial line and takes CRLF or LF from the peer', async () => {
    const peer = await fakePeer((command, socket) => {
      const reply = `{"return": {"n": 1}, "id": ${JSON.stringify(command.id)}}`;
      socket.write(reply.slice(0, 10));
      setTimeout(() => socket.write(`${reply.slice(10)}\n`), 5);
    });
    const mon = await QemuMonitor.open(peer.socketPath);
    try {
      assert.deepEqual(await mon.command('x'), { n: 1 });
    } finally {
      mon.close();
      peer.close();
    }
  });
});

describe('QEMU monitor: big messages', () => {
  it('19. writes a 4 MiB command, more than the socket buffer takes at once, and gets its reply', async () => {
    const peer = await fakePeer((command, socket) => {
      const blob = (command as { arguments?: { blob?: string } }).arguments?.blob ?? '';
      socket.write(`{"return": {"length": ${blob.length}}, "id": ${JSON.stringify(command.id)}}\r\n`);
    });
    const mon = await QemuMonitor.open(peer.socketPath);
    try {
      const blob = 'x'.repeat(4 << 20);
      // Far more than a Unix socket buffer holds: sendmsg takes what fits, and the rest follows
      // as the socket drains.
      assert.deepEqual(await mon.command('echo', { blob }), { length: blob.length });
      assert.deepEqual(await mon.command('echo', { blob: 'y' }), { length: 1 });
      // Two-byte characters across the 4 KiB at which the addon stops copying commands to its stack.
      for (let count = 2020; count < 2032; count++) {
        const blob = 'x'.repeat(count % 2) + 'é'.repeat(count);
        assert.deepEqual(await mon.command('echo', { blob }), { length: blob.length });
      }
    } finally {
      mon.close();
      peer.close();
    }
  });

  it('20. gives up on a reply line over 64 MiB as libvirt does on its own cap', async () => {
    const peer = await fakePeer((_command, socket) => {
      const piece = Buffer.alloc(1 << 20, 0x20);
      for (let i = 0; i < 65; i++) socket.write(piece);
    });
    const mon = await QemuMonitor.open(peer.socketPath);
    try {
      const err = await rejection(mon.command('flood'));
      assert.equal(err.code, VIR_ERR_INTERNAL_ERROR);
      assert.equal(err.message, 'internal error: QEMU monitor reply exceeds buffer size (67108864 bytes)');
      assert.equal(mon.isOpen, false);
    } finally {
      mon.close();
      peer.close();
    }
  });
});

describe('native QMP socket', () => {
  it('21. rejects connect errors with errno, code and syscall', async () => {
    await assert.rejects(native().qmpConnect(path.join(tmpRoot, 'x'.repeat(120))), {
      code: 'ENAMETOOLONG',
      syscall: 'connect',
    });
    await assert.rejects(native().qmpConnect(path.join(tmpRoot, 'missing.sock')), {
      code: 'ENOENT',
      errno: -2,
      syscall: 'connect',
    });
  });

  it('22. closes the socket of a handle that was dropped without qmpClose (finalizer)', async () => {
    // The listener lives in another process, so that every socket fd in this one is a client's.
    socketCounter += 1;
    const socketPath = path.join(tmpRoot, `listener-${socketCounter}.sock`);
    const listener = spawn(process.execPath, ['-e', `require('net').createServer(() => {}).listen(${JSON.stringify(socketPath)}, () => console.log('ready'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    started.add(listener);
    try {
      await new Promise((resolve) => listener.stdout!.once('data', resolve));
      const gc = runInNewContext('gc') as () => void;
      const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
      await native().qmpConnect(socketPath); // warm-up: thread pool
      gc();
      await settle();
      const before = openFdCount();
      for (let i = 0; i < 20; i++) await native().qmpConnect(socketPath);
      assert.equal(openFdCount(), before + 20);
      for (let i = 0; i < 20 && openFdCount() > before; i++) {
        gc();
        await settle();
      }
      assert.equal(openFdCount(), before);
    } finally {
      listener.kill('SIGKILL');
    }
  });

  it('23. refuses things that are not QMP handles', () => {
    assert.throws(() => native().qmpClose({} as never), TypeError);
    assert.throws(() => native().qmpSend(null as never, 'x'), TypeError);
    assert.throws(() => native().qmpDupFd(42 as never), TypeError);
  });
});
