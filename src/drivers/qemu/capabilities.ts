// What a QEMU binary can do, found out the way libvirt 9.0 does it (qemu_capabilities.c): one
// QMP conversation with the binary started as `-machine none -S -nodefaults -nographic`, with
// KVM when it works, then a second, shorter one with TCG only. The result is a QemuCaps: version,
// machine types and CPU models per accelerator, device and object properties, and the set of
// libvirt capability flags ('device.json+hotplug', 'netdev.json', ...) the command-line builder
// and the validator key on. The conversation follows libvirt's order command for command, so a
// recorded `.replies` file replays through it (see replies.ts).
import { QmpCommandError, QmpPeer } from './qmp-peer';
import { QapiSchema, qapiSchemaFromReply, qapiSchemaPathExists } from './qapi';

/** The two kinds of probe process: with hardware acceleration (when present) and TCG only. */
export type QemuAccel = 'kvm' | 'tcg';

export interface QemuMachineType {
  name: string;
  alias?: string;
  maxCpus: number;
  hotplugCpus: boolean;
  /** QEMU's own default (`is-default`); libvirt's preferred default is listed first instead. */
  qemuDefault: boolean;
  defaultCPU?: string;
  numaMemSupported: boolean;
  defaultRAMid?: string;
  deprecated: boolean;
}

export interface QemuCpuModel {
  name: string;
  typename?: string;
  /** 'unknown' when QEMU did not report unavailable features. */
  usable: 'yes' | 'no' | 'unknown';
  /** Features that make the model unusable on this host (QEMU's spelling, as libvirt caches them). */
  blockers: string[];
  deprecated: boolean;
}

/** Result of query-cpu-model-expansion for the host CPU ('host' with KVM, 'max' with TCG). */
export interface QemuHostCpu {
  /** The model QEMU expanded to (static expansion: 'base'). */
  model: string;
  props: Record<string, boolean | number | string>;
  /** Whether migratability of each feature is known (x86: a second, non-migratable expansion). */
  migratability: boolean;
  /** Boolean features on only when migratability is not required. */
  nonMigratable: string[];
}

export interface QemuAccelCaps {
  /** Machine types, libvirt's preferred default first. */
  machines: QemuMachineType[];
  cpuModels: QemuCpuModel[];
  hostCpu?: QemuHostCpu;
}

/** Plain-data form of QemuCaps, as stored in the on-disk cache. */
export interface QemuCapsData {
  binary?: string;
  /** major * 1000000 + minor * 1000 + micro, as libvirt encodes it (7.2.50 -> 7002050). */
  version: number;
  package: string;
  arch: string;
  flags: string[];
  /** qom-list-types: every QOM type (devices, objects, machines, accelerators). */
  qomTypes: string[];
  /** device-list-properties of the devices libvirt looks at; absent devices are left out. */
  deviceProps: Record<string, string[]>;
  /** qom-list-properties of the objects (and the 'none' machine) libvirt looks at. */
  objectProps: Record<string, string[]>;
  commands: string[];
  commandLineOptions: Record<string, string[]>;
  migrationCapabilities: string[];
  tpmModels: string[];
  tpmTypes: string[];
  /** Hyper-V enlightenments KVM can offer (libvirt's names), when probed with KVM. */
  hyperv?: string[];
  accel: Partial<Record<QemuAccel, QemuAccelCaps>>;
}

export class QemuCaps {
  readonly flags: Set<string>;

  constructor(readonly data: QemuCapsData) {
    this.flags = new Set(data.flags);
  }

  get version(): number {
    return this.data.version;
  }

  get package(): string {
    return this.data.package;
  }

  get arch(): string {
    return this.data.arch;
  }

  /** virQEMUCapsGet: whether the binary has a capability, by libvirt's flag name. */
  has(flag: string): boolean {
    return this.flags.has(flag);
  }

  /** Whether `device-list-properties` reported a property (e.g. virtio-net-pci 'failover'). */
  hasDeviceProp(device: string, prop: string): boolean {
    return this.data.deviceProps[device]?.includes(prop) ?? false;
  }

  hasQomType(type: string): boolean {
    return this.data.qomTypes.includes(type);
  }

  /** Machine types for a libvirt domain type: 'kvm' uses the KVM probe, anything else TCG's. */
  machines(virtType: string): QemuMachineType[] {
    return this.accelCaps(virtType)?.machines ?? [];
  }

  cpuModels(virtType: string): QemuCpuModel[] {
    return this.accelCaps(virtType)?.cpuModels ?? [];
  }

  /** The host CPU as QEMU expanded it for a libvirt domain type, when it was probed. */
  hostCpu(virtType: string): QemuHostCpu | undefined {
    return this.accelCaps(virtType)?.hostCpu;
  }

  /** The machine type used when a definition names none (libvirt's preferred one first). */
  defaultMachine(virtType: string): QemuMachineType | undefined {
    return this.machines(virtType)[0];
  }

  /** virQEMUCapsGetCanonicalMachine: resolves an alias ('pc') to the machine it stands for. */
  canonicalMachine(virtType: string, name: string): string {
    return this.machines(virtType).find((m) => m.alias === name)?.name ?? name;
  }

  findMachine(virtType: string, name: string): QemuMachineType | undefined {
    const canonical = this.canonicalMachine(virtType, name);
    return this.machines(virtType).find((m) => m.name === canonical);
  }

  /** virQEMUCapsGetMachineDefaultCPU: the CPU model name behind a machine's default CPU type. */
  machineDefaultCpu(virtType: string, machine: string): string | undefined {
    const type = this.findMachine(virtType, machine)?.defaultCPU;
    if (!type) return undefined;
    return this.cpuModels(virtType).find((c) => c.typename === type)?.name;
  }

  /**
   * The `<machine>` list of the host capabilities' `<guest>` (virQEMUCapsGetMachineTypesCaps):
   * from the KVM probe when KVM works, else TCG's; an aliased machine is listed under its alias
   * with `canonical`, preceded by an entry of its own name.
   */
  guestMachines(): { name: string; canonical?: string; maxCpus: number; deprecated: boolean }[] {
    const source = this.has('kvm') ? this.data.accel.kvm : this.data.accel.tcg;
    const list: { name: string; canonical?: string; maxCpus: number; deprecated: boolean }[] = (
      source?.machines ?? []
    ).map((m) =>
      m.alias !== undefined
        ? { name: m.alias, canonical: m.name, maxCpus: m.maxCpus, deprecated: m.deprecated }
        : { name: m.name, maxCpus: m.maxCpus, deprecated: m.deprecated },
    );
    for (let i = 0; i < list.length; i++) {
      const { canonical, maxCpus, deprecated } = list[i];
      if (canonical !== undefined && !list.some((m) => m.name === canonical)) {
        list.splice(i, 0, { name: canonical, maxCpus, deprecated });
        i++;
      }
    }
    return list;
  }

  /** The `<domain type>`s a guest of this binary can have: 'qemu' with TCG, 'kvm' with KVM. */
  guestDomainTypes(): string[] {
    return [...(this.has('tcg') ? ['qemu'] : []), ...(this.has('kvm') ? ['kvm'] : [])];
  }

  /**
   * libvirt's test-suite view of real capabilities (virQEMUCapsStripMachineAliases): each alias
   * becomes a machine type of its own with the properties of the one it stood for, so that
   * `<type machine='pc'>` stays 'pc' on the command line as in the x86_64-latest expectations.
   */
  withoutMachineAliases(): QemuCaps {
    const accel: Partial<Record<QemuAccel, QemuAccelCaps>> = {};
    for (const [kind, caps] of Object.entries(this.data.accel) as [QemuAccel, QemuAccelCaps][]) {
      const machines = caps.machines.map(({ alias: _alias, ...m }) => m);
      for (const m of caps.machines) {
        if (m.alias !== undefined) {
          const { alias, ...rest } = m;
          machines.push({ ...rest, name: alias });
        }
      }
      accel[kind] = { ...caps, machines };
    }
    return new QemuCaps({ ...this.toJSON(), accel });
  }

  toJSON(): QemuCapsData {
    return { ...this.data, flags: [...this.flags].sort() };
  }

  static fromJSON(data: QemuCapsData): QemuCaps {
    return new QemuCaps(data);
  }

  private accelCaps(virtType: string): QemuAccelCaps | undefined {
    return virtType === 'kvm' ? this.data.accel.kvm : this.data.accel.tcg;
  }
}

// ---------------------------------------------------------------------------------------------
// The tables libvirt keys its capability flags on. Left: what QEMU reports; right: the flag.

/** qom-list-types names (virQEMUCapsObjectTypes). */
const OBJECT_TYPE_FLAGS: [string, string][] = [
  ['hda-duplex', 'hda-duplex'],
  ['hda-micro', 'hda-micro'],
  ['ccid-card-emulated', 'ccid-emulated'],
  ['ccid-card-passthru', 'ccid-passthru'],
  ['piix3-usb-uhci', 'piix3-usb-uhci'],
  ['piix4-usb-uhci', 'piix4-usb-uhci'],
  ['usb-ehci', 'usb-ehci'],
  ['ich9-usb-ehci1', 'ich9-usb-ehci1'],
  ['vt82c686b-usb-uhci', 'vt82c686b-usb-uhci'],
  ['pci-ohci', 'pci-ohci'],
  ['nec-usb-xhci', 'nec-usb-xhci'],
  ['usb-redir', 'usb-redir'],
  ['usb-hub', 'usb-hub'],
  ['ich9-ahci', 'ich9-ahci'],
  ['virtio-blk-ccw', 'virtio-ccw'],
  ['sclpconsole', 's390-sclp'],
  ['lsi53c895a', 'lsi'],
  ['virtio-scsi-pci', 'virtio-scsi-pci'],
  ['virtio-scsi-ccw', 'virtio-scsi-pci'],
  ['virtio-scsi-device', 'virtio-scsi-pci'],
  ['megasas', 'megasas'],
  ['qxl', 'qxl'],
  ['scsi-block', 'scsi-block'],
  ['VGA', 'VGA'],
  ['cirrus-vga', 'cirrus-vga'],
  ['vmware-svga', 'vmware-svga'],
  ['usb-serial', 'usb-serial'],
  ['virtio-rng-pci', 'virtio-rng'],
  ['virtio-rng-ccw', 'virtio-rng'],
  ['virtio-rng-device', 'virtio-rng'],
  ['rng-random', 'rng-random'],
  ['rng-egd', 'rng-egd'],
  ['spapr-nvram', 'nvram'],
  ['pci-bridge', 'pci-bridge'],
  ['vfio-pci', 'vfio-pci'],
  ['i82801b11-bridge', 'dmi-to-pci-bridge'],
  ['usb-storage', 'usb-storage'],
  ['virtio-mmio', 'virtio-mmio'],
  ['ich9-intel-hda', 'ich9-intel-hda'],
  ['pvpanic', 'pvpanic'],
  ['usb-kbd', 'usb-kbd'],
  ['usb-audio', 'usb-audio'],
  ['iothread', 'iothread'],
  ['pc-dimm', 'pc-dimm'],
  ['pci-serial', 'pci-serial'],
  ['gpex-pcihost', 'gpex-pcihost'],
  ['ioh3420', 'ioh3420'],
  ['x3130-upstream', 'x3130-upstream'],
  ['xio3130-downstream', 'xio3130-downstream'],
  ['rtl8139', 'rtl8139'],
  ['e1000', 'e1000'],
  ['virtio-net-pci', 'virtio-net'],
  ['virtio-net-ccw', 'virtio-net'],
  ['virtio-net-device', 'virtio-net'],
  ['virtio-gpu-pci', 'virtio-gpu'],
  ['virtio-gpu-device', 'virtio-gpu'],
  ['virtio-vga', 'virtio-vga'],
  ['virtio-keyboard-device', 'virtio-keyboard'],
  ['virtio-keyboard-pci', 'virtio-keyboard'],
  ['virtio-mouse-device', 'virtio-mouse'],
  ['virtio-mouse-pci', 'virtio-mouse'],
  ['virtio-tablet-device', 'virtio-tablet'],
  ['virtio-tablet-pci', 'virtio-tablet'],
  ['virtio-input-host-device', 'virtio-input-host'],
  ['virtio-input-host-pci', 'virtio-input-host'],
  ['mptsas1068', 'mptsas1068'],
  ['pxb', 'pxb'],
  ['pxb-pcie', 'pxb-pcie'],
  ['intel-iommu', 'intel-iommu'],
  ['ivshmem-plain', 'ivshmem-plain'],
  ['ivshmem-doorbell', 'ivshmem-doorbell'],
  ['vhost-scsi', 'vhost-scsi'],
  ['nvdimm', 'nvdimm'],
  ['pcie-root-port', 'pcie-root-port'],
  ['qemu-xhci', 'qemu-xhci'],
  ['spapr-pci-host-bridge', 'spapr-pci-host-bridge'],
  ['vmcoreinfo', 'vmcoreinfo'],
  ['spapr-vty', 'spapr-vty'],
  ['sclplmconsole', 'sclplmconsole'],
  ['isa-serial', 'isa-serial'],
  ['pl011', 'pl011'],
  ['virtio-gpu-ccw', 'virtio-gpu-ccw'],
  ['virtio-keyboard-ccw', 'virtio-keyboard-ccw'],
  ['virtio-mouse-ccw', 'virtio-mouse-ccw'],
  ['virtio-tablet-ccw', 'virtio-tablet-ccw'],
  ['pcie-pci-bridge', 'pcie-pci-bridge'],
  ['pr-manager-helper', 'pr-manager-helper'],
  ['virtual-css-bridge', 'virtual-css-bridge'],
  ['vfio-ccw', 'vfio-ccw'],
  ['hda-output', 'hda-output'],
  ['vmgenid', 'vmgenid'],
  ['vhost-vsock-device', 'vhost-vsock'],
  ['mch', 'mch'],
  ['sev-guest', 'sev-guest'],
  ['vfio-ap', 'vfio-ap'],
  ['zpci', 'zpci'],
  ['memory-backend-memfd', 'memory-backend-memfd'],
  ...[
    'virtio-blk-pci',
    'virtio-net-pci',
    'vhost-scsi-pci',
    'virtio-rng-pci',
    'virtio-9p-pci',
    'virtio-balloon-pci',
    'vhost-vsock-pci',
    'virtio-scsi-pci',
    'virtio-serial-pci',
  ].flatMap((base): [string, string][] => [
    [`${base}-transitional`, 'virtio-pci-non-transitional'],
    [`${base}-non-transitional`, 'virtio-pci-non-transitional'],
  ]),
  ['max-x86_64-cpu', 'x86-max-cpu'],
  ['bochs-display', 'bochs-display'],
  ['dbus-vmstate', 'dbus-vmstate'],
  ['vhost-user-gpu', 'vhost-user-gpu'],
  ['vhost-user-vga', 'vhost-user-vga'],
  ['ramfb', 'ramfb'],
  ['max-arm-cpu', 'arm-max-cpu'],
  ['i8042', 'i8042'],
  ['rng-builtin', 'rng-builtin'],
  ['tpm-spapr', 'tpm-spapr'],
  ['vhost-user-fs-device', 'vhost-user-fs'],
  ['tcg-accel', 'tcg'],
  ['pvscsi', 'pvscsi'],
  ['spapr-tpm-proxy', 'spapr-tpm-proxy'],
  ['vmport', 'machine-vmport-opt'],
  ['dc390', 'dc390'],
  ['am53c974', 'am53c974'],
  ['virtio-pmem-pci', 'virtio-pmem-pci'],
  ['vhost-user-blk', 'vhost-user-blk'],
  ['input-linux', 'input-linux'],
  ['virtio-gpu-gl-pci', 'virtio-gpu-gl-pci'],
  ['virtio-vga-gl', 'virtio-vga-gl'],
  ['s390-pv-guest', 's390-pv-guest'],
  ['virtio-mem-pci', 'virtio-mem-pci'],
  ['virtio-iommu-pci', 'virtio-iommu-pci'],
  ['sgx-epc', 'sgx-epc'],
  ['thread-context', 'thread-context'],
];

const VIRTIO_BLK_PROPS: [string, string][] = [
  ['scsi', 'virtio-blk-pci.scsi'],
  ['queue-size', 'virtio-blk.queue-size'],
  ['acpi-index', 'acpi-index'],
];
const VIRTIO_NET_PROPS: [string, string][] = [
  ['acpi-index', 'acpi-index'],
  ['rss', 'virtio-net.rss'],
  // Retired by libvirt 9.0 (every supported QEMU has it) but what teaming validation checks.
  ['failover', 'virtio-net.failover'],
];
const VIRTIO_SCSI_PROPS: [string, string][] = [['acpi-index', 'acpi-index']];
const VIRTIO_GPU_PROPS: [string, string][] = [
  ['virgl', 'virtio-gpu.virgl'],
  ['acpi-index', 'acpi-index'],
];
const VIRTIO_BALLOON_PROPS: [string, string][] = [
  ['deflate-on-oom', 'virtio-balloon-pci.deflate-on-oom'],
  ['free-page-reporting', 'virtio-balloon.free-page-reporting'],
  ['acpi-index', 'acpi-index'],
];

interface DevicePropsProbe {
  type: string;
  props: [string, string][];
  /** Probe only when this flag is already set. */
  condition?: string;
}

/** device-list-properties probes, in libvirt 9.0's order (virQEMUCapsDeviceProps). */
const DEVICE_PROPS: DevicePropsProbe[] = [
  { type: 'virtio-blk-pci', props: VIRTIO_BLK_PROPS },
  { type: 'virtio-net-pci', props: VIRTIO_NET_PROPS, condition: 'virtio-net' },
  { type: 'virtio-scsi-pci', props: VIRTIO_SCSI_PROPS, condition: 'virtio-scsi-pci' },
  { type: 'virtio-blk-ccw', props: VIRTIO_BLK_PROPS, condition: 'virtio-ccw' },
  { type: 'virtio-net-ccw', props: VIRTIO_NET_PROPS, condition: 'virtio-net' },
  { type: 'virtio-scsi-ccw', props: VIRTIO_SCSI_PROPS, condition: 'virtio-scsi-pci' },
  { type: 'vfio-pci', props: [['display', 'vfio-pci.display']], condition: 'vfio-pci' },
  {
    type: 'scsi-hd',
    props: [
      ['channel', 'scsi-disk.channel'],
      ['wwn', 'scsi-disk.wwn'],
      ['rotation_rate', 'rotation-rate'],
    ],
  },
  { type: 'ide-hd', props: [['wwn', 'ide-drive.wwn']] },
  {
    type: 'PIIX4_PM',
    props: [
      ['disable_s3', 'disable-s3'],
      ['disable_s4', 'disable-s4'],
      ['acpi-root-pci-hotplug', 'piix4.acpi-root-pci-hotplug'],
    ],
  },
  { type: 'usb-redir', props: [['filter', 'usb-redir.filter']], condition: 'usb-redir' },
  { type: 'usb-storage', props: [['removable', 'usb-storage.removable']], condition: 'usb-storage' },
  { type: 'kvm-pit', props: [['lost_tick_policy', 'kvm-pit-lost-tick-policy']] },
  { type: 'VGA', props: [['vgamem_mb', 'VGA.vgamem_mb']], condition: 'VGA' },
  { type: 'vmware-svga', props: [['vgamem_mb', 'vmware-svga.vgamem_mb']], condition: 'vmware-svga' },
  {
    type: 'qxl',
    props: [
      ['vgamem_mb', 'qxl.vgamem_mb'],
      ['vram64_size_mb', 'qxl.vram64_size_mb'],
    ],
    condition: 'qxl',
  },
  { type: 'virtio-gpu-pci', props: VIRTIO_GPU_PROPS, condition: 'virtio-gpu' },
  { type: 'virtio-gpu-device', props: VIRTIO_GPU_PROPS, condition: 'virtio-gpu' },
  {
    type: 'ICH9-LPC',
    props: [
      ['disable_s3', 'ich9-disable-s3'],
      ['disable_s4', 'ich9-disable-s4'],
    ],
  },
  { type: 'virtio-balloon-pci', props: VIRTIO_BALLOON_PROPS },
  { type: 'virtio-balloon-ccw', props: VIRTIO_BALLOON_PROPS },
  { type: 'virtio-balloon-device', props: VIRTIO_BALLOON_PROPS },
  {
    type: 'intel-iommu',
    props: ['intremap', 'caching-mode', 'eim', 'device-iotlb', 'aw-bits'].map((p): [string, string] => [
      p,
      `intel-iommu.${p}`,
    ]),
    condition: 'intel-iommu',
  },
  {
    type: 'spapr-pci-host-bridge',
    props: [['numa_node', 'spapr-pci-host-bridge.numa_node']],
    condition: 'spapr-pci-host-bridge',
  },
  { type: 'virtio-gpu-ccw', props: VIRTIO_GPU_PROPS, condition: 'virtio-gpu-ccw' },
  { type: 'mch', props: [['extended-tseg-mbytes', 'mch.extended-tseg-mbytes']], condition: 'mch' },
  { type: 'nvdimm', props: [['unarmed', 'nvdimm.unarmed']], condition: 'nvdimm' },
  { type: 'pcie-root-port', props: [['hotplug', 'pcie-root-port.hotplug']], condition: 'pcie-root-port' },
  {
    type: 'usb-host',
    props: [
      ['hostdevice', 'usb-host.hostdevice'],
      ['guest-resets-all', 'usb-host.guest-resets-all'],
    ],
  },
  { type: 'vhost-user-fs-device', props: [['bootindex', 'vhost-user-fs.bootindex']], condition: 'vhost-user-fs' },
  { type: 'virtio-mem-pci', props: [['prealloc', 'virtio-mem-pci.prealloc']], condition: 'virtio-mem-pci' },
  {
    type: 'virtio-iommu-pci',
    props: [['boot-bypass', 'virtio-iommu.boot-bypass']],
    condition: 'virtio-iommu-pci',
  },
];

/** qom-list-properties probes of objects (virQEMUCapsObjectProps). */
const OBJECT_PROPS: DevicePropsProbe[] = [
  {
    type: 'memory-backend-file',
    props: [
      ['pmem', 'memory-backend-file.pmem'],
      ['x-use-canonical-path-for-ramblock-id', 'memory-backend-file.x-use-canonical-path-for-ramblock-id'],
      ['reserve', 'memory-backend-file.reserve'],
      ['prealloc-threads', 'memory-backend-file.prealloc-threads'],
    ],
  },
  {
    type: 'memory-backend-memfd',
    props: [['hugetlb', 'memory-backend-memfd.hugetlb']],
    condition: 'memory-backend-memfd',
  },
  {
    type: 'max-x86_64-cpu',
    props: [
      ['unavailable-features', 'cpu-unavailable-features'],
      ['kvm-no-adjvtime', 'cpu.kvm-no-adjvtime'],
      ['migratable', 'cpu.migratable'],
    ],
    condition: 'x86-max-cpu',
  },
  {
    type: 'max-arm-cpu',
    props: [
      ['unavailable-features', 'cpu-unavailable-features'],
      ['kvm-no-adjvtime', 'cpu.kvm-no-adjvtime'],
      ['migratable', 'cpu.migratable'],
    ],
    condition: 'arm-max-cpu',
  },
];

/** Machine-type properties (virQEMUCapsMachineProps); probed when the machine type exists. */
const MACHINE_PROPS: { machine: string; props: [string, string][] }[] = [
  { machine: 'pseries', props: [] },
  { machine: 'virt', props: [['iommu', 'machine.virt.iommu']] },
  { machine: 'none', props: [['confidential-guest-support', 'confidential-guest-support']] },
];

/** QMP schema queries (virQEMUCapsQMPSchemaQueries), see qapi.ts for the syntax. */
const SCHEMA_QUERY_FLAGS: [string, string][] = [
  ['blockdev-add/arg-type/+vxhs', 'vxhs'],
  ['blockdev-add/arg-type/+file/drop-cache', 'migration-file-drop-cache'],
  ['blockdev-add/arg-type/+nvme', 'drive-nvme'],
  ['blockdev-add/arg-type/+file/aio/^io_uring', 'aio.io_uring'],
  ['blockdev-add/arg-type/+rbd/encrypt', 'rbd-encryption'],
  ['blockdev-add/arg-type/+nbd/tls-hostname', 'blockdev.nbd.tls-hostname'],
  ['blockdev-snapshot/$allow-write-only-overlay', 'blockdev-snapshot.allow-write-only-overlay'],
  ['chardev-add/arg-type/backend/+socket/data/reconnect', 'chardev-reconnect'],
  ['device_add/$json-cli-hotplug', 'device.json+hotplug'],
  ['migrate-set-parameters/arg-type/block-bitmap-mapping/bitmaps/transform', 'migration-param.block-bitmap-mapping'],
  ['nbd-server-start/arg-type/tls-creds', 'nbd-tls'],
  ['nbd-server-add/arg-type/bitmap', 'nbd-bitmap'],
  ['netdev_add/arg-type/+stream', 'netdev.stream'],
  ['netdev_add/arg-type/+vhost-vdpa', 'netdev.vhost-vdpa'],
  // JSON -netdev arrived together with the 'dgram' netdev type.
  ['netdev_add/arg-type/type/^dgram', 'netdev.json'],
  ['object-add/arg-type/qom-type/^secret', 'object.qapified'],
  ['query-display-options/ret-type/+egl-headless/rendernode', 'egl-headless.rendernode'],
  ['query-display-options/ret-type/+sdl', 'sdl'],
  ['query-display-options/ret-type/+egl-headless', 'egl-headless'],
  ['query-hotpluggable-cpus/ret-type/props/die-id', 'smp-dies'],
  ['query-named-block-nodes/arg-type/flat', 'query-named-block-nodes.flat'],
  ['screendump/arg-type/device', 'screendump_device'],
  ['set-numa-node/arg-type/+hmat-lb', 'numa.hmat'],
  ['object-add/arg-type/+sev-guest/kernel-hashes', 'sev-guest-kernel-hashes'],
  ['calc-dirty-rate/arg-type/mode', 'dirtyrate-param.mode'],
  ['chardev-add/arg-type/backend/+qemu-vdagent', 'chardev.qemu-vdagent'],
  ['query-display-options/ret-type/+dbus', 'display-dbus'],
  ['object-add/arg-type/+iothread/thread-pool-max', 'iothread.thread-pool-max'],
  ['query-migrate/ret-type/blocked-reasons', 'migration.blocked-reasons'],
  ['screendump/arg-type/format/^png', 'screenshot-format-png'],
  ['query-iothreads/ret-type/poll-max-ns', 'iothread.poll-max-ns'],
  // Retired by libvirt 9.0 (always true with QEMU >= 4.2), kept because the command-line
  // builder still needs to know: -blockdev and -audiodev.
  ['blockdev-add/arg-type/+file/$dynamic-auto-read-only', 'blockdev'],
];

/** QMP commands (virQEMUCapsCommands). */
const COMMAND_FLAGS: [string, string][] = [
  ['query-vnc', 'vnc'],
  ['query-hotpluggable-cpus', 'query-hotpluggable-cpus'],
  ['rtc-reset-reinjection', 'rtc-reset-reinjection'],
  ['query-cpu-model-expansion', 'query-cpu-model-expansion'],
  ['query-cpu-definitions', 'query-cpu-definitions'],
  ['query-cpu-model-baseline', 'query-cpu-model-baseline'],
  ['query-cpu-model-comparison', 'query-cpu-model-comparison'],
  ['block-export-add', 'block-export-add'],
  ['blockdev-reopen', 'blockdev-reopen'],
  ['set-action', 'set-action'],
  ['query-dirty-rate', 'query-dirty-rate'],
  ['sev-inject-launch-secret', 'sev-inject-launch-secret'],
  ['calc-dirty-rate', 'calc-dirty-rate'],
  ['query-stats', 'query-stats'],
  ['query-stats-schemas', 'query-stats-schemas'],
];

/** query-command-line-options: [option, parameter or null for the option itself, flag]. */
const COMMAND_LINE_FLAGS: [string, string | null, string][] = [
  ['fsdev', 'multidevs', 'fsdev.multidevs'],
  ['machine', 'hpet', 'machine-hpet'],
  ['sandbox', null, 'seccomp-sandbox'],
  ['spice', null, 'spice'],
  ['spice', 'gl', 'spice-gl'],
  ['spice', 'rendernode', 'spice-rendernode'],
  ['vnc', 'power-control', 'vnc-power-control'],
  // Retired by libvirt 9.0 like 'blockdev'; -audiodev came with VNC's audiodev parameter.
  ['vnc', 'audiodev', 'audiodev'],
];

const MIGRATION_CAPABILITY_FLAGS: [string, string][] = [['rdma-pin-all', 'migrate-rdma']];
const TPM_MODEL_FLAGS: [string, string][] = [
  ['tpm-tis', 'tpm-tis'],
  ['tpm-crb', 'tpm-crb'],
  ['tpm-spapr', 'tpm-spapr'],
];
const TPM_TYPE_FLAGS: [string, string][] = [
  ['passthrough', 'tpm-passthrough'],
  ['emulator', 'tpm-emulator'],
];

/**
 * Flags this prober computes although libvirt 9.0 no longer reports them (it assumes them for
 * every QEMU it supports). They stay useful to callers; comparisons with libvirt's digest
 * leave them out.
 */
export const FLAGS_RETIRED_IN_LIBVIRT_9_0: readonly string[] = ['virtio-net.failover', 'blockdev', 'audiodev'];

/** Machine types libvirt prefers as default over QEMU's own choice, per target arch. */
const PREFERRED_MACHINE: Record<string, string> = {
  x86_64: 'pc',
  i686: 'pc',
  aarch64: 'virt',
  armv7l: 'virt',
  ppc64: 'pseries',
  ppc64le: 'pseries',
  riscv64: 'virt',
  s390x: 's390-ccw-virtio',
};

// ---------------------------------------------------------------------------------------------
// The conversation.

/** A QMP peer of one probe process; close() ends the process (optional for fakes). */
export interface ProbePeer extends QmpPeer {
  close?(): Promise<void>;
}

/** Starts a probe process for an accelerator and returns its QMP peer. */
export type OpenProbePeer = (accel: QemuAccel) => Promise<ProbePeer>;

interface ProbeState {
  data: QemuCapsData;
  flags: Set<string>;
}

function isX86(arch: string): boolean {
  return arch === 'x86_64' || arch === 'i686';
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function namesOf(list: unknown): string[] {
  return Array.isArray(list) ? list.map((e) => String(asRecord(e).name)) : [];
}

function setFromTable(state: ProbeState, table: [string, string][], present: Iterable<string>): void {
  const have = new Set(present);
  for (const [name, flag] of table) if (have.has(name)) state.flags.add(flag);
}

/** qemuMonitorJSONGetDeviceProps: a device QEMU does not know has no properties (null). */
async function listProps(peer: QmpPeer, command: string, typename: string): Promise<Record<string, unknown>[] | null> {
  try {
    const reply = await peer.command(command, { typename });
    return Array.isArray(reply) ? reply.map(asRecord) : [];
  } catch (err) {
    if (err instanceof QmpCommandError && err.errorClass === 'DeviceNotFound') return null;
    throw err;
  }
}

function parseMachines(reply: unknown, arch: string): QemuMachineType[] {
  const machines: QemuMachineType[] = [];
  for (const raw of Array.isArray(reply) ? reply : []) {
    const m = asRecord(raw);
    const name = String(m.name);
    if (name === 'none') continue;
    machines.push({
      name,
      ...(typeof m.alias === 'string' ? { alias: m.alias } : {}),
      maxCpus: typeof m['cpu-max'] === 'number' ? m['cpu-max'] : 0,
      hotplugCpus: m['hotpluggable-cpus'] === true,
      qemuDefault: m['is-default'] === true,
      ...(typeof m['default-cpu-type'] === 'string' ? { defaultCPU: m['default-cpu-type'] } : {}),
      numaMemSupported: m['numa-mem-supported'] === true,
      ...(typeof m['default-ram-id'] === 'string' ? { defaultRAMid: m['default-ram-id'] } : {}),
      deprecated: m.deprecated === true,
    });
  }
  const preferred = PREFERRED_MACHINE[arch];
  let first = preferred ? machines.findIndex((m) => m.alias === preferred || m.name === preferred) : -1;
  if (first < 0) first = machines.findIndex((m) => m.qemuDefault);
  if (first > 0) machines.unshift(...machines.splice(first, 1));
  return machines;
}

function parseCpuDefinitions(reply: unknown): QemuCpuModel[] {
  return (Array.isArray(reply) ? reply : []).map((raw) => {
    const c = asRecord(raw);
    const unavailable = Array.isArray(c['unavailable-features']) ? (c['unavailable-features'] as string[]) : null;
    return {
      name: String(c.name),
      ...(typeof c.typename === 'string' ? { typename: c.typename } : {}),
      usable: unavailable === null ? 'unknown' : unavailable.length === 0 ? 'yes' : 'no',
      blockers: unavailable ?? [],
      deprecated: c.deprecated === true,
    };
  });
}

async function probeCpuDefinitions(state: ProbeState, peer: QmpPeer, accel: QemuAccelCaps): Promise<void> {
  if (!state.flags.has('query-cpu-definitions')) return;
  accel.cpuModels = parseCpuDefinitions(await peer.command('query-cpu-definitions'));
  if (accel.cpuModels.some((c) => c.name === 'max')) state.flags.add('cpu-max');
}

function expansionModel(reply: unknown): { name: string; props: Record<string, boolean | number | string> } {
  const model = asRecord(asRecord(reply).model);
  const props: Record<string, boolean | number | string> = {};
  for (const [k, v] of Object.entries(asRecord(model.props))) {
    if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') props[k] = v;
  }
  return { name: String(model.name), props };
}

/** libvirt's Hyper-V feature names (virDomainHyperv); QEMU calls them hv-<name with dashes>. */
const HYPERV_FEATURES = [
  'relaxed', 'vapic', 'spinlocks', 'vpindex', 'runtime', 'synic', 'stimer', 'reset', 'vendor_id',
  'frequencies', 'reenlightenment', 'tlbflush', 'ipi', 'evmcs', 'avic',
];

/** virQEMUCapsProbeQMPHostCPU: static expansion of 'host' (KVM) or 'max' (TCG). */
async function probeHostCpu(state: ProbeState, peer: QmpPeer, accel: QemuAccelCaps, kind: QemuAccel): Promise<void> {
  if (!state.flags.has('query-cpu-model-expansion')) return;
  const model = kind === 'kvm' ? 'host' : 'max';
  const x86 = isX86(state.data.arch);
  // Without canonical feature names a full expansion of the static result lists all spellings.
  const staticFull = x86 && !state.flags.has('canonical-cpu-features');
  const expand = async (type: 'static' | 'full', props?: Record<string, unknown>): Promise<unknown> => {
    const modelArg = props ? { name: model, props } : { name: model };
    if (type === 'full' || !staticFull) return peer.command('query-cpu-model-expansion', { type, model: modelArg });
    const staticReply = asRecord(await peer.command('query-cpu-model-expansion', { type: 'static', model: modelArg }));
    return peer.command('query-cpu-model-expansion', { type: 'full', model: staticReply.model });
  };
  const migratable = expansionModel(await expand('static'));
  const hostCpu: QemuHostCpu = { model: migratable.name, props: migratable.props, migratability: false, nonMigratable: [] };
  if (x86) {
    const all = expansionModel(await expand('static', { migratable: false })).props;
    for (const [name, value] of Object.entries(all)) {
      if (value === true && hostCpu.props[name] === false) {
        hostCpu.nonMigratable.push(name);
        hostCpu.props[name] = true;
      }
    }
    hostCpu.migratability = true;
  }
  if (kind === 'kvm' && x86) {
    const full = expansionModel(await expand('full', { migratable: false, 'hv-passthrough': true })).props;
    const hyperv = HYPERV_FEATURES.filter((f) => {
      const value = full[`hv-${f.replace(/_/g, '-')}`] ?? full[`hv-${f}`];
      return value === true || (typeof value === 'number' && value > 0) || (typeof value === 'string' && value !== '');
    });
    if (hyperv.length > 0) state.data.hyperv = hyperv;
  }
  accel.hostCpu = hostCpu;
}

/**
 * Leaves capabilities-negotiation mode. A peer that negotiated on its own (the driver's monitor)
 * answers CommandNotFound, which is as good.
 */
async function negotiate(peer: QmpPeer): Promise<void> {
  try {
    await peer.command('qmp_capabilities');
  } catch (err) {
    if (!(err instanceof QmpCommandError && err.errorClass === 'CommandNotFound')) throw err;
  }
}

async function probeMainProcess(state: ProbeState, peer: QmpPeer): Promise<QemuAccel> {
  const { data, flags } = state;
  await negotiate(peer);

  const version = asRecord(await peer.command('query-version'));
  const qemu = asRecord(version.qemu);
  data.version = Number(qemu.major) * 1000000 + Number(qemu.minor) * 1000 + Number(qemu.micro);
  data.package = String(version.package ?? '').trim();

  const target = String(asRecord(await peer.command('query-target')).arch);
  data.arch = target === 'i386' ? 'i686' : target;

  const schema: QapiSchema = qapiSchemaFromReply(await peer.command('query-qmp-schema'));
  for (const [query, flag] of SCHEMA_QUERY_FLAGS) {
    if (qapiSchemaPathExists(query, schema)) flags.add(flag);
  }

  data.commands = namesOf(await peer.command('query-commands'));
  setFromTable(state, COMMAND_FLAGS, data.commands);

  const kvm = asRecord(await peer.command('query-kvm'));
  if (kvm.enabled === true && kvm.present === true) flags.add('kvm');
  const kind: QemuAccel = flags.has('kvm') ? 'kvm' : 'tcg';
  const accel: QemuAccelCaps = { machines: [], cpuModels: [] };
  data.accel[kind] = accel;

  data.qomTypes = namesOf(await peer.command('qom-list-types'));
  setFromTable(state, OBJECT_TYPE_FLAGS, data.qomTypes);

  for (const probe of DEVICE_PROPS) {
    if (probe.condition && !flags.has(probe.condition)) continue;
    const entries = await listProps(peer, 'device-list-properties', probe.type);
    if (entries === null) continue;
    data.deviceProps[probe.type] = namesOf(entries);
    setFromTable(state, probe.props, data.deviceProps[probe.type]);
    // virtio-blk's 'scsi' property defaulting to off is a flag of its own.
    const scsi = probe.props === VIRTIO_BLK_PROPS ? entries.find((e) => e.name === 'scsi') : undefined;
    if (scsi?.['default-value'] === false) flags.add('virtio-blk-pci.scsi.default.disabled');
  }

  for (const probe of OBJECT_PROPS) {
    if (probe.condition && !flags.has(probe.condition)) continue;
    const entries = await listProps(peer, 'qom-list-properties', probe.type);
    if (entries === null) continue;
    data.objectProps[probe.type] = namesOf(entries);
    setFromTable(state, probe.props, data.objectProps[probe.type]);
  }

  accel.machines = parseMachines(await peer.command('query-machines'), data.arch);

  for (const { machine, props } of MACHINE_PROPS) {
    const canonical = machine === 'none' ? 'none' : accel.machines.find((m) => m.alias === machine)?.name ?? machine;
    if (canonical !== 'none' && !accel.machines.some((m) => m.name === canonical)) continue;
    const type = `${canonical}-machine`;
    const entries = await listProps(peer, 'qom-list-properties', type);
    if (entries === null) continue;
    data.objectProps[type] = namesOf(entries);
    setFromTable(state, props, data.objectProps[type]);
  }

  await probeCpuDefinitions(state, peer, accel);

  data.tpmModels = ((await peer.command('query-tpm-models')) as string[] | null) ?? [];
  setFromTable(state, TPM_MODEL_FLAGS, data.tpmModels);
  data.tpmTypes = ((await peer.command('query-tpm-types')) as string[] | null) ?? [];
  setFromTable(state, TPM_TYPE_FLAGS, data.tpmTypes);

  const options = await peer.command('query-command-line-options');
  for (const raw of Array.isArray(options) ? options : []) {
    const option = asRecord(raw);
    data.commandLineOptions[String(option.option)] = namesOf(option.parameters);
  }
  for (const [option, param, flag] of COMMAND_LINE_FLAGS) {
    const params = data.commandLineOptions[option];
    if (params && (param === null || params.includes(param))) flags.add(flag);
  }

  const migration = await peer.command('query-migrate-capabilities');
  data.migrationCapabilities = (Array.isArray(migration) ? migration : []).map((c) => String(asRecord(c).capability));
  setFromTable(state, MIGRATION_CAPABILITY_FLAGS, data.migrationCapabilities);

  // SEV and SGX exist as object types even where the host cannot provide them.
  for (const [flag, command] of [
    ['sev-guest', 'query-sev-capabilities'],
    ['sgx-epc', 'query-sgx-capabilities'],
  ]) {
    if (!flags.has(flag)) continue;
    try {
      await peer.command(command);
    } catch (err) {
      if (!(err instanceof QmpCommandError)) throw err;
      flags.delete(flag);
    }
  }

  applyImpliedFlags(state);
  await probeHostCpu(state, peer, accel, kind);
  return kind;
}

/** Flags libvirt sets from what was already probed rather than from a QMP answer. */
function applyImpliedFlags(state: ProbeState): void {
  const { flags, data } = state;
  // -enable-fips went away in QEMU 5.2 (FIPS mode follows the crypto library since).
  if (data.version < 5002000) flags.add('enable-fips');
  // '-compat deprecated-output=...' exists since QEMU 6.0.
  if (data.version >= 6000000) flags.add('compat-deprecated');
  // Incremental backup needs the stable blockdev-reopen.
  if (flags.has('blockdev-reopen')) flags.add('incremental-backup');
  if (isX86(data.arch) || data.arch === 'aarch64') flags.add('no-acpi');
  if (isX86(data.arch)) {
    // -no-hpet until the machine type grew an 'hpet' property.
    if (!flags.has('machine-hpet')) flags.add('no-hpet');
    if (flags.has('query-cpu-model-expansion')) {
      flags.add('cpu-cache');
      flags.add('canonical-cpu-features');
    }
  }
}

async function probeTcgProcess(state: ProbeState, peer: QmpPeer): Promise<void> {
  await negotiate(peer);
  const accel: QemuAccelCaps = { machines: [], cpuModels: [] };
  state.data.accel.tcg = accel;
  await probeCpuDefinitions(state, peer, accel);
  await probeHostCpu(state, peer, accel, 'tcg');
  accel.machines = parseMachines(await peer.command('query-machines'), state.data.arch);
}

/**
 * virQEMUCapsInitQMP: probes a binary through one or two probe processes. The first runs with
 * KVM when the host offers it; when it did, a second one runs with TCG only for the TCG machine
 * types and CPU models.
 */
export async function probeQemuCaps(open: OpenProbePeer, binary?: string): Promise<QemuCaps> {
  const state: ProbeState = {
    data: {
      ...(binary !== undefined ? { binary } : {}),
      version: 0,
      package: '',
      arch: '',
      flags: [],
      qomTypes: [],
      deviceProps: {},
      objectProps: {},
      commands: [],
      commandLineOptions: {},
      migrationCapabilities: [],
      tpmModels: [],
      tpmTypes: [],
      accel: {},
    },
    flags: new Set(),
  };
  const first = await open('kvm');
  let kind: QemuAccel;
  try {
    kind = await probeMainProcess(state, first);
  } finally {
    await first.close?.();
  }
  if (kind === 'kvm') {
    const second = await open('tcg');
    try {
      await probeTcgProcess(state, second);
    } finally {
      await second.close?.();
    }
  }
  state.data.flags = [...state.flags].sort();
  return new QemuCaps(state.data);
}
