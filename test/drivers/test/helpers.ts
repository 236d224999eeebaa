import assert from 'node:assert/strict';
import { VirError } from '../../../src/error';

/** Asserts a rejection carries libvirt's code, domain and message; returns the error. */
export async function rejectsWith(p: Promise<unknown>, code: number, domain: number, message: string): Promise<VirError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof VirError, `expected a VirError, got ${String(err)}`);
    assert.deepEqual([err.code, err.domain, err.message], [code, domain, message]);
    return err;
  }
  assert.fail(`expected an error: ${message}`);
}
