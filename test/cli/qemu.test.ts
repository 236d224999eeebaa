// The command line on qemu:///embed: each command is its own process, so every one after `start`
// reconnects to the QEMU an earlier process left running, and drives it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { skipWithoutQemu } from '../support/qemu';
import { bin, cleanEnv, ensureBuilt, run } from './harness';


describe('cli: virsh commands on qemu:///embed across processes', function () {
  this.timeout(120_000);
  let root: string;
  let uri: string;
  const virtnode = (...args: string[]) => run(process.execPath, [bin, '-c', uri, ...args], cleanEnv());

  before(function () {
    skipWithoutQemu(this);
    ensureBuilt();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'vn-cli-qemu-'));
    uri = `qemu:///embed?root=${root}`;
  });

  after(async () => {
    if (!root) return;
    await virtnode('destroy', 'cli1');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('define, start, list, dominfo, suspend/resume, qemu-monitor-command, destroy, undefine', async () => {
    const xmlFile = path.join(root, 'cli1.xml');
    fs.writeFileSync(
      xmlFile,
      `<domain type='qemu'>
  <name>cli1</name>
  <memory unit='KiB'>131072</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices><serial type='pty'/></devices>
</domain>
`,
    );
    let r = await virtnode('define', xmlFile);
    assert.equal(r.stdout, `Domain 'cli1' defined from ${xmlFile}\n\n`, r.stderr);
    r = await virtnode('start', 'cli1');
    assert.equal(r.stdout, "Domain 'cli1' started\n\n", r.stderr);
    r = await virtnode('list', '--all');
    assert.match(r.stdout, /^ Id +Name +State\n-+\n 1 +cli1 +running\n\n$/, r.stderr);
    r = await virtnode('domstate', '--reason', 'cli1');
    assert.equal(r.stdout, 'running (booted)\n\n');
    r = await virtnode('suspend', 'cli1');
    assert.equal(r.stdout, "Domain 'cli1' suspended\n\n");
    r = await virtnode('domstate', '--reason', 'cli1');
    assert.equal(r.stdout, 'paused (user)\n\n');
    r = await virtnode('qemu-monitor-command', 'cli1', '{"execute":"query-status"}');
    assert.equal(JSON.parse(r.stdout).return.status, 'paused');
    r = await virtnode('resume', 'cli1');
    assert.equal(r.stdout, "Domain 'cli1' resumed\n\n");
    r = await virtnode('dumpxml', 'cli1');
    assert.match(r.stdout, /^<domain type='qemu' id='1'>/);
    assert.match(r.stdout, /<source path='\/dev\/pts\/\d+'\/>/);
    r = await virtnode('destroy', 'cli1');
    assert.equal(r.stdout, "Domain 'cli1' destroyed\n\n", r.stderr);
    // A new process knows the domain only from its definition file: as after a libvirtd restart,
    // the reason it stopped for is not kept.
    r = await virtnode('domstate', '--reason', 'cli1');
    assert.equal(r.stdout, 'shut off (unknown)\n\n');
    r = await virtnode('undefine', 'cli1');
    assert.equal(r.stdout, "Domain 'cli1' has been undefined\n\n");
    r = await virtnode('dominfo', 'cli1');
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "error: failed to get domain 'cli1'\n");
  });
});
