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

/**
 * A one-vCPU, 128 MiB x86_64 guest on this machine's QEMU with nothing but `devices` (lines
 * already indented to sit inside <devices>, after the emulator).
 */
export function guestXml(name: string, machine: 'pc' | 'q35', devices: string): string {
  return `<domain type='${virtType()}'>
  <name>${name}</name>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='${machine}'>hvm</type></os>
  <devices>
    <emulator>${QEMU}</emulator>
${devices}
  </devices>
</domain>`;
}
