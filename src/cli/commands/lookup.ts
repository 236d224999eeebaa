// virsh's object lookups: which ways a command-line word may name a domain, network or device,
// and the message printed when none matches.
import { Domain } from '../../domain';
import { Network } from '../../network';
import { NodeDevice } from '../../node-device';
import type { ParsedCommand } from '../parse';
import { CommandError } from '../output';
import { type Session, optString } from '../session';

export const BY_ID = 1;
export const BY_UUID = 2;
export const BY_NAME = 4;

const UUID_STRING_LENGTH = 36;

/** virStrToLong_i with nothing after the number: the word as a domain ID, or null. */
function parseID(word: string): number | null {
  if (!/^\s*[+-]?\d+$/.test(word)) return null;
  const id = Number.parseInt(word, 10);
  return id >= 0 && id <= 0x7fffffff ? id : null;
}

/** Domain by ID, then UUID, then name; virsh drops the library's error and prints its own. */
export async function lookupDomain(session: Session, word: string, by = BY_ID | BY_UUID | BY_NAME): Promise<Domain> {
  const conn = await session.conn();
  const attempts: Array<() => Promise<Domain>> = [];
  const id = parseID(word);
  if (by & BY_ID && id !== null) attempts.push(() => Domain.lookupByID(conn, id));
  if (by & BY_UUID && word.length === UUID_STRING_LENGTH) attempts.push(() => Domain.lookupByUUIDString(conn, word));
  if (by & BY_NAME) attempts.push(() => Domain.lookupByName(conn, word));
  for (const attempt of attempts) {
    try {
      return await attempt();
    } catch {
      // try the next way of reading the word
    }
  }
  throw new CommandError(`failed to get domain '${word}'`);
}

export function domainOpt(session: Session, cmd: ParsedCommand, by?: number): Promise<Domain> {
  return lookupDomain(session, optString(cmd, 'domain') as string, by);
}

/** Network by UUID, then name; the library's last error follows virsh's line. */
export async function networkOpt(session: Session, cmd: ParsedCommand): Promise<Network> {
  const word = optString(cmd, 'network') as string;
  const conn = await session.conn();
  let last: unknown;
  if (word.length === UUID_STRING_LENGTH) {
    try {
      return await Network.lookupByUUIDString(conn, word);
    } catch (err) {
      last = err;
    }
  }
  try {
    return await Network.lookupByName(conn, word);
  } catch (err) {
    last = err;
  }
  throw new CommandError(`failed to get network '${word}'`, last);
}

export async function nodeDeviceOpt(session: Session, cmd: ParsedCommand): Promise<NodeDevice> {
  const word = optString(cmd, 'device') as string;
  const conn = await session.conn();
  try {
    return await NodeDevice.lookupByName(conn, word);
  } catch (err) {
    throw new CommandError(`Could not find matching device '${word}'`, err);
  }
}

/** virsh's virFileReadAll failure text. */
export async function readFileArg(path: string): Promise<string> {
  const { readFile } = require('node:fs/promises') as typeof import('node:fs/promises');
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const verb = e.code === 'EISDIR' ? 'read' : 'open';
    throw new CommandError(`Failed to ${verb} file '${path}': ${strerror(e)}`);
  }
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EPERM: 'Operation not permitted',
};

export function strerror(e: NodeJS.ErrnoException): string {
  return (e.code && STRERROR[e.code]) || e.message;
}

/** VSH_EXCLUSIVE_OPTIONS: the first pair given together fails the command. */
export function exclusive(cmd: ParsedCommand, ...pairs: Array<[string, string]>): void {
  for (const [a, b] of pairs) {
    if (cmd.opts.has(a) && cmd.opts.has(b)) throw new CommandError(`Options --${a} and --${b} are mutually exclusive`);
  }
}
