// API parity with libvirt-python on test:///default: every scenario of scenarios.ts runs through
// python3-libvirt (one child process per scenario, in parallel) and through virtnode (in this
// process, one scenario at a time from a fresh default state); each step is one test case.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import * as virtnode from '../../src';
import { API_MAP } from './api-map';
import { comparable, describeStep, havePythonLibvirt, PYTHON, runPython, runVirtnode, type Outcome, type Scenario } from './harness';
import { SCENARIOS, STEP_COUNT } from './scenarios';

const SKIP_MESSAGE = 'install python3-libvirt (Debian) to run the parity suite';

/** Every scenario must start from the pristine default node, as each python process does. */
type FreshState = () => Promise<void> | void;

/** The test driver's hook for a pristine test:///default, if it offers one. */
function driverResetHook(): FreshState | null {
  try {
    const mod = require('../../src/drivers/test') as { resetDefaultState?: FreshState };
    return typeof mod.resetDefaultState === 'function' ? mod.resetDefaultState : null;
  } catch {
    return null;
  }
}

/**
 * Like libvirt's defaultPrivconn, the default node is dropped when its last connection closes, so
 * a connection opened when no other is open sees it pristine. Checked, because another spec may
 * have left a connection open.
 */
async function defaultNodeIsPristine(): Promise<boolean> {
  try {
    const conn = await virtnode.Connect.open('test:///default');
    try {
      const doms = (await conn.listAllDomains(0)).map((d) => `${d.getName()}/${d.getID()}`);
      const nets = (await conn.listAllNetworks(0)).map((n) => n.getName());
      return JSON.stringify(doms) === '["test/1"]' && JSON.stringify(nets) === '["default"]';
    } finally {
      await conn.close();
    }
  } catch {
    return false;
  }
}

/** Otherwise a scenario runs in its own node process, so it still starts fresh. */
function runVirtnodeInChild(scenario: Scenario): Promise<Outcome[]> {
  const child = path.join(__dirname, 'virtnode-child.ts');
  return new Promise((resolve, reject) => {
    const proc = execFile(
      process.execPath,
      ['--import', 'tsx', child],
      { cwd: path.resolve(__dirname, '..', '..'), maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`virtnode child failed for '${scenario.name}': ${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout) as Outcome[]);
      },
    );
    proc.stdin!.end(JSON.stringify(scenario));
  });
}

async function inPool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

describe(`parity: virtnode vs libvirt-python on test:///default (${SCENARIOS.length} scenarios, ${STEP_COUNT} steps)`, function () {
  this.timeout(180000);
  const python = new Map<Scenario, Outcome[] | Error>();
  const ours = new Map<Scenario, Outcome[] | Error>();
  const available = havePythonLibvirt();

  before(async function () {
    if (!available) {
      if (process.env.CI) throw new Error(`python3-libvirt is missing in CI: ${SKIP_MESSAGE}`);
      return;
    }
    const width = Math.max(2, os.cpus().length);
    const pythonDone = inPool(SCENARIOS, width, async (sc) => {
      python.set(sc, await runPython(sc).catch((e: Error) => e));
    });
    const reset = driverResetHook();
    for (const sc of SCENARIOS) {
      if (reset) await reset();
      if (reset || (await defaultNodeIsPristine())) {
        ours.set(sc, await runVirtnode(sc).catch((e: Error) => e));
      } else {
        ours.set(sc, await runVirtnodeInChild(sc).catch((e: Error) => e));
      }
    }
    await pythonDone;
  });

  it('the VIR_* constants virtnode exports equal libvirt-python’s', function (done) {
    if (!available) {
      this.test!.title += ` (skipped: ${SKIP_MESSAGE})`;
      this.skip();
    }
    const names = Object.keys(virtnode).filter((k) => /^VIR_[A-Z0-9_]+$/.test(k));
    const script =
      'import json, sys, libvirt\n' +
      'names = json.load(sys.stdin)\n' +
      'json.dump({n: getattr(libvirt, n) for n in names if isinstance(getattr(libvirt, n, None), int)}, sys.stdout)\n';
    const proc = execFile(PYTHON, ['-c', script], (err, stdout) => {
      if (err) return done(err);
      const pyValues = JSON.parse(stdout) as Record<string, number>;
      const ourValues = virtnode as unknown as Record<string, unknown>;
      const differing = Object.entries(pyValues)
        .filter(([n, v]) => ourValues[n] !== v)
        .map(([n, v]) => `${n}: virtnode ${String(ourValues[n])}, libvirt ${v}`);
      try {
        assert.ok(Object.keys(pyValues).length > 100, 'python knows most of the constants');
        assert.deepEqual(differing, []);
        done();
      } catch (e) {
        done(e);
      }
    });
    proc.stdin!.end(JSON.stringify(names));
  });

  it('every function of the mapping table is exercised by at least one step', () => {
    const used = new Set(SCENARIOS.flatMap((sc) => sc.steps.map((s) => s.call)));
    assert.deepEqual([...API_MAP.keys()].filter((c) => !used.has(c)), []);
    assert.ok(STEP_COUNT >= 150, `${STEP_COUNT} steps`);
  });

  let number = 0;
  for (const sc of SCENARIOS) {
    describe(`scenario: ${sc.name}`, () => {
      sc.steps.forEach((step, index) => {
        number += 1;
        it(`step ${number}: ${describeStep(step)}`, function () {
          if (!available) {
            this.test!.title += ` (skipped: ${SKIP_MESSAGE})`;
            this.skip();
          }
          const py = python.get(sc);
          const vn = ours.get(sc);
          if (py instanceof Error || py === undefined) throw py ?? new Error('python runner did not run');
          if (vn instanceof Error || vn === undefined) throw vn ?? new Error('virtnode runner did not run');
          const expected = comparable(step, 'python', py[index]) as Record<string, unknown>;
          const actual = comparable(step, 'virtnode', vn[index]);
          assert.ok(!('thrown' in expected), `harness problem on the python side: ${JSON.stringify(expected)}`);
          assert.deepStrictEqual(actual, expected);
        });
      });
    });
  }
});
