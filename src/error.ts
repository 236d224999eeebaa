// The one error type of virtnode. Every failure a caller sees is a VirError carrying the same
// numbers and message libvirt reports for the same failure (virterror.h, virerror.c).
import { ERROR_DOMAIN_CONSTANT_NAMES, ERROR_NAMES, ERROR_TEMPLATES, VIR_ERR_ERROR } from './error-codes';

export * from './error-codes';

export interface VirErrorFields {
  code: number;
  domain: number;
  message: string;
  level?: number;
  str1?: string | null;
  str2?: string | null;
  str3?: string | null;
  int1?: number;
  int2?: number;
}

export class VirError extends Error {
  /** virErrorNumber */
  readonly code: number;
  /** virErrorDomain */
  readonly domain: number;
  /** virErrorLevel */
  readonly level: number;
  readonly str1: string | null;
  readonly str2: string | null;
  readonly str3: string | null;
  readonly int1: number;
  readonly int2: number;

  constructor(fields: VirErrorFields) {
    super(fields.message);
    this.code = fields.code;
    this.domain = fields.domain;
    this.level = fields.level ?? VIR_ERR_ERROR;
    this.str1 = fields.str1 ?? null;
    this.str2 = fields.str2 ?? null;
    this.str3 = fields.str3 ?? null;
    this.int1 = fields.int1 ?? -1;
    this.int2 = fields.int2 ?? -1;
  }

  override get name(): string {
    return 'VirError';
  }

  /** The constant name of the code, e.g. 'VIR_ERR_NO_DOMAIN'. */
  get codeName(): string {
    return ERROR_NAMES[this.code] ?? `VIR_ERR_${this.code}`;
  }

  /** The constant name of the domain, e.g. 'VIR_FROM_TEST'. */
  get domainName(): string {
    return ERROR_DOMAIN_CONSTANT_NAMES[this.domain] ?? `VIR_FROM_${this.domain}`;
  }
}

/**
 * libvirt's virReportError: the message is the code's template, with the detail put in place of
 * `%s` when there is one. str1 holds the template, str2 the detail, as libvirt stores them.
 */
export function virError(code: number, domain: number, detail?: string): VirError {
  const [bare, withDetail] = ERROR_TEMPLATES[code] ?? ['unknown error', 'unknown error: %s'];
  if (detail === undefined) {
    return new VirError({ code, domain, message: bare, str1: bare });
  }
  return new VirError({
    code,
    domain,
    message: withDetail.replace('%s', () => detail),
    str1: withDetail,
    str2: detail,
  });
}

export function isVirError(err: unknown): err is VirError {
  return err instanceof VirError;
}
