// The argument checks the test driver's entry points make (libvirt's virCheckFlags and
// virDomainObjUpdateModificationImpact), with libvirt's exact error fields.
import { VirError, VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, VIR_FROM_TEST, virError } from '../../error';
import { checkFlags as checkFlagsFrom } from '../../util/flags';
import type { DomainObj } from './state';
import { isActive } from './state';

/** virCheckFlags, reported from the test driver. */
export function checkFlags(flags: number, allowed: number, fn: string): void {
  checkFlagsFrom(flags, allowed, fn, VIR_FROM_TEST);
}

/** virDomainObjCheckActive */
export function checkActive(obj: DomainObj): void {
  if (!isActive(obj)) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'domain is not running');
}

const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;

/**
 * virDomainObjGetDefs: which definitions a LIVE/CONFIG/CURRENT call changes. CURRENT means live
 * when running, config otherwise.
 */
export function definitionsFor(obj: DomainObj, flags: number): { live: boolean; config: boolean } {
  let live = (flags & AFFECT_LIVE) !== 0;
  let config = (flags & AFFECT_CONFIG) !== 0;
  if (!live && !config) {
    if (isActive(obj)) live = true;
    else config = true;
  }
  if (live && !isActive(obj)) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'domain is not running');
  if (config && !obj.persistent) {
    throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'transient domains do not have any persistent config');
  }
  return { live, config };
}

/** virDomainObjGetOneDefState: exactly one of live or config. */
export function oneDefinition(obj: DomainObj, flags: number): { live: boolean } {
  if ((flags & AFFECT_LIVE) && (flags & AFFECT_CONFIG)) {
    throw new VirError({
      code: VIR_ERR_INVALID_ARG,
      domain: VIR_FROM_DOMAIN,
      message: "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
      str1: 'virDomainObjGetOneDefState',
      str2: 'flags',
      int1: 0,
      int2: 0,
    });
  }
  return { live: definitionsFor(obj, flags).live };
}
