// QMP round trip of `query-status`: virtnode's QemuMonitor (native sendmsg, net.Socket reads, TS
// monitor) against a minimal blocking C client (write, then read until '\n') on the same QEMU
// socket, in the same run.
//
// What is measured: one paused `qemu-system-x86_64 -machine none` serves both clients in turn
// (QEMU takes one QMP client at a time). Each round, both connect one after the other (C first
// in even rounds, virtnode first in odd ones, so neither always follows the other), negotiate
// capabilities, and time CALLS sequential round trips each, every command the same bytes
// (`{"execute":"query-status","id":"libvirt-N"}\r\n`, as libvirt writes it: QEMU reads a byte
// per main-loop turn, so the length matters). A round trip is from just before the write to the
// parsed reply (virtnode: the awaited `command()` promise). All samples of all ROUNDS rounds are
// pooled per side; the median is reported. The C client is the anchor. Goal: virtnode within
// 1.05x of C.
//
// Run: npm run bench -- qmp   (or npx tsx bench/qmp.bench.ts)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { QemuMonitor } from '../src/drivers/qemu/monitor';
import { median, type Benchmark } from './timing';

const CALLS = 500;
const ROUNDS = 10;
const QEMU = 'qemu-system-x86_64';

// The minimal blocking client: prints one round-trip time in ns per line.
const C_CLIENT = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];
static size_t have;

static void read_line(int fd) {
  for (;;) {
    char *nl = memchr(buf, '\n', have);
    if (nl) {
      size_t used = (size_t)(nl - buf) + 1;
      memmove(buf, nl + 1, have - used);
      have -= used;
      return;
    }
    ssize_t got = read(fd, buf + have, sizeof(buf) - have);
    if (got <= 0) { perror("read"); exit(1); }
    have += (size_t)got;
  }
}

static void send_all(int fd, const char *s, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, s, len);
    if (n <= 0) { perror("write"); exit(1); }
    s += n;
    len -= (size_t)n;
  }
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  int calls = atoi(argv[2]);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  strncpy(addr.sun_path, argv[1], sizeof(addr.sun_path) - 1);
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) { perror("connect"); return 1; }
  read_line(fd);
  const char *caps = "{\"execute\":\"qmp_capabilities\",\"id\":\"libvirt-1\"}\r\n";
  send_all(fd, caps, strlen(caps));
  read_line(fd);
  char cmd[128];
  for (int i = 0; i < calls; i++) {
    int len = snprintf(cmd, sizeof(cmd), "{\"execute\":\"query-status\",\"id\":\"libvirt-%d\"}\r\n", i + 2);
    long long t = now_ns();
    send_all(fd, cmd, (size_t)len);
    read_line(fd);
    printf("%lld\n", now_ns() - t);
  }
  close(fd);
  return 0;
}
`;

export interface QmpRoundTrip {
  /** µs, median over all pooled samples */
  virtnode: number;
  c: number;
}

async function measure(): Promise<QmpRoundTrip> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-qmp-bench-'));
  let qemu: ChildProcess | undefined;
  try {
    const client = path.join(dir, 'qmp-client');
    fs.writeFileSync(`${client}.c`, C_CLIENT);
    execFileSync('cc', ['-O2', '-o', client, `${client}.c`]);
    const socket = path.join(dir, 'qmp.sock');
    qemu = spawn(QEMU, ['-machine', 'none', '-S', '-nodefaults', '-nographic', '-display', 'none', '-qmp', `unix:${socket},server=on,wait=off`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const c: number[] = [];
    const ours: number[] = [];
    // Warm-up for both: JIT, page cache, QEMU's own first-call costs.
    await runVirtnode(socket, 200);
    runC(client, socket, 200);
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) c.push(...runC(client, socket, CALLS));
      ours.push(...(await runVirtnode(socket, CALLS)));
      if (round % 2 === 1) c.push(...runC(client, socket, CALLS));
    }
    return { virtnode: median(ours), c: median(c) };
  } finally {
    qemu?.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function runC(client: string, socket: string, calls: number): number[] {
  const out = execFileSync(client, [socket, String(calls)], { encoding: 'utf8' });
  return out.trim().split('\n').map((ns) => Number(ns) / 1000);
}

async function runVirtnode(socket: string, calls: number): Promise<number[]> {
  const mon = await QemuMonitor.open(socket, { timeoutMs: 10_000 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < calls; i++) {
      const t = process.hrtime.bigint();
      await mon.command('query-status');
      samples.push(Number(process.hrtime.bigint() - t) / 1000);
    }
  } finally {
    mon.close();
  }
  return samples;
}

let result: Promise<QmpRoundTrip> | undefined;
const measured = () => (result ??= measure());

const C_NAME = `QMP query-status round trip x${CALLS * ROUNDS} (blocking C client)`;

export const benchmarks: Benchmark[] = [
  {
    name: `QMP query-status round trip x${CALLS * ROUNDS} (virtnode QemuMonitor)`,
    unit: 'µs (median)',
    run: async () => (await measured()).virtnode,
    anchor: C_NAME,
  },
  {
    name: C_NAME,
    unit: 'µs (median)',
    run: async () => (await measured()).c,
  },
  {
    name: 'QMP query-status round trip, virtnode / C',
    unit: 'x',
    run: async () => {
      const { virtnode, c } = await measured();
      return virtnode / c;
    },
    goal: 1.05,
  },
];

async function main(): Promise<void> {
  const { virtnode, c } = await measure();
  const ratio = virtnode / c;
  console.log(`QMP query-status round trip, ${ROUNDS} rounds x ${CALLS} calls; µs, median`);
  console.log(`virtnode ${virtnode.toFixed(1)}   C ${c.toFixed(1)}   ratio ${ratio.toFixed(3)}x   goal <= 1.05x: ${ratio <= 1.05 ? 'met' : 'NOT met'}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
