// The QEMU driver's domain entries (qemu_driver.c's qemuHypervisorDriver), on top of the shared
// driver state: lookups, define/undefine, the lifecycle, info and XML, autostart, QMP
// passthrough and events. Connection-level entries are added by index.ts.
import type { DomainDef } from '../../conf/domain-def';
import { VIR_DOMAIN_DEF_PARSE_ABI_UPDATE, VIR_DOMAIN_DEF_PARSE_INACTIVE } from '../../conf/domain-parse';
import { formatDomainXML } from '../../conf/domain-format';
import { VIR_DOMAIN_XML_INACTIVE } from '../../constants';
import type { DomainInfo, HypervisorDriver } from '../../driver';
import { VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, virError } from '../../error';
import { checkFlags, domainMatchesListFlags } from '../../util/flags';
import { processCpuTimeNs } from '../../util/proc';
import { checkActive, isActive, type QemuDomainObj, type QemuDriverState } from './domains';
import { QemuHotplug } from './hotplug';
import { qemuParseDomainXML } from './postparse';

const START_PAUSED = 1;
const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;
const START_VALIDATE = 16;
/** VIR_DOMAIN_START_RESET_NVRAM */
const START_RESET_NVRAM = 32;
const DEFINE_VALIDATE = 1;
const DESTROY_GRACEFUL = 1;
/** VIR_DOMAIN_XML_SECURE | INACTIVE | UPDATE_CPU | MIGRATABLE */
const XML_FLAGS = 1 | 2 | 4 | 8;
/** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP */
const MONITOR_COMMAND_HMP = 1;
/** VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN, the only method without a guest agent. */
const SHUTDOWN_ACPI = 1;
/** VIR_DOMAIN_REBOOT_ACPI_POWER_BTN */
const REBOOT_ACPI = 1;

function vcpuCount(def: DomainDef): number {
  return def.vcpu.current ?? def.vcpu.count;
}

export function qemuDomainDriver(state: QemuDriverState): Omit<HypervisorDriver, 'name'> {
  const get = (ref: { name: string; uuid: string; id: number }) => state.fromRef(ref);
  // A definition arriving through define or create is new: libvirt parses it with ABI_UPDATE,
  // which lets post-parse settle what a running guest would otherwise keep (memory, USB ports).
  // Its defaults (the CPU model, say) come from the capabilities of the emulator it names.
  const parse = async (xml: string): Promise<DomainDef> => {
    const flags = VIR_DOMAIN_DEF_PARSE_INACTIVE | VIR_DOMAIN_DEF_PARSE_ABI_UPDATE;
    const def = qemuParseDomainXML(xml, state.caps, flags, state.config);
    const emulator = def.devices.emulator;
    if (emulator === undefined || emulator === state.caps.data.binary || !state.emulatorCaps) return def;
    return qemuParseDomainXML(xml, await state.emulatorCaps(emulator), flags, state.config);
  };
  const hotplug = new QemuHotplug(state);
  /** A job on one domain, serialised with the others on it; `ref.id` follows the domain. */
  const job = <T>(ref: { name: string; uuid: string; id: number }, fn: (obj: QemuDomainObj) => Promise<T>): Promise<T> => {
    const obj = get(ref);
    return state.runJob(obj, async () => {
      try {
        return await fn(obj);
      } finally {
        ref.id = obj.id;
      }
    });
  };

  return {
    async connectNumOfDomains() {
      return [...state.domains.values()].filter(isActive).length;
    },
    async connectNumOfDefinedDomains() {
      return [...state.domains.values()].filter((o) => !isActive(o)).length;
    },
    async connectListDomains(maxids) {
      return [...state.domains.values()].filter(isActive).map((o) => o.id).slice(0, maxids);
    },
    async connectListDefinedDomains(maxnames) {
      return [...state.domains.values()].filter((o) => !isActive(o)).map((o) => o.def.name).slice(0, maxnames);
    },
    async connectListAllDomains(flags) {
      checkFlags(flags, 0xffff, 'qemuConnectListAllDomains', VIR_FROM_QEMU);
      return [...state.domains.values()]
        .filter((o) =>
          domainMatchesListFlags(
            {
              active: isActive(o),
              persistent: o.persistent,
              state: o.state,
              managedSave: false,
              autostart: o.autostart,
              snapshots: false,
              checkpoints: false,
            },
            flags,
          ),
        )
        .map((o) => state.refOf(o));
    },

    async domainLookupByName(name) {
      const obj = state.findByName(name);
      if (!obj) throw virError(VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, `no domain with matching name '${name}'`);
      return state.refOf(obj);
    },
    async domainLookupByID(id) {
      const obj = state.findByID(id);
      if (!obj) throw virError(VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, `no domain with matching id ${id}`);
      return state.refOf(obj);
    },
    async domainLookupByUUID(uuid) {
      const obj = state.domains.get(uuid);
      if (!obj) throw virError(VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU, `no domain with matching uuid '${uuid}'`);
      return state.refOf(obj);
    },

    async domainDefineXMLFlags(xml, flags) {
      checkFlags(flags, DEFINE_VALIDATE, 'qemuDomainDefineXMLFlags', VIR_FROM_QEMU);
      const { obj } = await state.define(await parse(xml));
      return state.refOf(obj);
    },
    async domainUndefineFlags(dom, flags) {
      // Managed save, snapshots and checkpoints do not exist here: their flags are no-ops.
      checkFlags(flags, 0x7f, 'qemuDomainUndefineFlags', VIR_FROM_QEMU);
      await job(dom, (obj) => state.undefine(obj, flags));
    },
    async domainCreateXML(xml, flags) {
      checkFlags(flags, START_PAUSED | START_VALIDATE | START_RESET_NVRAM, 'qemuDomainCreateXML', VIR_FROM_QEMU);
      const obj = await state.createTransient(await parse(xml), (flags & START_PAUSED) !== 0, (flags & START_RESET_NVRAM) !== 0);
      return state.refOf(obj);
    },
    async domainCreateWithFlags(dom, flags) {
      checkFlags(flags, START_PAUSED | START_RESET_NVRAM, 'qemuDomainCreateWithFlags', VIR_FROM_QEMU);
      await job(dom, (obj) => state.start(obj, (flags & START_PAUSED) !== 0, undefined, (flags & START_RESET_NVRAM) !== 0));
    },
    async domainDestroyFlags(dom, flags) {
      checkFlags(flags, DESTROY_GRACEFUL, 'qemuDomainDestroyFlags', VIR_FROM_QEMU);
      await job(dom, (obj) => state.destroy(obj, (flags & DESTROY_GRACEFUL) !== 0));
    },
    async domainShutdownFlags(dom, flags) {
      checkFlags(flags, SHUTDOWN_ACPI, 'qemuDomainShutdownFlags', VIR_FROM_QEMU);
      await job(dom, (obj) => state.shutdown(obj));
    },
    async domainReboot(dom, flags) {
      checkFlags(flags, REBOOT_ACPI, 'qemuDomainReboot', VIR_FROM_QEMU);
      await job(dom, (obj) => state.reboot(obj));
    },
    async domainReset(dom, flags) {
      checkFlags(flags, 0, 'qemuDomainReset', VIR_FROM_QEMU);
      await job(dom, (obj) => state.reset(obj));
    },
    async domainSuspend(dom) {
      await job(dom, (obj) => state.suspend(obj));
    },
    async domainResume(dom) {
      await job(dom, (obj) => state.resume(obj));
    },

    async domainGetInfo(dom): Promise<DomainInfo> {
      const obj = get(dom);
      return {
        state: obj.state,
        maxMem: obj.def.memory,
        memory: obj.def.currentMemory,
        nrVirtCpu: vcpuCount(obj.def),
        cpuTime: obj.run ? processCpuTimeNs(obj.run.proc.pid) : 0n,
      };
    },
    async domainGetState(dom, flags) {
      checkFlags(flags, 0, 'qemuDomainGetState', VIR_FROM_QEMU);
      const obj = get(dom);
      return { state: obj.state, reason: obj.reason };
    },
    async domainGetXMLDesc(dom, flags) {
      checkFlags(flags, XML_FLAGS, 'qemuDomainGetXMLDesc', VIR_FROM_QEMU);
      const obj = get(dom);
      if (flags & VIR_DOMAIN_XML_INACTIVE) return formatDomainXML(obj.newDef ?? obj.def, flags);
      return formatDomainXML(obj.def, flags, isActive(obj) ? { id: obj.id } : undefined);
    },
    async domainGetOSType(dom) {
      return get(dom).def.os.type;
    },
    async domainGetMaxMemory(dom) {
      return get(dom).def.memory;
    },
    async domainGetMaxVcpus(dom) {
      const obj = get(dom);
      checkActive(obj);
      return obj.def.vcpu.count;
    },
    async domainIsActive(dom) {
      return isActive(get(dom));
    },
    async domainIsPersistent(dom) {
      return get(dom).persistent;
    },
    async domainIsUpdated() {
      return false;
    },
    async domainGetAutostart(dom) {
      return get(dom).autostart;
    },
    async domainSetAutostart(dom, autostart) {
      await job(dom, (obj) => state.setAutostart(obj, autostart));
    },
    async domainHasManagedSaveImage(dom, flags) {
      checkFlags(flags, 0, 'qemuDomainHasManagedSaveImage', VIR_FROM_QEMU);
      get(dom);
      return false;
    },

    async domainAttachDeviceFlags(dom, xml, flags) {
      checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'qemuDomainAttachDeviceFlags', VIR_FROM_QEMU);
      await job(dom, (obj) => hotplug.attach(obj, xml, flags));
    },
    async domainDetachDeviceFlags(dom, xml, flags) {
      checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'qemuDomainDetachDeviceFlags', VIR_FROM_QEMU);
      await job(dom, (obj) => hotplug.detach(obj, xml, flags));
    },
    async domainDetachDeviceAlias(dom, alias, flags) {
      checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'qemuDomainDetachDeviceAlias', VIR_FROM_QEMU);
      await job(dom, (obj) => hotplug.detachAlias(obj, alias, flags));
    },

    async domainQemuMonitorCommand(dom, cmd, flags) {
      checkFlags(flags, MONITOR_COMMAND_HMP, 'qemuDomainQemuMonitorCommand', VIR_FROM_QEMU);
      return job(dom, async (obj) => {
        const monitor = await state.monitorOf(obj);
        if (flags & MONITOR_COMMAND_HMP) {
          return String(await monitor.command('human-monitor-command', { 'command-line': cmd }));
        }
        return monitor.commandRaw(cmd);
      });
    },

    domainEventSubscribe(listener) {
      return state.subscribeDomainEvents(listener);
    },
    qemuMonitorEventSubscribe(listener) {
      return state.subscribeQemuEvents(listener);
    },
  };
}
