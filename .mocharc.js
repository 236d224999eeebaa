'use strict';
// Specs are TypeScript, loaded through tsx; the summary reporter prints the closing
// "N passed, N failed" line that CI reads.
module.exports = {
  require: ['tsx/cjs'],
  spec: ['test/**/*.test.ts'],
  extension: ['ts'],
  reporter: './test/support/reporter.js',
  timeout: 20000,
};
