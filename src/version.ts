// virtnode's own version, as virConnectGetLibVersion and virGetVersion report it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let cached: string | undefined;

export function packageVersion(): string {
  cached ??= (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}

/** major * 1,000,000 + minor * 1,000 + micro */
export function libVersionNumber(version = packageVersion()): number {
  const [major, minor, micro] = version.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  return major * 1_000_000 + minor * 1_000 + micro;
}
