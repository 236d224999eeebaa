'use strict';
// Loads the addon of the package in argv[2] the way src/native.ts does (node-gyp-build, given by
// absolute path in argv[3] so that this runs from any directory and PATH) and prints what it says.
const os = require('node:os');

const [packageDir, nodeGypBuild] = process.argv.slice(2);
const load = require(nodeGypBuild);

(async () => {
  const file = load.path(packageDir);
  const addon = load(packageDir);
  const sync = addon.hostUname();
  const async = await addon.hostUnameAsync();
  process.stdout.write(
    JSON.stringify({
      file,
      exports: Object.keys(addon).sort(),
      version: addon.version,
      napiVersion: addon.napiVersion,
      sync,
      async,
      hostname: os.hostname(),
      release: os.release(),
    }),
  );
})();
