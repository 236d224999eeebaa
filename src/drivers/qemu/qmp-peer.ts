// The seam between the capability prober (and later the driver) and whatever speaks QMP:
// the driver's monitor (monitor.ts) or a recorded conversation.
import { VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, VirError } from '../../error';

/** Anything that can run one QMP command and resolve with its `return` value. */
export interface QmpPeer {
  command(name: string, args?: Record<string, unknown>): Promise<unknown>;
}

/** A QMP `error` reply, reported with libvirt's message for a failed monitor command. */
export class QmpCommandError extends VirError {
  constructor(
    readonly command: string,
    /** QMP error class, e.g. 'DeviceNotFound', 'GenericError'. */
    readonly errorClass: string,
    readonly desc: string,
  ) {
    const detail = `unable to execute QEMU command '${command}': ${desc}`;
    super({
      code: VIR_ERR_INTERNAL_ERROR,
      domain: VIR_FROM_QEMU,
      message: `internal error: ${detail}`,
      str1: 'internal error: %s',
      str2: detail,
    });
  }
}
