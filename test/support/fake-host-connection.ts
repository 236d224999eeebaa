// A qemu:///embed connection on a fresh root whose kernel files are a fake host's (the sysfsroot
// hook), for the host-device suites: opened before a test, and after it every domain it started
// is destroyed and the root, the fake tree and the connection are gone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connect } from '../../src/connect';
import type { FakeHost } from './fake-sysfs';

export interface FakeHostConnection {
  host: FakeHost;
  /** The embed root. */
  root: string;
  uri: string;
  conn: Connect;
}

/** Opens qemu:///embed on a new temp root (named after `prefix`) with `host` as its sysfs. */
export async function connectToFakeHost(prefix: string, host: FakeHost): Promise<FakeHostConnection> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const uri = `qemu:///embed?root=${root}&sysfsroot=${host.root}`;
  try {
    return { host, root, uri, conn: await Connect.open(uri) };
  } catch (err) {
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/** Destroys the domains still running, closes the connection, removes the root and the fake tree. */
export async function closeFakeHost({ host, root, conn }: FakeHostConnection): Promise<void> {
  try {
    for (const dom of await conn.listAllDomains()) {
      if (await dom.isActive()) await dom.destroy();
    }
    await conn.close();
  } finally {
    host.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
