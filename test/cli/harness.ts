// Shared by the CLI specs: run the real `virsh` and the real `bin/virtnode.js` as child processes,
// and keep lib/ (what the bin loads) built from the current sources.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const bin = path.join(repoRoot, 'bin', 'virtnode.js');
export const dataDir = path.join(repoRoot, 'test', 'data', 'cli');

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number;
}

/** A fixed environment so both programs see the same locale and no default URI of the caller's. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LC_ALL: 'C',
    LANG: 'C',
    // the bin's compile cache goes here rather than into the user's ~/.cache
    XDG_CACHE_HOME: path.join(tmpdir(), 'virtnode-cli-test-cache'),
    ...extra,
  };
  delete env.LIBVIRT_DEFAULT_URI;
  delete env.VIRTNODE_DEFAULT_URI;
  delete env.NO_COLOR;
  return env;
}

export function run(file: string, args: string[], env = cleanEnv()): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 30_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ stdout, stderr, status });
    });
  });
}

export function hasVirsh(): boolean {
  return spawnSync('virsh', ['--version'], { encoding: 'utf8' }).status === 0;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** True while every file bundled into lib/virtnode-cli.js is as it was when bundled. */
function bundleFresh(): boolean {
  const lib = path.join(repoRoot, 'lib');
  try {
    const inputs = JSON.parse(readFileSync(path.join(lib, 'virtnode-cli.inputs.json'), 'utf8')) as Array<{ file: string; size: number; mtimeMs: number }>;
    return inputs.every(({ file, size, mtimeMs }) => {
      const st = statSync(path.join(lib, file));
      return st.size === size && st.mtimeMs === mtimeMs;
    });
  } catch {
    return false;
  }
}

/**
 * What `npm run build` does, when needed: tsc when any source is newer than the compiled CLI
 * entry point, then the CLI bundle when it no longer matches lib/ (so the specs run the bin the
 * way users get it).
 */
export function ensureBuilt(): void {
  const entry = path.join(repoRoot, 'lib', 'cli', 'main.js');
  if (!existsSync(entry) || statSync(entry).mtimeMs < newestMtime(path.join(repoRoot, 'src'))) {
    // tsc still writes its output when some other file has a type error; the entry point is what matters.
    spawnSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
  }
  if (!existsSync(entry)) throw new Error('lib/cli/main.js was not built: run `npm run build`');
  if (!bundleFresh()) spawnSync(process.execPath, [path.join(repoRoot, 'lib', 'cli', 'bundle.js')], { cwd: repoRoot });
}

/** Runs jobs with at most `limit` child processes at a time. */
export async function inBatches<T>(jobs: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}
