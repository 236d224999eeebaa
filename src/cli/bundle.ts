// Build step for a fast CLI start (`npm run build` runs it after tsc): bundles lib/cli/main.js and
// what it reaches into one file, lib/virtnode-cli.js, so that starting `virtnode` reads one file
// instead of resolving some forty modules. Modules are still evaluated only when first required
// (esbuild keeps each in a lazy wrapper); the QEMU driver stays outside and loads from lib/ on
// demand. lib/virtnode-cli.inputs.json records the bundled files' sizes and mtimes: bin/virtnode.js
// uses the bundle only while they are unchanged, and falls back to lib/cli/main.js otherwise.
//
// esbuild comes with the dev dependencies (through tsx); without it the step is skipped and the
// command line runs from lib/ as compiled by tsc.
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface Metafile {
  inputs: Record<string, unknown>;
}

interface Esbuild {
  buildSync(options: Record<string, unknown>): { metafile?: Metafile };
}

export const BUNDLE_NAME = 'virtnode-cli.js';
export const INPUTS_NAME = 'virtnode-cli.inputs.json';

export function bundle(libDir: string): boolean {
  let esbuild: Esbuild;
  try {
    esbuild = require('esbuild') as Esbuild;
  } catch {
    return false;
  }
  const result = esbuild.buildSync({
    entryPoints: [path.join(libDir, 'cli', 'main.js')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: path.join(libDir, BUNDLE_NAME),
    external: ['./drivers/qemu', './native', 'node-gyp-build'],
    metafile: true,
    logLevel: 'error',
  });
  const inputs = Object.keys(result.metafile?.inputs ?? {}).map((input) => {
    const full = path.resolve(input);
    const st = statSync(full);
    return { file: path.relative(libDir, full), size: st.size, mtimeMs: st.mtimeMs };
  });
  writeFileSync(path.join(libDir, INPUTS_NAME), `${JSON.stringify(inputs)}\n`);
  return true;
}

if (require.main === module) {
  const libDir = path.resolve(__dirname, '..');
  if (!bundle(libDir)) process.stderr.write('esbuild not found: the CLI runs unbundled from lib/\n');
}
