// The virtio/hostdev failover pair (<teaming>): libvirt's generic validation rules V1-V5 and the
// texts of the QEMU driver's rules Q0-Q3, which live here so every driver reports them alike.
import { VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, VIR_FROM_QEMU, virError, type VirError } from '../error';
import type { HostdevDef, NetDef, TeamingInfo } from './domain-def';

/** virDomainNetDefValidate, teaming part (V1, V2). */
export function validateNetTeaming(net: NetDef): void {
  const t = net.teaming;
  if (!t) return;
  if (t.type === 'transient') {
    if (t.persistent === undefined) {
      throw virError(
        VIR_ERR_CONFIG_UNSUPPORTED,
        VIR_FROM_DOMAIN,
        "teaming persistent attribute must be set if teaming type is 'transient'",
      );
    }
  } else if (t.persistent !== undefined) {
    throw virError(
      VIR_ERR_CONFIG_UNSUPPORTED,
      VIR_FROM_DOMAIN,
      `teaming persistent attribute not allowed if teaming type is '${t.type}'`,
    );
  }
}

/** virDomainHostdevDefValidate, teaming part (V3, V4, V5). */
export function validateHostdevTeaming(hostdev: HostdevDef): void {
  const t = hostdev.teaming;
  if (!t) return;
  if (t.type !== 'transient') {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, "teaming hostdev devices must have type='transient'");
  }
  if (t.persistent === undefined) {
    throw virError(
      VIR_ERR_CONFIG_UNSUPPORTED,
      VIR_FROM_DOMAIN,
      'missing required persistent attribute in hostdev teaming element',
    );
  }
  if (hostdev.mode !== 'subsystem' || hostdev.type !== 'pci') {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, 'teaming is only supported for pci hostdev devices');
  }
}

/** NIC models QEMU counts as virtio for the persistent member. */
export function isVirtioNetModel(model: string | undefined): boolean {
  return model === 'virtio' || model === 'virtio-transitional' || model === 'virtio-non-transitional';
}

/** Q0 (libvirt 6.1-8.6): the QEMU binary lacks virtio-net-pci's `failover` property. */
export function teamingUnsupportedError(): VirError {
  return virError(
    VIR_ERR_CONFIG_UNSUPPORTED,
    VIR_FROM_QEMU,
    'virtio-net failover (teaming) is not supported with this QEMU binary',
  );
}

/** Q1: the persistent member must be a virtio NIC. `model` undefined prints as '(null)', like glibc. */
export function teamingPersistentModelError(model: string | undefined): VirError {
  return virError(
    VIR_ERR_CONFIG_UNSUPPORTED,
    VIR_FROM_QEMU,
    `virtio-net teaming persistent interface must be <model type='virtio'/>, not '${model ?? '(null)'}'`,
  );
}

/** Q2: the transient member must be a hostdev (or network) interface. */
export function teamingTransientTypeError(type: string): VirError {
  return virError(
    VIR_ERR_CONFIG_UNSUPPORTED,
    VIR_FROM_QEMU,
    `virtio-net teaming transient interface must be type='hostdev', not '${type}'`,
  );
}

/** Q3: at start/hotplug, the transient member's actual type did not resolve to hostdev. */
export function teamingActualTypeError(mac: string, actualType: string): VirError {
  return virError(
    VIR_ERR_CONFIG_UNSUPPORTED,
    VIR_FROM_QEMU,
    `interface ${mac} - teaming transient device must be type='hostdev', not '${actualType}'`,
  );
}

/** qemuValidateDomainDeviceDefNetwork, teaming part (Q1, Q2), for drivers that implement failover. */
export function validateNetTeamingQemu(net: NetDef): void {
  const t: TeamingInfo | undefined = net.teaming;
  if (!t) return;
  if (t.type === 'persistent' && !isVirtioNetModel(net.model)) throw teamingPersistentModelError(net.model);
  if (t.type === 'transient' && net.type !== 'hostdev' && net.type !== 'network') {
    throw teamingTransientTypeError(net.type);
  }
}
