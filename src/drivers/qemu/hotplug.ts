// Device hotplug and unplug (libvirt's qemu_hotplug.c). A device's QEMU objects are exactly the
// options the command line gives it, so the live half builds the running domain's command with
// and without the device and sends the difference over QMP: backends first (chardev-add,
// netdev_add, blockdev-add, object-add), then device_add; unplug is device_del, finished when
// QEMU reports DEVICE_DELETED, after which the backends go. The config half edits the persistent
// definition and writes it atomically.
import type { DeviceInfo, DiskDef, DomainDef, DomainDeviceDef, NetDef } from '../../conf/domain-def';
import { formatDomainXML } from '../../conf/domain-format';
import { addDevice, VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE, VIR_DOMAIN_DEF_PARSE_STATUS } from '../../conf/domain-parse';
import { allDevices, domainDeviceMatches, parseDeviceXML } from '../../conf/domain';
import { VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, VIR_DOMAIN_XML_INACTIVE, VIR_DOMAIN_XML_SECURE } from '../../constants';
import {
  VirError,
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_DEVICE_MISSING,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_OPERATION_INVALID,
  VIR_ERR_OPERATION_UNSUPPORTED,
  VIR_FROM_DOMAIN,
  VIR_FROM_QEMU,
  virError,
} from '../../error';
import { checkActive, isActive, type QemuDomainObj, type QemuDriverState } from './domains';
import { assignVfioBackend, pciHostdevRequest, usbHostdevs } from './hostdev';
import type { QemuMonitor } from './monitor';
import { qemuAssignDeviceAliases, qemuDomainXMLOptions, qemuParseDomainXML } from './postparse';
import { liveCommand } from './process';

const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;
/** libvirt's qemuDomainWaitForDeviceRemoval: how long detach waits for the guest. */
export const DEVICE_REMOVAL_WAIT_MS = 5_000;

/** One `-option value` of a command line. */
type Option = [string, string];

/** Options that name QEMU objects hotplug can create and delete. */
const HOTPLUGGABLE = new Set(['-chardev', '-netdev', '-blockdev', '-object', '-device']);

/** virDomainObjUpdateModificationImpact: which definitions a LIVE/CONFIG/CURRENT call changes. */
function impact(obj: QemuDomainObj, flags: number): { live: boolean; config: boolean } {
  let live = (flags & AFFECT_LIVE) !== 0;
  let config = (flags & AFFECT_CONFIG) !== 0;
  if (!live && !config) {
    if (isActive(obj)) live = true;
    else config = true;
  }
  if (live) checkActive(obj);
  if (config && !obj.persistent) {
    throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'transient domains do not have any persistent config');
  }
  return { live, config };
}

/** The option/value pairs of a command line, in order. */
function options(args: string[]): Option[] {
  const out: Option[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith('-') && i + 1 < args.length && !args[i + 1].startsWith('-')) {
      out.push([args[i], args[i + 1]]);
      i++;
    } else {
      out.push([args[i], '']);
    }
  }
  return out;
}

/** Options of `b` not in `a` (as a multiset), in `b`'s order. */
function added(a: Option[], b: Option[]): Option[] {
  const count = new Map<string, number>();
  for (const [k, v] of a) count.set(`${k}\0${v}`, (count.get(`${k}\0${v}`) ?? 0) + 1);
  const out: Option[] = [];
  for (const [k, v] of b) {
    const key = `${k}\0${v}`;
    const n = count.get(key) ?? 0;
    if (n > 0) count.set(key, n - 1);
    else out.push([k, v]);
  }
  return out;
}

/** `a,b=c,d=e` (QEMU's key=value syntax with `,,` escapes) as ordered pairs; the first bare word is the type. */
function keyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',' && text[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (text[i] === ',') {
      parts.push(cur);
      cur = '';
    } else {
      cur += text[i];
    }
  }
  parts.push(cur);
  parts.forEach((p, i) => {
    const eq = p.indexOf('=');
    if (eq < 0) out.set(i === 0 ? 'backend' : p, i === 0 ? p : 'on');
    else out.set(p.slice(0, eq), p.slice(eq + 1));
  });
  return out;
}

/** A `-chardev` option as chardev-add's arguments (the backends a hotplugged chardev can have). */
export function chardevAddArgs(value: string): { id: string; backend: Record<string, unknown> } {
  const kv = keyValues(value);
  const id = kv.get('id') ?? '';
  const flag = (k: string) => kv.get(k) === 'on';
  switch (kv.get('backend')) {
    case 'pty':
      return { id, backend: { type: 'pty', data: {} } };
    case 'null':
      return { id, backend: { type: 'null', data: {} } };
    case 'file':
      return { id, backend: { type: 'file', data: { out: kv.get('path') ?? '', ...(kv.has('append') ? { append: flag('append') } : {}) } } };
    case 'socket':
      if (kv.has('path')) {
        return {
          id,
          backend: {
            type: 'socket',
            data: { addr: { type: 'unix', data: { path: kv.get('path') } }, server: flag('server'), ...(kv.has('wait') ? { wait: flag('wait') } : {}) },
          },
        };
      }
      break;
  }
  throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, `live attach of chardev backend '${kv.get('backend')}' is not supported`);
}

function parseJSONOption(value: string): Record<string, unknown> {
  return JSON.parse(value) as Record<string, unknown>;
}

/** The QMP command creating what one option describes, and the one deleting it again. */
function qmpFor(opt: Option): { add: [string, Record<string, unknown>]; del: [string, Record<string, unknown>] | null } {
  const [name, value] = opt;
  if (!value.startsWith('{') && name !== '-chardev') {
    throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, `live attach needs JSON syntax for '${name}'`);
  }
  switch (name) {
    case '-chardev': {
      const args = chardevAddArgs(value);
      return { add: ['chardev-add', args], del: ['chardev-remove', { id: args.id }] };
    }
    case '-netdev': {
      const args = parseJSONOption(value);
      return { add: ['netdev_add', args], del: ['netdev_del', { id: args.id }] };
    }
    case '-blockdev': {
      const args = parseJSONOption(value);
      return { add: ['blockdev-add', args], del: ['blockdev-del', { 'node-name': args['node-name'] }] };
    }
    case '-object': {
      const args = parseJSONOption(value);
      return { add: ['object-add', args], del: ['object-del', { id: args.id }] };
    }
    case '-device': {
      const args = parseJSONOption(value);
      return { add: ['device_add', args], del: null };
    }
  }
  throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, `live attach changing '${name}' is not supported`);
}

/** Undo list for backends added so far, newest first. */
async function rollback(monitor: QemuMonitor, undo: Array<[string, Record<string, unknown>]>): Promise<void> {
  for (const [cmd, args] of undo.reverse()) await monitor.command(cmd, args).catch(() => {});
}

function deviceName(dev: DomainDeviceDef): string {
  return dev.kind === 'interface' ? 'net' : dev.kind;
}

export class QemuHotplug {
  constructor(private readonly state: QemuDriverState) {
    state.removeLiveDevice = (obj, alias) => this.forgetDevice(obj, alias);
  }

  private parseDevice(xml: string, def: DomainDef): DomainDeviceDef {
    return parseDeviceXML(xml, def, qemuDomainXMLOptions(this.state.caps));
  }

  /**
   * A definition with the device added, through the QEMU post-parse step again (addresses,
   * controllers, validation): what libvirt's attach does piecewise.
   */
  private withDevice(def: DomainDef, dev: DomainDeviceDef, live: boolean): DomainDef {
    const copy = structuredClone(def);
    addDevice(copy.devices, dev);
    const flags = live ? VIR_DOMAIN_XML_SECURE : VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE;
    const xml = formatDomainXML(copy, flags);
    return qemuParseDomainXML(xml, this.state.caps, live ? VIR_DOMAIN_DEF_PARSE_STATUS | VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE : undefined, this.state.config);
  }

  /** qemuDomainAttachDeviceConfig's duplicate checks. */
  private checkNotPresent(def: DomainDef, dev: DomainDeviceDef): void {
    const dst = dev.kind === 'disk' ? (dev as DiskDef).target.dev : undefined;
    if (dst !== undefined && def.devices.disks.some((d) => d.target.dev === dst)) {
      throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, `target ${dst} already exists`);
    }
    if (dev.kind === 'hostdev' && def.devices.hostdevs.some((h) => domainDeviceMatches(h, dev))) {
      throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, 'device is already in the domain configuration');
    }
  }

  async attach(obj: QemuDomainObj, xml: string, flags: number): Promise<void> {
    const { live, config } = impact(obj, flags);
    // Everything is parsed and checked before anything changes.
    let newConfig: DomainDef | null = null;
    if (config) {
      const persistent = obj.newDef ?? obj.def;
      const dev = this.parseDevice(xml, persistent);
      this.checkNotPresent(persistent, dev);
      newConfig = this.withDevice(persistent, dev, false);
    }
    if (live) {
      await this.state.ensureDriven(obj);
      const dev = this.parseDevice(xml, obj.def);
      this.checkNotPresent(obj.def, dev);
      await this.attachLive(obj, dev);
    }
    if (newConfig) await this.state.replaceConfig(obj, newConfig);
  }

  /**
   * qemuDomainAttachHostUSBDevice: a host USB device is found (by its IDs, into the device's
   * definition) and marked as the domain's before its command line is built; if the attach
   * fails, it is free again. A hot-plug is no cold boot: a requisite device may be missing.
   */
  private async attachLive(obj: QemuDomainObj, dev: DomainDeviceDef): Promise<void> {
    const usb = usbHostdevs([dev]);
    const scope = this.state.dirs.configDir;
    await this.state.hostdevs.prepareUsbDevices(obj.def.name, usb, scope, false);
    try {
      await this.attachLiveDevice(obj, dev);
    } catch (err) {
      await this.state.hostdevs.releaseUsbDevices(obj.def.name, usb, scope);
      throw err;
    }
  }

  private async attachLiveDevice(obj: QemuDomainObj, dev: DomainDeviceDef): Promise<void> {
    const run = obj.run!;
    const monitor = run.proc.monitor!;
    // qemuDomainAttachHostPCIDevice: VFIO or nothing, before anything is built.
    const hostdev = pciHostdevRequest(dev);
    if (hostdev) {
      await this.state.hostdevs.checkPassthroughSupport([hostdev]);
      assignVfioBackend(dev);
    }
    const before = allDevices(obj.def).length;
    let next = this.withDevice(obj.def, dev, true);
    if (next.devices.controllers.length !== obj.def.devices.controllers.length) {
      // The define-time placement added a root port for the device, which cannot be hot-plugged
      // itself: put the device in a free port of the running domain instead.
      const placed = allDevices(next).find((d) => d.kind === dev.kind && 'info' in d && !d.info.alias);
      if (!placed || !('info' in placed) || placed.info.address?.type !== 'pci') {
        throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, `live attach of device '${deviceName(dev)}' is not supported`);
      }
      const port = freeHotplugPort(obj.def);
      if (port === undefined) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, 'No more available PCI slots');
      (dev as { info: DeviceInfo }).info.address = { type: 'pci', pci: { domain: 0, bus: port, slot: 0, function: 0 }, attrs: [] };
      next = this.withDevice(obj.def, dev, true);
    }
    if (allDevices(next).length !== before + 1) {
      throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, `live attach of device '${deviceName(dev)}' is not supported`);
    }
    qemuAssignDeviceAliases(next);
    const nodes = new Map(run.diskNodeIndexes);
    const oldArgs = options(this.command(obj, obj.def, new Map(run.diskNodeIndexes)));
    const newArgs = options(this.command(obj, next, nodes));
    const extra = added(oldArgs, newArgs);
    const gone = added(newArgs, oldArgs);
    if (extra.length === 0 || gone.length > 0 || extra.some(([k]) => !HOTPLUGGABLE.has(k))) {
      throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, `live attach of device '${deviceName(dev)}' is not supported`);
    }
    const plan = extra.map(qmpFor);
    // The host device goes to vfio-pci before QEMU sees it, and back on failure.
    const scope = this.state.dirs.configDir;
    if (hostdev) await this.state.hostdevs.prepareDomainDevices(obj.def.name, [hostdev], scope, this.state.dirs.hostdevStateDir);
    const undo: Array<[string, Record<string, unknown>]> = [];
    try {
      for (const step of plan) {
        await monitor.command(step.add[0], step.add[1]);
        if (step.del) undo.push(step.del);
      }
    } catch (err) {
      await rollback(monitor, undo);
      if (hostdev) await this.state.hostdevs.releaseDomainDevices(obj.def.name, [hostdev], scope, this.state.dirs.hostdevStateDir);
      throw err;
    }
    obj.def = next;
    run.diskNodeIndexes = nodes;
    await this.state.writeStatus(obj);
    const alias = this.addedAlias(plan);
    if (alias) this.state.emit({ eventID: VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, dom: this.state.refOf(obj), args: [alias] });
  }

  private addedAlias(plan: Array<{ add: [string, Record<string, unknown>] }>): string | undefined {
    const dev = plan.find((p) => p.add[0] === 'device_add');
    return dev ? String(dev.add[1].id) : undefined;
  }

  private command(obj: QemuDomainObj, def: DomainDef, nodes: Map<string, number>): string[] {
    const d = this.state.dirs;
    return liveCommand(structuredClone(def), this.state.caps, obj.id, { libDir: d.libDir, logDir: d.logDir, config: this.state.config }, this.state.privileged, nodes).args;
  }

  async detach(obj: QemuDomainObj, xml: string, flags: number): Promise<void> {
    const { live, config } = impact(obj, flags);
    let newConfig: DomainDef | null = null;
    if (config) {
      const persistent = obj.newDef ?? obj.def;
      const wanted = this.parseDevice(xml, persistent);
      newConfig = structuredClone(persistent);
      removeMatching(newConfig, wanted);
    }
    if (live) {
      await this.state.ensureDriven(obj);
      const wanted = this.parseDevice(xml, obj.def);
      const found = findMatching(obj.def, wanted);
      await this.detachLive(obj, found);
    }
    if (newConfig) await this.state.replaceConfig(obj, newConfig);
  }

  async detachAlias(obj: QemuDomainObj, alias: string, flags: number): Promise<void> {
    const { live, config } = impact(obj, flags);
    let newConfig: DomainDef | null = null;
    if (config) {
      newConfig = structuredClone(obj.newDef ?? obj.def);
      const dev = allDevices(newConfig).find((d) => 'info' in d && d.info.alias === alias);
      if (!dev) throw virError(VIR_ERR_DEVICE_MISSING, VIR_FROM_QEMU, `device not found in domain configuration`);
      removeDevice(newConfig, dev);
    }
    if (live) {
      await this.state.ensureDriven(obj);
      const dev = allDevices(obj.def).find((d) => 'info' in d && d.info.alias === alias);
      if (!dev) throw virError(VIR_ERR_DEVICE_MISSING, VIR_FROM_QEMU, `no device found with alias ${alias}`);
      await this.detachLive(obj, dev);
    }
    if (newConfig) await this.state.replaceConfig(obj, newConfig);
  }

  /**
   * device_del, then wait (5 s, as libvirt) for QEMU's DEVICE_DELETED, which only comes once the
   * guest has let go of the device. When the guest is slower, the call still succeeds and the
   * device goes when the event arrives, with the device-removed event.
   */
  private async detachLive(obj: QemuDomainObj, dev: DomainDeviceDef): Promise<void> {
    const alias = 'info' in dev ? dev.info.alias : undefined;
    if (!alias) throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, `live detach of device '${deviceName(dev)}' is not supported`);
    if (dev.kind === 'controller') {
      throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, `live detach of device '${deviceName(dev)}' is not supported`);
    }
    const monitor = obj.run!.proc.monitor!;
    const deleted = this.state.waitDeviceDeleted(obj, alias, DEVICE_REMOVAL_WAIT_MS);
    try {
      await monitor.command('device_del', { id: alias });
    } catch (err) {
      this.state.cancelDeviceWait(obj, alias);
      throw err;
    }
    await deleted;
  }

  /**
   * QEMU deleted the device `alias`: drop it from the live definition and delete the backends
   * only it used (the options its command line had that the rest of the domain does not).
   */
  private forgetDevice(obj: QemuDomainObj, alias: string): void {
    const run = obj.run;
    if (!run) return;
    const dev = allDevices(obj.def).find((d) => 'info' in d && d.info.alias === alias);
    if (!dev) return;
    const next = structuredClone(obj.def);
    removeDevice(next, allDevices(next).find((d) => 'info' in d && d.info.alias === alias)!);
    let backends: Option[] = [];
    try {
      const oldArgs = options(this.command(obj, obj.def, new Map(run.diskNodeIndexes)));
      const newArgs = options(this.command(obj, next, new Map(run.diskNodeIndexes)));
      backends = added(newArgs, oldArgs).filter(([k]) => k !== '-device' && HOTPLUGGABLE.has(k));
    } catch {
      // A definition that no longer builds still loses the device; its backends stay in QEMU.
    }
    obj.def = next;
    void this.state.writeStatus(obj);
    // qemuDomainRemoveHostDevice: QEMU has let go of the host device; it goes back to the host.
    const hostdev = pciHostdevRequest(dev);
    if (hostdev) void this.state.hostdevs.releaseDomainDevices(obj.def.name, [hostdev], this.state.dirs.configDir, this.state.dirs.hostdevStateDir);
    void this.state.hostdevs.releaseUsbDevices(obj.def.name, usbHostdevs([dev]), this.state.dirs.configDir);
    const monitor = run.proc.monitor;
    if (!monitor) return;
    void (async () => {
      for (const opt of backends.reverse()) {
        const del = qmpFor(opt).del;
        if (del) await monitor.command(del[0], del[1]).catch(() => {});
      }
    })();
  }
}

/** The index of the first PCIe port of a running domain with nothing plugged in it. */
function freeHotplugPort(def: DomainDef): number | undefined {
  const used = new Set<number>();
  for (const d of allDevices(def)) {
    const a = 'info' in d && d.info.address?.type === 'pci' ? d.info.address.pci : undefined;
    if (a) used.add(a.bus);
  }
  return def.devices.controllers
    .filter((c) => c.type === 'pci' && (c.model === 'pcie-root-port' || c.model === 'pcie-switch-downstream-port'))
    .filter((c) => c.target?.attrs.find(([k]) => k === 'hotplug')?.[1] !== 'off')
    .map((c) => c.index)
    .find((i) => !used.has(i));
}

function findMatching(def: DomainDef, wanted: DomainDeviceDef): DomainDeviceDef {
  const matches = allDevices(def).filter((d) => domainDeviceMatches(d, wanted));
  if (matches.length === 0) {
    if (wanted.kind === 'disk') throw virError(VIR_ERR_DEVICE_MISSING, VIR_FROM_QEMU, `no target device ${(wanted as DiskDef).target.dev}`);
    const mac = wanted.kind === 'interface' ? (wanted as NetDef).mac : undefined;
    if (mac) throw virError(VIR_ERR_DEVICE_MISSING, VIR_FROM_DOMAIN, `no device matching MAC address ${mac} found`);
    throw virError(VIR_ERR_DEVICE_MISSING, VIR_FROM_QEMU, 'device not found in domain configuration');
  }
  if (matches.length > 1) {
    throw new VirError({
      code: VIR_ERR_CONFIG_UNSUPPORTED,
      domain: VIR_FROM_QEMU,
      message: 'unsupported configuration: multiple devices matching the description were found',
    });
  }
  return matches[0];
}

function removeMatching(def: DomainDef, wanted: DomainDeviceDef): void {
  removeDevice(def, findMatching(def, wanted));
}

/** Takes `dev` (an object of `def`) out of whichever list holds it. */
function removeDevice(def: DomainDef, dev: DomainDeviceDef): void {
  for (const list of Object.values(def.devices)) {
    if (!Array.isArray(list)) continue;
    const at = (list as unknown[]).indexOf(dev);
    if (at >= 0) {
      list.splice(at, 1);
      return;
    }
  }
  const devices = def.devices as unknown as Record<string, unknown>;
  for (const key of Object.keys(devices)) if (devices[key] === dev) delete devices[key];
}
