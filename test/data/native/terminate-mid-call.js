'use strict';
// Workers load the addon and keep many hostUnameAsync calls in flight on the thread pool; the
// main thread terminates them mid-call, round after round, then uses the addon itself. A crash
// (use after free of a torn-down environment) shows as a signal or a non-zero exit code.
const os = require('node:os');
const { Worker } = require('node:worker_threads');

const [packageDir, nodeGypBuild] = process.argv.slice(2);
const ROUNDS = 6;
const WORKERS = 8;

const workerSource = `
  const { parentPort, workerData } = require('node:worker_threads');
  const addon = require(workerData.nodeGypBuild)(workerData.packageDir);
  let completed = 0;
  const keepBusy = () => {
    for (let i = 0; i < 64; i++) addon.hostUnameAsync().then(() => { completed++; });
    setImmediate(keepBusy);
  };
  keepBusy();
  parentPort.postMessage('busy');
`;

function startWorker() {
  const worker = new Worker(workerSource, { eval: true, workerData: { packageDir, nodeGypBuild } });
  const busy = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, busy };
}

(async () => {
  let terminated = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const started = Array.from({ length: WORKERS }, startWorker);
    // Even rounds stop workers while their calls are in flight; odd rounds may stop some while
    // they are still loading the addon.
    if (round % 2 === 0) await Promise.all(started.map((s) => s.busy));
    else await new Promise((resolve) => setTimeout(resolve, round * 5));
    const codes = await Promise.all(started.map((s) => s.worker.terminate()));
    terminated += codes.length;
  }
  const addon = require(nodeGypBuild)(packageDir);
  const after = await addon.hostUnameAsync();
  const ok = after.hostname === os.hostname() && after.release === os.release();
  process.stdout.write(JSON.stringify({ terminated, ok }));
})();
