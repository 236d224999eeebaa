// What the tests on the real QEMU share: where the binary is, how they skip without it, and
// which accelerator works here.
import fs from 'node:fs';

export const QEMU = '/usr/bin/qemu-system-x86_64';

/** Skips the suite, saying what to install, when Debian's QEMU is missing. */
export function skipWithoutQemu(ctx: Mocha.Context): void {
  if (fs.existsSync(QEMU)) return;
  console.log(`      (skipped: ${QEMU} missing; install the Debian package qemu-system-x86)`);
  ctx.skip();
}

/** KVM when the kernel lets us open it, else TCG. */
export function virtType(): 'kvm' | 'qemu' {
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
    return 'kvm';
  } catch {
    return 'qemu';
  }
}
