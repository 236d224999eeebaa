// The typed domain definition (libvirt's virDomainDef), as the parser fills it and the formatter
// writes it. Parts virtnode does not interpret yet are kept as parsed elements (`XmlElement`) and
// written back in libvirt's canonical position, so nothing libvirt knows is lost on a round trip.
import type { XmlElement } from './xml';
import type { PciAddress } from '../util/pci';

/** Attributes in output order. */
export type AttrList = Array<[string, string]>;

/** A parsed element kept as is: its attributes, in order, and its child elements. */
export interface GenericElement {
  attrs: AttrList;
  children: XmlElement[];
}

export interface DeviceAddress {
  /** 'pci', 'drive', 'virtio-serial', 'ccid', 'usb', 'spapr-vio', 'ccw', 'virtio-mmio', 'isa', 'dimm', 'unassigned', ... */
  type: string;
  /** Set for type 'pci'. */
  pci?: PciAddress;
  /** The remaining attributes of non-PCI addresses, in libvirt's order. */
  attrs: AttrList;
  /** Child elements of the address (e.g. <zpci>). */
  children?: XmlElement[];
}

/** virDomainDeviceInfo: what every device may carry. */
export interface DeviceInfo {
  alias?: string;
  address?: DeviceAddress;
  bootOrder?: number;
  loadparm?: string;
  /** <rom bar= file= enabled=/> */
  rom?: AttrList;
  acpiIndex?: number;
  /** <master startport=/> for USB companion controllers. */
  masterStartport?: string;
}

export type TeamingType = 'persistent' | 'transient';

/** virDomainNetTeamingInfo */
export interface TeamingInfo {
  type: TeamingType;
  persistent?: string;
}

export interface DiskDef {
  kind: 'disk';
  /** file, block, dir, network, volume, nvme, vhostuser */
  type: string;
  /** disk, cdrom, floppy, lun */
  device: string;
  /** Other <disk> attributes (model, rawio, sgio, snapshot), in order. */
  attrs: AttrList;
  driver?: GenericElement;
  /** <source>; absent for an empty cdrom. */
  source?: GenericElement;
  backingStore?: XmlElement;
  target: { dev: string; bus?: string; tray?: string; removable?: string; rotationRate?: string };
  readonly: boolean;
  shareable: boolean;
  transient?: AttrList;
  serial?: string;
  wwn?: string;
  vendor?: string;
  product?: string;
  /** geometry, blockio, iotune, encryption, auth, mirror, backenddomain: kept as parsed. */
  extra: XmlElement[];
  info: DeviceInfo;
}

export interface ControllerDef {
  kind: 'controller';
  /** usb, pci, ide, sata, scsi, virtio-serial, ccid, fdc, xenbus, isa */
  type: string;
  /** -1 when the XML gave none (the driver assigns one). */
  index: number;
  model?: string;
  /** ports, vectors, maxGrantFrames, ... in order. */
  attrs: AttrList;
  /** <model name=> (PCI controllers). */
  modelName?: string;
  /** <target chassisNr= chassis= port= busNr= index= hotplug= ...> and its <node> child. */
  target?: GenericElement;
  driver?: GenericElement;
  extra: XmlElement[];
  info: DeviceInfo;
}

export interface NetDef {
  kind: 'interface';
  /** user, network, bridge, ethernet, direct, hostdev, vhostuser, server, client, mcast, udp, vdpa, null, vds */
  type: string;
  mac?: string;
  /** attributes of <mac> besides address (type, check) */
  macAttrs?: AttrList;
  /** managed='yes|no' for hostdev interfaces */
  managed?: boolean;
  trustGuestRxFilters?: string;
  source?: GenericElement;
  /** For type='hostdev': the PCI address inside <source>. */
  hostdevAddress?: DeviceAddress;
  target?: { dev: string; managed?: string };
  model?: string;
  driver?: GenericElement;
  teaming?: TeamingInfo;
  linkState?: string;
  mtu?: number;
  /** virtualport, bandwidth, vlan, filterref, tune, ip, route, script, downscript, backend, guest, coalesce, port, ... */
  extra: XmlElement[];
  info: DeviceInfo;
}

export interface HostdevDef {
  kind: 'hostdev';
  /** subsystem or capabilities */
  mode: string;
  /** pci, usb, scsi, scsi_host, mdev (subsystem); storage, misc, net (capabilities) */
  type: string;
  managed: boolean;
  /** model, display, ramfb, sgio, rawio ... */
  attrs: AttrList;
  driver?: GenericElement;
  /** <source> attributes (startupPolicy, guestReset, protocol, wwpn ...) */
  sourceAttrs: AttrList;
  /** For type pci: the host address. */
  pciAddress?: PciAddress;
  /** Other <source> children (usb vendor/product/address, scsi adapter, mdev uuid, ...). */
  sourceChildren: XmlElement[];
  teaming?: TeamingInfo;
  readonly: boolean;
  shareable: boolean;
  extra: XmlElement[];
  info: DeviceInfo;
}

/** serial, parallel, console, channel (virDomainChrDef). */
export interface ChrDef {
  kind: 'serial' | 'parallel' | 'console' | 'channel';
  /** source type: pty, file, pipe, unix, tcp, udp, null, vc, stdio, dev, spiceport, spicevmc, nmdm, qemu-vdagent, dbus */
  type: string;
  /** tty='/dev/pts/N' for live pty XML */
  tty?: string;
  /** <source> elements (udp has two: bind and connect), as parsed. */
  sources: XmlElement[];
  /** <protocol type='telnet'/> */
  protocol?: string;
  log?: AttrList;
  /** <target> attributes and children */
  target?: GenericElement;
  extra: XmlElement[];
  info: DeviceInfo;
}

export interface InputDef {
  kind: 'input';
  type: string;
  bus?: string;
  model?: string;
  source?: GenericElement;
  driver?: GenericElement;
  info: DeviceInfo;
}

export interface GraphicsDef {
  kind: 'graphics';
  /** vnc, spice, sdl, rdp, desktop, egl-headless, dbus */
  type: string;
  /** vnc/spice/rdp: 0 when unset (or assigned automatically). */
  port?: number;
  tlsPort?: number;
  autoport?: boolean;
  websocket?: number;
  /** vnc socket='...' */
  socket?: string;
  /** <listen> elements: type address|network|socket|none and their attributes, in order. */
  listens: AttrList[];
  /** The remaining attributes (keymap, sharePolicy, passwd, ...), in order. */
  attrs: AttrList;
  /** Children other than <listen> (channel, image, gl, audio, ...), as parsed. */
  children: XmlElement[];
}

export interface SimpleDeviceDef {
  /** sound, audio, video, watchdog, memballoon, rng, panic, vsock and the devices virtnode keeps as parsed
   * (filesystem, tpm, redirdev, smartcard, hub, shmem, memory, iommu, lease, nvram, crypto, redirfilter) */
  kind: string;
  attrs: AttrList;
  /** Child elements other than the device info, as parsed. */
  children: XmlElement[];
  /** Where <alias>/<address> go among the children (libvirt's position for this device kind). */
  infoPos?: number;
  info: DeviceInfo;
}

export type DomainDeviceDef = DiskDef | ControllerDef | NetDef | HostdevDef | ChrDef | InputDef | GraphicsDef | SimpleDeviceDef;

export interface DomainDevices {
  emulator?: string;
  disks: DiskDef[];
  controllers: ControllerDef[];
  leases: SimpleDeviceDef[];
  filesystems: SimpleDeviceDef[];
  interfaces: NetDef[];
  smartcards: SimpleDeviceDef[];
  serials: ChrDef[];
  parallels: ChrDef[];
  consoles: ChrDef[];
  channels: ChrDef[];
  inputs: InputDef[];
  tpms: SimpleDeviceDef[];
  graphics: GraphicsDef[];
  sounds: SimpleDeviceDef[];
  audios: SimpleDeviceDef[];
  videos: SimpleDeviceDef[];
  hostdevs: HostdevDef[];
  redirdevs: SimpleDeviceDef[];
  redirfilters: SimpleDeviceDef[];
  hubs: SimpleDeviceDef[];
  watchdogs: SimpleDeviceDef[];
  memballoon?: SimpleDeviceDef;
  rngs: SimpleDeviceDef[];
  nvram?: SimpleDeviceDef;
  panics: SimpleDeviceDef[];
  shmems: SimpleDeviceDef[];
  memories: SimpleDeviceDef[];
  iommu?: SimpleDeviceDef;
  vsock?: SimpleDeviceDef;
  cryptos: SimpleDeviceDef[];
}

export interface OsDef {
  /** hvm, xen, linux, exe, uml */
  type: string;
  arch?: string;
  machine?: string;
  /** firmware='efi|bios' on <os> */
  firmware?: string;
  /** <boot dev=> in order */
  boot: string[];
  bootmenu?: AttrList;
  loader?: { attrs: AttrList; path?: string };
  nvram?: { attrs: AttrList; path?: string; children: XmlElement[] };
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  dtb?: string;
  root?: string;
  init?: string;
  initargs?: string[];
  /** <firmware>, <smbios>, <bios>, <acpi>, <bootloader>..., kept as parsed, by name */
  extra: XmlElement[];
}

export interface VcpuDef {
  count: number;
  placement: string;
  cpuset?: string;
  current?: number;
}

export interface DomainDef {
  /** test, qemu, kvm, xen, lxc, ... */
  type: string;
  /** xmlns:* declarations on the root, kept for namespaced elements. */
  namespaces: AttrList;
  name: string;
  uuid: string;
  genid?: string;
  title?: string;
  description?: string;
  metadata?: XmlElement;
  /** KiB */
  maxMemory?: { kib: number; slots: number };
  /** KiB; <memory> (total, including hotplugged DIMMs) */
  memory: number;
  memoryDumpCore?: string;
  /** KiB; <currentMemory>, defaults to memory */
  currentMemory: number;
  blkiotune?: XmlElement;
  memtune?: XmlElement;
  memoryBacking?: XmlElement;
  vcpu: VcpuDef;
  vcpus?: XmlElement;
  iothreads?: XmlElement;
  iothreadids?: XmlElement;
  cputune?: XmlElement;
  numatune?: XmlElement;
  resource?: XmlElement;
  sysinfo: XmlElement[];
  bootloader?: string;
  bootloaderArgs?: string;
  os: OsDef;
  idmap?: XmlElement;
  /** <features> children by name, as parsed */
  features?: Map<string, XmlElement>;
  cpu?: XmlElement;
  clock: XmlElement;
  onPoweroff: string;
  onReboot: string;
  onCrash: string;
  onLockfailure?: string;
  pm?: XmlElement;
  perf?: XmlElement;
  devices: DomainDevices;
  seclabels: XmlElement[];
  keywrap?: XmlElement;
  launchSecurity?: XmlElement;
  /** Namespaced children of <domain> (qemu:commandline, qemu:capabilities, ...). */
  namespaced: XmlElement[];
}
