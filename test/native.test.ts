// The native seam (native/, src/native.ts) and its build pipeline: the addon speaks Node-API only,
// loads in many threads at once, survives threads torn down mid-call, builds with node-gyp and
// cmake-js alike, and loads from a prebuild on a machine without a compiler.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { native, packageRoot, type HostUname } from '../src/native';

const nodeGypBuild = require.resolve('node-gyp-build');
const fixtures = path.join(__dirname, 'data', 'native');
const packageVersion: string = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version;

function onPath(command: string, searchPath = process.env.PATH ?? ''): string | null {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (result.error) throw result.error;
  return result;
}

interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The asynchronous run, so that the slow builds can proceed side by side. */
function runAsync(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

function assertSucceeded(result: RunResult, what: string): void {
  assert.equal(result.status, 0, `${what} failed (status ${result.status}, signal ${result.signal}):\n${result.stdout}\n${result.stderr}`);
}

/**
 * node-gyp compiles against this Node's own headers (no download) when they are installed beside
 * it, as they are for distribution and nodesource builds.
 */
function offlineBuildEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
    env.npm_config_nodedir = prefix;
  }
  return env;
}

interface DynamicSymbols {
  /** Symbols the file defines for others, with nm's type letter. */
  defined: Array<{ type: string; name: string }>;
  /** Symbols the file needs, `name@VERSION` when a versioned library provides them. */
  needed: string[];
}

function dynamicSymbols(file: string): DynamicSymbols {
  const nm = (flag: string) => {
    const result = run('nm', ['-D', flag, file]);
    assertSucceeded(result, `nm -D ${flag} ${file}`);
    return result.stdout.split('\n').filter((line) => line.trim() !== '');
  };
  const defined = nm('--defined-only').map((line) => {
    const [, type, name] = line.trim().split(/\s+/);
    return { type, name };
  });
  const needed = nm('--undefined-only')
    .map((line) => line.trim().split(/\s+/))
    .filter(([type]) => type === 'U')
    .map(([, name]) => name);
  return { defined, needed };
}

function assertNodeApiOnly(file: string): void {
  const { defined, needed } = dynamicSymbols(file);
  const engineSymbol = /^_ZNK?(2v8|4node)/;
  for (const { name } of defined) assert.doesNotMatch(name, engineSymbol, `${file} exports ${name}`);
  for (const name of needed) assert.doesNotMatch(name, engineSymbol, `${file} imports ${name}`);
  // What it exports is the module's Node-API registration, plus at most weak instantiations of
  // C++ standard library templates (which keep default visibility).
  assert.ok(defined.some(({ name }) => name === 'napi_register_module_v1'), `${file} registers no Node-API module`);
  for (const { type, name } of defined) {
    if (/^_Z(N?St|N9__gnu_cxx|ZN?St)/.test(name) && type !== 'T') continue;
    assert.match(name, /^(napi|node_api)_/, `${file} exports ${name}`);
  }
  // Everything it takes from the process itself (unversioned: not from libc or libstdc++) is Node-API.
  for (const name of needed.filter((n) => !n.includes('@'))) {
    assert.match(name, /^(napi|node_api)_/, `${file} imports ${name}, which is not Node-API`);
  }
}

interface LoadReport {
  file: string;
  exports: string[];
  version: string;
  napiVersion: number;
  sync: HostUname;
  async: HostUname;
  hostname: string;
  release: string;
}

/** Loads the addon of packageDir in a fresh node process through node-gyp-build. */
function loadInChild(packageDir: string, env: NodeJS.ProcessEnv = process.env): LoadReport {
  const result = run(process.execPath, [path.join(fixtures, 'load-addon.js'), packageDir, nodeGypBuild], { env });
  assertSucceeded(result, `loading the addon of ${packageDir}`);
  return JSON.parse(result.stdout) as LoadReport;
}

function assertWorkingAddon(report: LoadReport, expectedFile: string): void {
  assert.equal(report.file, expectedFile);
  assert.equal(report.version, packageVersion);
  assert.equal(report.napiVersion, 8);
  assert.equal(report.sync.hostname, report.hostname);
  assert.equal(report.sync.release, report.release);
  assert.deepEqual(report.async, report.sync);
}

/** A checkout of the package's build inputs in a temp dir, sharing this checkout's node_modules. */
function freshCheckout(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `virtnode-${label}-`));
  for (const file of ['package.json', 'binding.gyp', 'CMakeLists.txt']) {
    fs.copyFileSync(path.join(packageRoot, file), path.join(dir, file));
  }
  fs.cpSync(path.join(packageRoot, 'native'), path.join(dir, 'native'), { recursive: true });
  fs.symlinkSync(path.join(packageRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

describe('native addon', function () {
  this.timeout(60_000);

  it('reports the package version and N-API version 8', () => {
    assert.equal(native().version, packageVersion);
    assert.equal(native().napiVersion, 8);
  });

  it('hostUname() and hostUnameAsync() agree with os.hostname() and os.release()', async () => {
    const sync = native().hostUname();
    assert.equal(sync.hostname, os.hostname());
    assert.equal(sync.release, os.release());
    assert.equal(sync.machine, os.machine());
    assert.equal(sync.sysname, os.type());
    assert.deepEqual(await native().hostUnameAsync(), sync);
  });

  it('exports no V8 or node C++ symbols and imports nothing but Node-API (nm -D)', function () {
    if (!onPath('nm')) this.skip(); // nm comes with Debian's binutils package
    assertNodeApiOnly(require('node-gyp-build').path(packageRoot));
  });

  it('loads and answers in 8 worker_threads at once', async () => {
    const count = 8;
    // Workers wait at a gate until all exist, so the eight loads really do overlap.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const gate = new Int32Array(workerData.gate);
      parentPort.postMessage('ready');
      Atomics.wait(gate, 0, 0);
      const addon = require(workerData.nodeGypBuild)(workerData.packageDir);
      const sync = addon.hostUname();
      addon.hostUnameAsync().then((async) => parentPort.postMessage({ sync, async }));
    `;
    const workers = Array.from(
      { length: count },
      () => new Worker(source, { eval: true, workerData: { gate: gate.buffer, nodeGypBuild, packageDir: packageRoot } }),
    );
    const messages = workers.map((worker) => {
      const ready = new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      const answer = ready.then(
        () =>
          new Promise<{ sync: HostUname; async: HostUname }>((resolve, reject) => {
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      );
      const exit = new Promise<number>((resolve) => worker.once('exit', resolve));
      return { ready, answer, exit };
    });
    await Promise.all(messages.map((m) => m.ready));
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const onMainThread = native().hostUnameAsync();

    const answers = await Promise.all(messages.map((m) => m.answer));
    assert.equal(answers.length, count);
    for (const { sync, async } of answers) {
      assert.equal(sync.hostname, os.hostname());
      assert.equal(sync.release, os.release());
      assert.deepEqual(async, sync);
    }
    assert.deepEqual(await onMainThread, native().hostUname());
    // Each worker unloads its instance of the addon as it exits.
    assert.deepEqual(await Promise.all(messages.map((m) => m.exit)), new Array(count).fill(0));
  });

  it('survives workers terminated while their calls are in flight', () => {
    const result = run(process.execPath, [path.join(fixtures, 'terminate-mid-call.js'), packageRoot, nodeGypBuild]);
    assert.equal(result.signal, null, `the process died of ${result.signal}:\n${result.stderr}`);
    assertSucceeded(result, 'terminating busy workers');
    assert.deepEqual(JSON.parse(result.stdout), { terminated: 48, ok: true });
  });
});

describe('native build pipeline', function () {
  // Each build compiles the addon from scratch.
  this.timeout(180_000);
  const checkouts: string[] = [];
  after(async () => {
    // Builds a failed test did not wait for finish before their directories go.
    await Promise.allSettled(Object.values(builds).map((b) => b.done));
    for (const dir of checkouts) fs.rmSync(dir, { recursive: true, force: true });
  });
  const checkout = (label: string) => {
    const dir = freshCheckout(label);
    checkouts.push(dir);
    return dir;
  };
  let nodeGypReport: LoadReport | undefined;
  const cmakeJs = path.join(packageRoot, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  // The three builds start together and run side by side; each test waits for its own.
  const builds: Partial<Record<'gyp' | 'cmake' | 'prebuild', { dir: string; done: Promise<RunResult> }>> = {};

  before(function () {
    if (!onPath('g++') || !onPath('make')) {
      console.log('    (skipped: building the addon needs the Debian packages g++ and make)');
      this.skip();
    }
    const start = (label: 'gyp' | 'cmake' | 'prebuild', command: string, args: string[]) => {
      const dir = checkout(label);
      builds[label] = { dir, done: runAsync(command, args, { cwd: dir, env: offlineBuildEnv() }) };
    };
    start('gyp', 'npm', ['run', 'install']);
    if (onPath('cmake')) start('cmake', process.execPath, [cmakeJs, 'compile']);
    start('prebuild', 'npm', ['run', 'prebuild']);
  });

  it('the install script (node-gyp-build) compiles a checkout that has no prebuild', async () => {
    const { dir, done } = builds.gyp!;
    assertSucceeded(await done, 'npm run install');
    const built = path.join(dir, 'build', 'Release', 'virtnode.node');
    nodeGypReport = loadInChild(dir);
    assertWorkingAddon(nodeGypReport, built);
    if (onPath('nm')) assertNodeApiOnly(built);
  });

  it('cmake-js compile builds the same addon from CMakeLists.txt', async function () {
    if (!builds.cmake) {
      console.log('    (skipped: cmake-js needs cmake; install the Debian package cmake)');
      this.skip();
    }
    const { dir, done } = builds.cmake;
    assertSucceeded(await done, 'cmake-js compile');
    const built = path.join(dir, 'build', 'Release', 'virtnode.node');
    const report = loadInChild(dir);
    assertWorkingAddon(report, built);
    if (nodeGypReport) assert.deepEqual(report.exports, nodeGypReport.exports);
    if (onPath('nm')) assertNodeApiOnly(built);
  });

  it('npm run prebuild writes a stripped prebuilds/linux-x64/node.napi.node that loads without a compiler', async () => {
    const { dir, done } = builds.prebuild!;
    assertSucceeded(await done, 'npm run prebuild');
    const prebuild = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'node.napi.node');
    assert.ok(fs.existsSync(prebuild), `${prebuild} was not written`);
    fs.rmSync(path.join(dir, 'build'), { recursive: true, force: true });
    if (onPath('nm')) {
      assert.match(run('nm', [prebuild]).stderr, /no symbols/, 'the prebuild keeps its symbol table');
      assertNodeApiOnly(prebuild);
    }

    // A PATH with node and nothing else: no compiler, make, python or cmake to fall back on.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-bin-'));
    checkouts.push(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    for (const tool of ['g++', 'c++', 'gcc', 'cc', 'make', 'cmake', 'python3']) {
      assert.equal(onPath(tool, bin), null, `${tool} is reachable`);
    }
    const env: NodeJS.ProcessEnv = { PATH: bin, HOME: process.env.HOME };
    assertWorkingAddon(loadInChild(dir, env), prebuild);

    // The install script, as npm runs it (node_modules/.bin on PATH), takes the prebuild and
    // compiles nothing.
    const installEnv = { ...env, PATH: [bin, path.join(dir, 'node_modules', '.bin')].join(path.delimiter) };
    const installer = path.join(path.dirname(nodeGypBuild), 'bin.js');
    assertSucceeded(run(process.execPath, [installer], { cwd: dir, env: installEnv }), 'node-gyp-build (install script)');
    assert.equal(fs.existsSync(path.join(dir, 'build')), false, 'the install script built the addon despite the prebuild');
  });
});
