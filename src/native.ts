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
  /**
   * socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC) + connect(path), on the thread pool, retried every
   * few ms while the path is missing (ENOENT) or refuses (ECONNREFUSED) until timeoutMs has passed.
   * Rejects with a NativeSystemError (syscall 'connect', path).
   */
  qmpConnect(path: string, timeoutMs: number): Promise<QmpHandle>;
  /**
   * Starts a reader thread for the socket; lines reach JS on this thread, through a thread-safe
   * function. onLine gets each complete line, CR/LF stripped. onClose fires
   * once when the peer goes away: null for EOF, else a NativeSystemError (ECONNRESET from 'read',
   * EPIPE from 'sendmsg', EMSGSIZE for a line over 64 MiB). Never after qmpClose.
   */
  qmpStart(handle: QmpHandle, onLine: (line: string) => void, onClose: (err: NativeSystemError | null) => void): void;
  /**
   * sendmsg(MSG_NOSIGNAL), queued behind earlier data. The fds are duplicated at once (the caller
   * may close its copies) and travel as SCM_RIGHTS with the first chunk of these bytes only.
   */
  qmpSend(handle: QmpHandle, data: string | Buffer, fds?: readonly number[]): void;
  /** Whether a started socket keeps the event loop alive (true after qmpStart), as socket.ref()/unref(). */
  qmpSetRef(handle: QmpHandle, ref: boolean): void;
  /** Stops polling, closes the socket, drops unsent data. Idempotent; onClose is not called. */
  qmpClose(handle: QmpHandle): void;
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
