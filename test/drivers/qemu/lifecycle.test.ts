// Domains on the real QEMU through qemu:///embed in a temp dir: define/undefine on disk, start
// with a real QMP handshake, the log file, pause/resume/reset, destroy, QEMU killed from outside,
// failed starts that leave nothing behind, transient domains, two domains at once, a second
// process reconnecting, the per-domain lock, and no fd leak over 50 start/destroy cycles.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect } from '../../../src/connect';
import {
  VIR_DOMAIN_EVENT_ID_LIFECYCLE,
  VIR_DOMAIN_EVENT_ID_REBOOT,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_SHUTOFF,
} from '../../../src/constants';
import { Domain } from '../../../src/domain';
import { QEMU, skipWithoutQemu, virtType } from '../../support/qemu';
import { rejection } from '../../support/rejection';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** A small q35 guest: virtio NIC, serial pty, optionally a qcow2 disk and extra XML. */
export function smallDomain(name: string, opts: { disk?: string; extra?: string; uuid?: string } = {}): string {
  return `<domain type='${virtType()}'>
  <name>${name}</name>${opts.uuid ? `\n  <uuid>${opts.uuid}</uuid>` : ''}
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <emulator>${QEMU}</emulator>${
      opts.disk
        ? `
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${opts.disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>`
        : ''
    }
    <interface type='user'>
      <mac address='52:54:00:12:34:56'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'/>
    <console type='pty'/>${opts.extra ?? ''}
  </devices>
</domain>`;
}


interface Lifecycle {
  dom: string;
  event: number;
  detail: number;
}

/** Lifecycle events as they arrive, and a way to wait for one. */
class EventLog {
  readonly seen: Lifecycle[] = [];
  private waiters: Array<() => void> = [];

  constructor(conn: Connect) {
    conn.domainEventRegisterAny(null, VIR_DOMAIN_EVENT_ID_LIFECYCLE, (_c, dom, event, detail) => {
      this.seen.push({ dom: dom.getName(), event: event as number, detail: detail as number });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  of(name: string): Array<[number, number]> {
    return this.seen.filter((e) => e.dom === name).map((e) => [e.event, e.detail]);
  }

  async waitFor(name: string, event: number, detail: number, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.seen.some((e) => e.dom === name && e.event === event && e.detail === detail)) {
      if (Date.now() > deadline) assert.fail(`no event ${event}/${detail} for ${name}; saw ${JSON.stringify(this.of(name))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

/** The per-domain files of the state directory (status files, locks), without the autostart marker. */
function runFiles(root: string): string[] {
  return fs.readdirSync(path.join(root, 'run', 'qemu')).filter((f) => f !== 'autostarted');
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function qemuPids(root: string): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.startsWith(QEMU) && cmd.includes(root)) out.push(Number(pid));
    } catch {
      // gone
    }
  }
  return out;
}

/** Runs a small script in a second Node process against the same embed root. */
function secondProcess(root: string, body: string): ReturnType<typeof spawn> {
  const script = `
const { Connect } = require(${JSON.stringify(path.join(repoRoot, 'src', 'connect'))});
const { Domain } = require(${JSON.stringify(path.join(repoRoot, 'src', 'domain'))});
(async () => {
  const conn = await Connect.open(${JSON.stringify(`qemu:///embed?root=${root}`)});
  ${body}
})().catch((e) => { console.error(e); process.exit(1); });
`;
  return spawn(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
}

function readLine(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`second process exited with ${code} before printing`)));
  });
}

describe('drivers/qemu: domain lifecycle on the real QEMU', function () {
  this.timeout(120_000);
  let root: string;
  let conn: Connect;
  let events: EventLog;

  before(async function () {
    skipWithoutQemu(this);
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'vn-life-'));
    conn = await Connect.open(`qemu:///embed?root=${root}`);
    events = new EventLog(conn);
  });

  after(async () => {
    if (conn) {
      for (const dom of await conn.listAllDomains(1)) await dom.destroy().catch(() => {});
      await conn.close();
    }
    if (root) {
      for (const pid of qemuPids(root)) process.kill(pid, 'SIGKILL');
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('defines a domain into an XML file written atomically, and undefines it', async () => {
    const dom = await Domain.defineXML(conn, smallDomain('def1'));
    const file = path.join(root, 'etc', 'qemu', 'def1.xml');
    const onDisk = fs.readFileSync(file, 'utf8');
    assert.equal(onDisk, await dom.getXMLDesc(2));
    assert.match(onDisk, /<controller type='pci' index='0' model='pcie-root'\/>/);
    assert.deepEqual(fs.readdirSync(path.join(root, 'etc', 'qemu')).filter((f) => !f.endsWith('.xml')), []);
    assert.deepEqual(await dom.getState(), { state: VIR_DOMAIN_SHUTOFF, reason: 0 });
    await dom.setAutostart(true);
    assert.ok(fs.lstatSync(path.join(root, 'etc', 'qemu', 'autostart', 'def1.xml')).isSymbolicLink());
    await dom.undefine();
    await events.waitFor('def1', 1, 0);
    assert.ok(!fs.existsSync(file));
    assert.ok(!fs.existsSync(path.join(root, 'etc', 'qemu', 'autostart', 'def1.xml')));
    assert.deepEqual(events.of('def1'), [
      [0, 0], // defined, added
      [1, 0], // undefined, removed
    ]);
    const err = await rejection(Domain.lookupByName(conn, 'def1'));
    assert.equal(err.code, 42);
    assert.equal(err.message, "Domain not found: no domain with matching name 'def1'");
  });

  it('refuses a bad definition with libvirt\'s error and writes nothing', async () => {
    const err = await rejection(Domain.defineXML(conn, smallDomain('bad1').replace("<vcpu>1</vcpu>", "<vcpu>0</vcpu>")));
    assert.ok(err.code > 0, err.message);
    assert.ok(!fs.existsSync(path.join(root, 'etc', 'qemu', 'bad1.xml')));
    await rejection(Domain.lookupByName(conn, 'bad1'));
  });

  it('starts, pauses, resumes, resets and destroys a domain with a qcow2 disk, with events and a log', async () => {
    const disk = path.join(root, 'disk1.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    const dom = await Domain.defineXML(conn, smallDomain('life1', { disk }));
    let reboots = 0;
    const cb = conn.domainEventRegisterAny(dom, VIR_DOMAIN_EVENT_ID_REBOOT, () => reboots++);
    await dom.create();
    assert.ok(dom.getID() > 0);
    assert.deepEqual(await dom.getState(), { state: VIR_DOMAIN_RUNNING, reason: 1 });
    assert.ok(await dom.isActive());
    assert.equal((await conn.listAllDomains(1)).map((d) => d.getName()).includes('life1'), true);

    const info = await dom.getInfo();
    assert.equal(info.state, VIR_DOMAIN_RUNNING);
    assert.equal(info.maxMem, 131072);
    assert.equal(info.nrVirtCpu, 1);
    assert.equal(typeof info.cpuTime, 'bigint');

    const live = await dom.getXMLDesc(0);
    assert.match(live, new RegExp(`<domain type='${virtType()}' id='${dom.getID()}'>`));
    assert.match(live, /<alias name='net0'\/>/);
    assert.match(live, /<alias name='virtio-disk0'\/>/);
    assert.match(live, /<source path='\/dev\/pts\/\d+'\/>/);
    assert.match(live, /<console type='pty' tty='\/dev\/pts\/\d+'>/);
    assert.doesNotMatch(await dom.getXMLDesc(2), /alias name='net0'|\/dev\/pts/);

    // QEMU itself agrees: running, with the devices we asked for.
    const status = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-status"}'));
    assert.equal(status.return.status, 'running');
    const peripherals = JSON.parse(await dom.qemuMonitorCommand('{"execute":"qom-list","arguments":{"path":"/machine/peripheral"}}'));
    const names = (peripherals.return as Array<{ name: string }>).map((p) => p.name);
    for (const alias of ['net0', 'virtio-disk0', 'serial0', 'balloon0']) assert.ok(names.includes(alias), names.join(','));

    await dom.suspend();
    assert.deepEqual(await dom.getState(), { state: VIR_DOMAIN_PAUSED, reason: 1 });
    assert.equal(JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-status"}')).return.status, 'paused');
    await dom.resume();
    assert.deepEqual(await dom.getState(), { state: VIR_DOMAIN_RUNNING, reason: 5 });
    const again = await rejection(dom.resume());
    assert.equal(again.message, 'Requested operation is not valid: domain is already running');

    await dom.reset();
    const deadline = Date.now() + 5000;
    while (reboots === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(reboots, 1, 'RESET reaches the reboot event');
    conn.domainEventDeregisterAny(cb);

    const logPath = path.join(root, 'log', 'qemu', 'life1.log');
    const id = dom.getID();
    await dom.destroy();
    assert.equal(dom.getID(), -1);
    assert.deepEqual(await dom.getState(), { state: VIR_DOMAIN_SHUTOFF, reason: 2 });
    await events.waitFor('life1', 5, 1);
    assert.deepEqual(events.of('life1'), [
      [0, 0], // defined
      [2, 0], // started, booted
      [3, 0], // suspended, paused
      [4, 0], // resumed, unpaused
      [5, 1], // stopped, destroyed
    ]);

    const log = fs.readFileSync(logPath, 'utf8');
    const lines = log.split('\n');
    assert.match(lines[0], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: starting up virtnode version: [\d.]+, qemu version: \d+\.\d+\.\d+.*, kernel: .+, hostname: .+$/);
    assert.equal(lines[1], 'LC_ALL=C \\');
    assert.ok(lines.includes(`${QEMU} \\`), 'the binary on its own line');
    assert.ok(lines.includes('-S \\'));
    assert.ok(lines.includes(`-name guest=life1,debug-threads=on \\`));
    const domainDir = path.join(root, 'lib', 'qemu', `domain-${id}-life1`);
    assert.ok(lines.includes(`-chardev socket,id=charmonitor,path=${domainDir}/monitor.sock,server=on,wait=off \\`), log);
    assert.ok(lines.includes('-msg timestamp=on'), 'the last option ends the command');
    assert.ok(lines.some((l) => /^char device redirected to \/dev\/pts\/\d+ \(label charserial0\)$/.test(l)), 'QEMU stderr follows');
    assert.match(lines[lines.length - 2], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: shutting down, reason=destroyed$/);

    assert.ok(!fs.existsSync(domainDir), 'domain directory removed');
    assert.deepEqual(runFiles(root), [], 'no status or lock file left');
    assert.deepEqual(qemuPids(root), []);
    const notRunning = await rejection(dom.destroy());
    assert.equal(notRunning.code, 55);
    assert.equal(notRunning.message, 'Requested operation is not valid: domain is not running');
    await dom.undefine();
  });

  it('a domain killed from outside is shut off as crashed, with the event and the log line', async () => {
    const dom = await Domain.createXML(conn, smallDomain('crash1'));
    const [pid] = qemuPids(root);
    assert.ok(pid > 0);
    process.kill(pid, 'SIGKILL');
    await events.waitFor('crash1', 5, 5); // stopped, failed
    const log = fs.readFileSync(path.join(root, 'log', 'qemu', 'crash1.log'), 'utf8');
    assert.match(log, /: shutting down, reason=crashed\n$/);
    // transient: gone with its process
    const err = await rejection(dom.getState());
    assert.equal(err.code, 42);
    assert.deepEqual(runFiles(root), []);
  });

  it('a start QEMU refuses fails with its message and leaves nothing behind', async () => {
    const bad = smallDomain('fail1')
      .replace("<domain type=", "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0' type=")
      .replace('</devices>', "</devices>\n  <qemu:commandline><qemu:arg value='-bogus-option'/></qemu:commandline>");
    const dom = await Domain.defineXML(conn, bad);
    const fdsBefore = openFds();
    const err = await rejection(dom.create());
    assert.equal(err.code, 1); // VIR_ERR_INTERNAL_ERROR
    assert.equal(err.domain, 10); // VIR_FROM_QEMU
    assert.match(err.message, /^internal error: process exited while connecting to monitor: .*-bogus-option/s);
    assert.deepEqual(await dom.getState(), { state: VIR_DOMAIN_SHUTOFF, reason: 0 });
    assert.equal(dom.getID(), -1);
    assert.deepEqual(qemuPids(root), []);
    assert.deepEqual(runFiles(root), []);
    assert.deepEqual(fs.readdirSync(path.join(root, 'lib', 'qemu')).filter((d) => d.includes('fail1')), []);
    assert.equal(openFds(), fdsBefore);
    const log = fs.readFileSync(path.join(root, 'log', 'qemu', 'fail1.log'), 'utf8');
    assert.match(log, /Domain id=\d+ is tainted: custom-argv/);
    assert.match(log, /shutting down, reason=failed\n$/);
    await dom.undefine();
  });

  it('a QEMU that dies after its monitor is up reports why, and is cleaned up the same way', async () => {
    // The monitor chardev exists before devices are created, so a bad -device fails later.
    const bad = smallDomain('fail2')
      .replace("<domain type=", "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0' type=")
      .replace('</devices>', "</devices>\n  <qemu:commandline><qemu:arg value='-device'/><qemu:arg value='no-such-device'/></qemu:commandline>");
    const err = await rejection(Domain.createXML(conn, bad));
    assert.equal(err.code, 1);
    assert.match(
      err.message,
      /^internal error: (process exited while connecting to monitor|qemu unexpectedly closed the monitor): .*'no-such-device' is not a valid device model name/s,
    );
    assert.equal((await rejection(Domain.lookupByName(conn, 'fail2'))).code, 42, 'a failed createXML leaves no domain');
    assert.deepEqual(qemuPids(root), []);
    assert.deepEqual(runFiles(root), []);
  });

  it('createXML makes a transient domain that disappears when destroyed; undefine while running makes one', async () => {
    const t = await Domain.createXML(conn, smallDomain('trans1'));
    assert.equal(await t.isPersistent(), false);
    assert.ok(!fs.existsSync(path.join(root, 'etc', 'qemu', 'trans1.xml')));
    await t.destroy();
    assert.equal((await rejection(Domain.lookupByName(conn, 'trans1'))).code, 42);

    const p = await Domain.defineXML(conn, smallDomain('trans2'));
    await p.create();
    await p.undefine();
    assert.equal(await p.isPersistent(), false);
    assert.ok(await p.isActive());
    await p.destroy();
    assert.equal((await rejection(Domain.lookupByName(conn, 'trans2'))).code, 42);
  });

  it('starts two domains concurrently', async () => {
    const [a, b] = await Promise.all([Domain.createXML(conn, smallDomain('conc1')), Domain.createXML(conn, smallDomain('conc2'))]);
    assert.notEqual(a.getID(), b.getID());
    assert.equal(qemuPids(root).length, 2);
    for (const d of [a, b]) assert.deepEqual(await d.getState(), { state: VIR_DOMAIN_RUNNING, reason: 1 });
    await Promise.all([a.destroy(), b.destroy()]);
    assert.deepEqual(qemuPids(root), []);
  });

  it('a second process reconnects to a QEMU the first one left running, and is locked out while the first drives it', async () => {
    const uuid = '11111111-2222-3333-4444-555555555555';
    const xml = smallDomain('recon1', { uuid });
    // The first process starts the domain and stays, holding the domain.
    const holder = secondProcess(
      root,
      `const dom = await Domain.defineXML(conn, ${JSON.stringify(xml)});
       await dom.create();
       console.log('started ' + dom.getID());
       setInterval(() => {}, 1000);`,
    );
    const line = await readLine(holder);
    const id = Number(line.split(' ')[1]);

    // This process's state was loaded before: a fresh one sees the domain running, but cannot
    // drive it while the other process holds it.
    await conn.close();
    conn = await Connect.open(`qemu:///embed?root=${root}`);
    events = new EventLog(conn);
    const dom = await Domain.lookupByName(conn, 'recon1');
    assert.equal(dom.getID(), id);
    assert.deepEqual(await dom.getState(), { state: VIR_DOMAIN_RUNNING, reason: 1 });
    const locked = await rejection(dom.suspend());
    assert.equal(locked.code, 68); // VIR_ERR_OPERATION_TIMEOUT
    assert.match(locked.message, new RegExp(`^Timed out during operation: cannot acquire state change lock \\(held by pid ${holder.pid}\\)$`));

    // The first process goes away without stopping the domain: this one takes over.
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    await dom.suspend();
    assert.deepEqual(await dom.getState(), { state: VIR_DOMAIN_PAUSED, reason: 1 });
    assert.equal(JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-status"}')).return.status, 'paused');
    await dom.destroy();
    assert.deepEqual(qemuPids(root), []);
    await dom.undefine();
  });

  it('a new connection after the process exits finds running domains, and those that died meanwhile', async () => {
    const child = secondProcess(
      root,
      `const a = await Domain.defineXML(conn, ${JSON.stringify(smallDomain('left1'))});
       await a.create();
       const b = await Domain.defineXML(conn, ${JSON.stringify(smallDomain('left2'))});
       await b.create();
       console.log('ok');`,
    );
    await readLine(child);
    await new Promise((r) => child.once('exit', r));
    const pids = qemuPids(root);
    assert.equal(pids.length, 2, 'the QEMUs outlive the process that started them');
    // One of them dies while nobody watches.
    const left2Pid = pids.find((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('guest=left2'))!;
    process.kill(left2Pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));

    await conn.close();
    conn = await Connect.open(`qemu:///embed?root=${root}`);
    events = new EventLog(conn);
    const left1 = await Domain.lookupByName(conn, 'left1');
    const left2 = await Domain.lookupByName(conn, 'left2');
    assert.deepEqual(await left1.getState(), { state: VIR_DOMAIN_RUNNING, reason: 1 });
    assert.deepEqual(await left2.getState(), { state: VIR_DOMAIN_SHUTOFF, reason: 3 }); // crashed
    assert.match(fs.readFileSync(path.join(root, 'log', 'qemu', 'left2.log'), 'utf8'), /shutting down, reason=crashed\n$/);
    assert.ok((await left1.getInfo()).cpuTime > 0n);
    await left1.destroy();
    for (const d of [left1, left2]) await d.undefine();
  });

  it('autostart domains start when a state directory is first opened, once', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'vn-auto-'));
    try {
      const xml = smallDomain('auto1');
      fs.mkdirSync(path.join(other, 'etc', 'qemu', 'autostart'), { recursive: true });
      fs.writeFileSync(path.join(other, 'etc', 'qemu', 'auto1.xml'), xml);
      fs.symlinkSync(path.join(other, 'etc', 'qemu', 'auto1.xml'), path.join(other, 'etc', 'qemu', 'autostart', 'auto1.xml'));
      let c = await Connect.open(`qemu:///embed?root=${other}`);
      const dom = await Domain.lookupByName(c, 'auto1');
      assert.deepEqual(await dom.getState(), { state: VIR_DOMAIN_RUNNING, reason: 1 });
      assert.equal(await dom.getAutostart(), true);
      await dom.destroy();
      await c.close();
      // Opened again (same "boot"): not started a second time.
      c = await Connect.open(`qemu:///embed?root=${other}`);
      assert.equal(await (await Domain.lookupByName(c, 'auto1')).isActive(), false);
      await c.close();
    } finally {
      for (const pid of qemuPids(other)) process.kill(pid, 'SIGKILL');
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('does not leak file descriptors over 50 start/destroy cycles', async function () {
    this.timeout(300_000);
    const dom = await Domain.defineXML(conn, smallDomain('cycle1'));
    // one warm-up cycle so lazily opened fds (e.g. the thread pool's) are counted in both
    await dom.create();
    await dom.destroy();
    const before = openFds();
    for (let i = 0; i < 50; i++) {
      await dom.create();
      await dom.destroy();
    }
    assert.equal(openFds(), before);
    assert.deepEqual(qemuPids(root), []);
    await dom.undefine();
  });
});
