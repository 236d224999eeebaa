// Argument checks every driver makes at its entry points (libvirt's virCheckFlags and
// virDomainObjCheckActive), with libvirt's exact error fields.
import { VirError, VIR_ERR_INVALID_ARG } from '../error';

/** virCheckFlags: unknown bits fail as virReportInvalidArg reports them (str1 function, str2 'flags'). */
export function checkFlags(flags: number, allowed: number, fn: string, from: number): void {
  const bad = (flags & ~allowed) >>> 0;
  if (bad === 0) return;
  throw new VirError({
    code: VIR_ERR_INVALID_ARG,
    domain: from,
    message: `unsupported flags (0x${bad.toString(16)}) in function ${fn}`,
    str1: fn,
    str2: 'flags',
    int1: 0,
    int2: 0,
  });
}

/** What virConnectListAllDomains' filter flags look at. */
export interface DomainListFacts {
  active: boolean;
  persistent: boolean;
  state: number;
  managedSave: boolean;
  autostart: boolean;
  snapshots: boolean;
  checkpoints: boolean;
}

const RUNNING = 1;
const PAUSED = 3;
const SHUTOFF = 5;

/** virDomainObjListFilter: whether a domain passes VIR_CONNECT_LIST_DOMAINS_* `flags`. */
export function domainMatchesListFlags(d: DomainListFacts, flags: number): boolean {
  const pair = (yes: number, no: number, value: boolean): boolean => {
    const want = flags & (yes | no);
    if (want === 0 || want === (yes | no)) return true;
    return want === yes ? value : !value;
  };
  if (!pair(1, 2, d.active)) return false;
  if (!pair(4, 8, d.persistent)) return false;
  const stateBits = flags & (16 | 32 | 64 | 128);
  if (stateBits !== 0) {
    const s = d.state;
    const ok =
      ((stateBits & 16) !== 0 && s === RUNNING) ||
      ((stateBits & 32) !== 0 && s === PAUSED) ||
      ((stateBits & 64) !== 0 && s === SHUTOFF) ||
      ((stateBits & 128) !== 0 && s !== RUNNING && s !== PAUSED && s !== SHUTOFF);
    if (!ok) return false;
  }
  if (!pair(256, 512, d.managedSave)) return false;
  if (!pair(1024, 2048, d.autostart)) return false;
  if (!pair(4096, 8192, d.snapshots)) return false;
  if (!pair(16384, 32768, d.checkpoints)) return false;
  return true;
}
