// The one seam between virtnode and the kernel's file interfaces (/sys, /dev/vfio). Every path
// is written as on the host ('/sys/bus/pci/devices/0000:06:12.1/driver') and resolved under a
// root prefix: '' on a real host, a temporary directory for a fake tree. Every call is a promise
// on fs.promises, so a slow sysfs write (a driver's remove or probe) runs on libuv's pool, never on
// the JS thread.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export interface KernelFiles {
  /** The prefix every kernel path is resolved under; '' for the host. */
  readonly root: string;
  /** A file's text, as the kernel returns it (usually with a trailing newline). */
  read(file: string): Promise<string>;
  /** A file's first `max` bytes (PCI config space: each byte may be a trapped hardware read). */
  readBytes(file: string, max: number): Promise<Buffer>;
  /** A symlink's target, as stored (often relative). */
  readlink(file: string): Promise<string>;
  /** The entries of a directory, unsorted as the kernel gives them. */
  readdir(dir: string): Promise<string[]>;
  /** Writes to an attribute that exists, as `echo -n data > file` does: no create, truncate. */
  write(file: string, data: string): Promise<void>;
  /** Whether the path exists (symlinks followed). */
  exists(file: string): Promise<boolean>;
}

/** The kernel's files under `root` on this machine's file system. */
export class HostKernelFiles implements KernelFiles {
  constructor(readonly root = '') {}

  protected at(file: string): string {
    return this.root === '' ? file : path.join(this.root, file);
  }

  read(file: string): Promise<string> {
    return fsp.readFile(this.at(file), 'utf8');
  }

  async readBytes(file: string, max: number): Promise<Buffer> {
    const handle = await fsp.open(this.at(file), 'r');
    try {
      const buf = Buffer.alloc(max);
      const { bytesRead } = await handle.read(buf, 0, max, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  readlink(file: string): Promise<string> {
    return fsp.readlink(this.at(file));
  }

  readdir(dir: string): Promise<string[]> {
    return fsp.readdir(this.at(dir));
  }

  async write(file: string, data: string): Promise<void> {
    // O_CREAT would turn a missing attribute into a stray regular file on a fake tree, and hide
    // the ENOENT a real sysfs gives.
    const handle = await fsp.open(this.at(file), fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    try {
      await handle.write(data);
    } finally {
      await handle.close();
    }
  }

  async exists(file: string): Promise<boolean> {
    try {
      await fsp.stat(this.at(file));
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * A kernel interface tests can stand in for, per kernel root: `get(root)` is the fake registered
 * for the root, else `real(root)`; `substitute(root, fake)` registers one until the returned
 * function is called (and leaves a later registration for the root alone).
 */
export function kernelRootSeam<T>(real: (root: string) => T): { get(root: string): T; substitute(root: string, fake: T): () => void } {
  const fakes = new Map<string, T>();
  return {
    get: (root) => fakes.get(root) ?? real(root),
    substitute(root, fake) {
      fakes.set(root, fake);
      return () => {
        if (fakes.get(root) === fake) fakes.delete(root);
      };
    },
  };
}

const kernelFilesSeam = kernelRootSeam<KernelFiles>((root) => new HostKernelFiles(root));

/**
 * Test hook: calls for `root` go to `files` (a fake kernel whose writes act like the kernel's)
 * until the returned function is called. Never used on a real host.
 */
export function substituteKernelFiles(root: string, files: KernelFiles): () => void {
  return kernelFilesSeam.substitute(root, files);
}

/** The kernel files under `root`: a registered fake, else the file system. */
export function kernelFiles(root = ''): KernelFiles {
  return kernelFilesSeam.get(root);
}

/** Where a symlink points, as an absolute kernel path (the kernel's links are relative). */
export async function resolveLink(files: KernelFiles, link: string): Promise<string> {
  const target = await files.readlink(link);
  return path.posix.resolve(path.posix.dirname(link), target);
}

/** The text of an attribute without its trailing newline, or null when it cannot be read. */
export async function readAttr(files: KernelFiles, file: string): Promise<string | null> {
  try {
    return (await files.read(file)).replace(/\n$/, '');
  } catch {
    return null;
  }
}

/** A directory's entries, or [] when it is missing. */
export async function listDir(files: KernelFiles, dir: string): Promise<string[]> {
  try {
    return await files.readdir(dir);
  } catch {
    return [];
  }
}

/** A symlink's target basename, or null when there is no link (a device's driver, its group). */
export async function linkBasename(files: KernelFiles, link: string): Promise<string | null> {
  try {
    return path.posix.basename(await files.readlink(link));
  } catch {
    return null;
  }
}
