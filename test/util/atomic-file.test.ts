// writeFileAtomic: what a reader (or the next process after a crash) can see of a state file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../src/util/atomic-file';

describe('util/atomic-file', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'virtnode-atomic-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('replaces the file whole, private to its owner, and leaves no temp file', async () => {
    const file = path.join(tmp, 'state.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, Buffer.from('two'));
    assert.equal(fs.readFileSync(file, 'utf8'), 'two');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(tmp), ['state.json']);
  });

  it('a write that fails leaves the old content and no temp file', async () => {
    const file = path.join(tmp, 'state.json');
    await writeFileAtomic(file, 'old');
    // A directory where the file should be: the rename fails after the temp file was written.
    const blocked = path.join(tmp, 'blocked');
    fs.mkdirSync(path.join(blocked, 'inside'), { recursive: true });
    await assert.rejects(writeFileAtomic(blocked, 'new'));
    assert.equal(fs.readFileSync(file, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['blocked', 'state.json']);
  });
});
