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

export interface NativeAddon {
  /** The addon's own version (VIRTNODE_ADDON_VERSION at build time). */
  readonly version: string;
  /** The N-API version the addon was built against. */
  readonly napiVersion: number;
  /** uname(2) + gethostname(2), on the calling thread. */
  hostUname(): HostUname;
  /** The same, on the libuv thread pool. */
  hostUnameAsync(): Promise<HostUname>;
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
