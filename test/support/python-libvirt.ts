// libvirt 9.0 itself, through Debian's python3-libvirt, as the oracle for foundation tests: a test
// that needs it skips with a message naming the package when it is missing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { VirError } from '../../src/error';

/** The nine fields libvirt's virError carries, as compared between libvirt and virtnode. */
export interface ErrorFields {
  code: number;
  domain: number;
  level: number;
  message: string;
  str1: string | null;
  str2: string | null;
  str3: string | null;
  int1: number;
  int2: number;
}

export function errorFields(err: VirError): ErrorFields {
  const { code, domain, level, message, str1, str2, str3, int1, int2 } = err;
  return { code, domain, level, message, str1, str2, str3, int1, int2 };
}

/** Debian's interpreter: the `python3` first on PATH may be another one, without libvirt. */
export const PYTHON = '/usr/bin/python3';

let available: boolean | undefined;

export function hasPythonLibvirt(): boolean {
  available ??= spawnSync(PYTHON, ['-c', 'import libvirt'], { stdio: 'ignore' }).status === 0;
  return available;
}

/** Skips the calling mocha test or hook when python3-libvirt is not installed. */
export function requirePythonLibvirt(ctx: Mocha.Context): void {
  if (!hasPythonLibvirt()) {
    console.log('    (skipped: needs libvirt-python; install the Debian package python3-libvirt)');
    ctx.skip();
  }
}

/** Runs a python script (with libvirt importable) that prints one JSON document; returns it. */
export function runPythonJSON<T>(script: string, args: string[] = []): T {
  const result = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`python3 failed (${result.status}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** The fields of a libvirt error as python's libvirtError reports them. */
export const PYTHON_ERROR_FIELDS = `
def error_fields(e):
    return dict(code=e.get_error_code(), domain=e.get_error_domain(), level=e.get_error_level(),
                message=e.get_error_message(), str1=e.get_str1(), str2=e.get_str2(),
                str3=e.get_str3(), int1=e.get_int1(), int2=e.get_int2())
`;

/**
 * libvirt 9.0's parse and format of node device XML: `xmls` go into a `<node>` file (written in
 * `dir`) that libvirt's test driver loads, and the devices named `names` come back as it formats
 * them, in that order.
 */
export function libvirtReformatsNodeDevices(dir: string, xmls: string[], names: string[]): string[] {
  const nodeFile = path.join(dir, 'node.xml');
  fs.writeFileSync(nodeFile, `<node>\n${xmls.join('')}</node>\n`);
  return runPythonJSON<string[]>(
    `
import json, sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open('test://' + sys.argv[1])
print(json.dumps([c.nodeDeviceLookupByName(n).XMLDesc(0) for n in sys.argv[2:]]))`,
    [nodeFile, ...names],
  );
}
