'use strict';
// Workers keep many netlinkRequest calls (RTM_GETLINK of lo) in flight on the thread pool; the
// main thread terminates them mid-call, round after round, then makes one request itself. A
// crash shows as a signal or a non-zero exit code, a leaked socket in the count of open sockets.
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');

const [packageDir, nodeGypBuild, requestHex] = process.argv.slice(2);
const ROUNDS = 6;
const WORKERS = 8;

const workerSource = `
  const { parentPort, workerData } = require('node:worker_threads');
  const addon = require(workerData.nodeGypBuild)(workerData.packageDir);
  const request = Buffer.from(workerData.requestHex, 'hex');
  const keepBusy = () => {
    for (let i = 0; i < 32; i++) addon.netlinkRequest(0, request, 2000).catch(() => {});
    setImmediate(keepBusy);
  };
  keepBusy();
  parentPort.postMessage('busy');
`;

// Sockets only: worker threads themselves may leave the loop's own fds (eventfd, epoll) behind.
const openSockets = () =>
  fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;

(async () => {
  const addon = require(nodeGypBuild)(packageDir);
  const request = Buffer.from(requestHex, 'hex');
  await addon.netlinkRequest(0, request, 2000);
  const socketsBefore = openSockets();
  let terminated = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const workers = Array.from({ length: WORKERS }, () => new Worker(workerSource, { eval: true, workerData: { packageDir, nodeGypBuild, requestHex } }));
    if (round % 2 === 0) await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))));
    else await new Promise((resolve) => setTimeout(resolve, round * 5));
    terminated += (await Promise.all(workers.map((w) => w.terminate()))).length;
  }
  // Requests of terminated workers finish on the pool and close their sockets.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const replies = await addon.netlinkRequest(0, request, 2000);
  process.stdout.write(JSON.stringify({ terminated, replies: replies.length, leakedSockets: openSockets() - socketsBefore }));
})();
