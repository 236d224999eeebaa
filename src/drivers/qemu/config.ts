// The qemu.conf settings (libvirt 9.0 virQEMUDriverConfig) that change a domain's post-parse
// defaults or its command line. Every field is optional; unset means qemu.conf's default.
import fs from 'node:fs';
import path from 'node:path';

export interface QemuDriverConfig {
  /** The driver's state directory (libvirt's cfg->libDir, default /var/lib/libvirt/qemu; tests: /tmp/lib). */
  libDir?: string;
  /** Where domains' UEFI variable stores go (libvirt's cfg->nvramDir, default <libDir>/nvram). */
  nvramDir?: string;
  /** vnc_tls: VNC over TLS with x509 credentials from vncTLSx509certdir. */
  vncTLS?: boolean;
  /** vnc_tls_x509_verify: clients must present a certificate. */
  vncTLSx509verify?: boolean;
  /** vnc_tls_x509_cert_dir (default /etc/pki/libvirt-vnc). */
  vncTLSx509certdir?: string;
  /** vnc_password: the password of VNC displays without a passwd of their own (set through the monitor). */
  vncPassword?: string;
  /** vnc_sasl, and vnc_sasl_dir for SASL_CONF_PATH. */
  vncSASL?: boolean;
  vncSASLdir?: string;
  /** vnc_auto_unix_socket: a VNC display without an address listens on <libDir>/vnc.sock. */
  vncAutoUnixSocket?: boolean;
  /** vnc_allow_host_audio: a VNC guest without <audio> gets the host's QEMU_AUDIO_DRV backend. */
  vncAllowHostAudio?: boolean;
  /** spice_listen: the address of a SPICE display that names none (default 127.0.0.1). */
  spiceListen?: string;
  /** spice_tls and spice_tls_x509_cert_dir (default /etc/pki/libvirt-spice). */
  spiceTLS?: boolean;
  spiceTLSx509certdir?: string;
  /**
   * spice_password: the password of SPICE displays without a passwd of their own (set through the
   * monitor, never on the command line). Unset, such displays get disable-ticketing=on.
   */
  spicePassword?: string;
  /** spice_sasl, and spice_sasl_dir for SASL_CONF_PATH. */
  spiceSASL?: boolean;
  spiceSASLdir?: string;
  /** spice_auto_unix_socket: a SPICE display without an address listens on <libDir>/spice.sock. */
  spiceAutoUnixSocket?: boolean;
  /** chardev_tls, chardev_tls_x509_verify, chardev_tls_x509_cert_dir (default /etc/pki/libvirt-chardev). */
  chardevTLS?: boolean;
  chardevTLSx509verify?: boolean;
  chardevTLSx509certdir?: string;
  /** chardev_tls_x509_secret_uuid: the key's passphrase secret (not supported yet). */
  chardevTLSx509secretUUID?: string;
  /** nbd_tls: NBD disks without a tls= attribute use TLS. */
  nbdTLS?: boolean;
  /** nbd_tls_x509_cert_dir (default: default_tls_x509_cert_dir, /etc/pki/qemu). */
  nbdTLSx509certdir?: string;
  /** nbd_tls_x509_secret_uuid: the client key's passphrase secret. */
  nbdTLSx509secretUUID?: string;
  /**
   * The directory of passt sockets (libvirt's <stateDir>/passt). Unset: passt interfaces are
   * refused, as virtnode does not start passt yet.
   */
  passtStateDir?: string;
  /** nographics_allow_host_audio: a guest without display gets the host's QEMU_AUDIO_DRV backend. */
  nogfxAllowHostAudio?: boolean;
  /** The daemon's QEMU_AUDIO_DRV and SDL_AUDIODRIVER, which libvirt consults for default audio. */
  audioEnv?: { QEMU_AUDIO_DRV?: string; SDL_AUDIODRIVER?: string };
}

/** default_tls_x509_cert_dir of a system or per-user driver. */
export const DEFAULT_TLS_DIR = '/etc/pki/qemu';

/**
 * qemu.conf's defaults for a driver whose private directory is `libDir` on this host
 * (virQEMUDriverConfigNew and virQEMUDriverConfigSetDefaults): variable stores under libDir, each
 * TLS certificate directory /etc/pki/libvirt-<name> when the host has one, else `tlsDir`
 * (default_tls_x509_cert_dir: /etc/pki/qemu, <root>/etc/pki/qemu for an embedded driver).
 */
export function hostDriverConfig(libDir: string, tlsDir = DEFAULT_TLS_DIR): QemuDriverConfig {
  const certDir = (name: string): string => {
    const own = `/etc/pki/libvirt-${name}`;
    return fs.existsSync(own) ? own : tlsDir;
  };
  return {
    libDir,
    nvramDir: path.join(libDir, 'nvram'),
    vncTLSx509certdir: certDir('vnc'),
    spiceTLSx509certdir: certDir('spice'),
    chardevTLSx509certdir: certDir('chardev'),
    nbdTLSx509certdir: certDir('nbd'),
  };
}

export const DEFAULT_VNC_TLS_DIR = '/etc/pki/libvirt-vnc';
export const DEFAULT_SPICE_TLS_DIR = '/etc/pki/libvirt-spice';
export const DEFAULT_CHARDEV_TLS_DIR = '/etc/pki/libvirt-chardev';
export const DEFAULT_NBD_TLS_DIR = '/etc/pki/qemu';

/** libvirt's state directory when qemu.conf's location is the default one. */
export const DEFAULT_LIB_DIR = '/var/lib/libvirt/qemu';

/** The directory of variable stores a configuration implies (cfg->nvramDir). */
export function nvramDirOf(config: QemuDriverConfig): string {
  return config.nvramDir ?? `${config.libDir ?? DEFAULT_LIB_DIR}/nvram`;
}

/** qemuDomainNVRAMPathFormat: a domain's own variable store in the directory of variable stores. */
export function nvramPathIn(nvramDir: string, domainName: string): string {
  return path.join(nvramDir, `${domainName}_VARS.fd`);
}
