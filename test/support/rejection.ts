// Catching the VirError a call rejects with, for tests that compare libvirt's error fields.
import assert from 'node:assert/strict';
import { VirError } from '../../src/error';

/** The VirError `p` rejects with; fails the test when it resolves or rejects with something else. */
export async function rejection(p: Promise<unknown>): Promise<VirError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof VirError, `expected a VirError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to fail');
}
