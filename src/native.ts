// The one typed view of the native addon (native/addon.cc). Nothing else loads it, and nothing
// else knows its shape. Loaded on first use, so `require('virtnode')` stays cheap.
import { join } from 'node:path';

/** uname(2) and gethostname(2) */
export interface HostUname {
  sysname: string;
  nodename: string;
  release: string;
  version: string;
  machine: string;
  hostname: string;
}

/** Errors the addon throws: shaped like Node's system errors. */
export interface NativeSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

/** An open QMP socket (native/qmp.cc). Opaque: only the qmp* functions look inside. */
export interface QmpHandle {
  readonly __qmpHandle: unique symbol;
}

export interface NativeAddon {
  /** The addon's own version (VIRTNODE_ADDON_VERSION at build time). */
  readonly version: string;
  /** The N-API version the addon was built against. */
  readonly napiVersion: number;
  /** uname(2) + gethostname(2), on the calling thread. */
  hostUname(): HostUname;
  /** The same, on the libuv thread pool. */
  hostUnameAsync(): Promise<HostUname>;
  /** strerror(3): glibc's text for an errno value, positive or Node's negative. */
  strerror(errno: number): string;
  /**
   * socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK) + one connect(path), on the thread
   * pool. Rejects with a NativeSystemError (syscall 'connect', path): ENOENT before QEMU made the
   * socket, ECONNREFUSED, EAGAIN for a full backlog, ... Retrying is the caller's business.
   */
  qmpConnect(path: string): Promise<QmpHandle>;
  /** fcntl(F_DUPFD_CLOEXEC): a new fd for the same socket, owned by the caller (a net.Socket reads it). */
  qmpDupFd(handle: QmpHandle): number;
  /**
   * One sendmsg(MSG_NOSIGNAL|MSG_DONTWAIT) of as much of data as the socket takes now, on this
   * thread; the fds travel as SCM_RIGHTS with those bytes. Returns how many bytes did not fit
   * (0: all sent); when none went, the fds did not either. Throws a NativeSystemError
   * (syscall 'sendmsg': EPIPE, ECONNRESET, EBADF once closed).
   */
  qmpSend(handle: QmpHandle, data: string | Buffer, fds?: readonly number[]): number;
  /** Closes the handle's fd (not the dups). Idempotent; the finalizer and worker exit close it too. */
  qmpClose(handle: QmpHandle): void;
  /**
   * One request on a fresh socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, protocol), on the thread
   * pool: sendto(kernel) of message, then every datagram received until one holds an NLMSG_ERROR
   * or NLMSG_DONE whose seq is the first message's (set NLM_F_ACK to get one for a non-dump
   * request). The datagrams come back as received, each possibly several messages. Rejects with
   * a NativeSystemError (syscall 'socket', 'sendto', 'recvmsg', or 'poll' with ETIMEDOUT when
   * nothing arrives for timeoutMs). The socket is closed in every case.
   */
  netlinkRequest(protocol: number, message: Buffer, timeoutMs: number): Promise<Buffer[]>;
}

let addon: NativeAddon | undefined;

/** The package root: where binding.gyp, build/ and prebuilds/ live. */
export const packageRoot = join(__dirname, '..');

export function native(): NativeAddon {
  if (!addon) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    addon = load(packageRoot);
  }
  return addon;
}
