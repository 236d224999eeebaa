#!/usr/bin/env node
'use strict';
// The virtnode command line. Runs compiled JavaScript from lib/, never TypeScript.
//
// Fast path: lib/virtnode-cli.js, the CLI bundled into one file at build time, compiled with a V8
// code cache kept in $XDG_CACHE_HOME/virtnode (~/.cache/virtnode). It is used only while every
// bundled file is unchanged since bundling; otherwise, or on any trouble, lib/cli/main.js runs.
const fs = require('node:fs');
const path = require('node:path');

const lib = path.join(__dirname, '..', 'lib');

function freshBundle() {
  try {
    const inputs = JSON.parse(fs.readFileSync(path.join(lib, 'virtnode-cli.inputs.json'), 'utf8'));
    for (const { file, size, mtimeMs } of inputs) {
      const st = fs.statSync(path.join(lib, file));
      if (st.size !== size || st.mtimeMs !== mtimeMs) return null;
    }
    return path.join(lib, 'virtnode-cli.js');
  } catch {
    return null;
  }
}

function cacheFile(bundleStat) {
  const home = process.env.HOME || require('node:os').homedir();
  const base = process.env.XDG_CACHE_HOME || path.join(home, '.cache');
  const key = `${bundleStat.size}-${Math.trunc(bundleStat.mtimeMs)}-${process.versions.v8}`;
  return path.join(base, 'virtnode', `cli-${key}.v8cache`);
}

function loadBundle(file) {
  const vm = require('node:vm');
  const Module = require('node:module');
  const source = fs.readFileSync(file, 'utf8');
  const cachePath = cacheFile(fs.statSync(file));
  let cachedData;
  try {
    cachedData = fs.readFileSync(cachePath);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  mod.loaded = true;
  const wrapper = script.runInThisContext();
  wrapper.call(mod.exports, mod.exports, (id) => mod.require(id), mod, file, path.dirname(file));
  if (cachedData === undefined || script.cachedDataRejected) {
    // Written after the run, so the functions this command compiled lazily are in the cache too.
    process.once('beforeExit', () => {
      try {
        fs.mkdirSync(path.dirname(cachePath), { recursive: true });
        const tmp = `${cachePath}.${process.pid}`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cachePath);
        // Caches of earlier builds are dead weight.
        const dir = path.dirname(cachePath);
        for (const name of fs.readdirSync(dir)) {
          if (/^cli-.*\.v8cache$/.test(name) && name !== path.basename(cachePath)) fs.rmSync(path.join(dir, name), { force: true });
        }
      } catch {
        // a cache that cannot be written only costs speed
      }
    });
  }
  return mod.exports;
}

let cli;
const bundled = process.env.VIRTNODE_NO_BUNDLE ? null : freshBundle();
if (bundled) {
  try {
    cli = loadBundle(bundled);
  } catch {
    cli = undefined;
  }
}
(cli || require('../lib/cli/main.js')).main(process.argv.slice(2));
