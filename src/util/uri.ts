// Which URI a connection opens when the caller names none.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, binary)));
}

/**
 * $VIRTNODE_DEFAULT_URI, else $LIBVIRT_DEFAULT_URI, else QEMU's system or session URI when a QEMU
 * binary is installed (system for root), else the test driver's default node.
 */
export function defaultURI(): string {
  const fromEnv = process.env.VIRTNODE_DEFAULT_URI || process.env.LIBVIRT_DEFAULT_URI;
  if (fromEnv) return fromEnv;
  if (onPath('qemu-system-x86_64')) {
    return process.getuid?.() === 0 ? 'qemu:///system' : 'qemu:///session';
  }
  return 'test:///default';
}
