// The test driver's hypervisor table (test_driver.c testHypervisorDriver): domains that only
// live in memory, with libvirt 9.0's state transitions, events and messages. Device hotplug is
// absent, as in libvirt 9.0's test driver, so those calls fail with VIR_ERR_NO_SUPPORT.
import { hostname } from 'node:os';
import type { DomainDef } from '../../conf/domain-def';
import {
  VIR_DOMAIN_EVENT_DEFINED,
  VIR_DOMAIN_EVENT_DEFINED_ADDED,
  VIR_DOMAIN_EVENT_DEFINED_UPDATED,
  VIR_DOMAIN_EVENT_RESUMED,
  VIR_DOMAIN_EVENT_STARTED,
  VIR_DOMAIN_EVENT_STOPPED,
  VIR_DOMAIN_EVENT_SUSPENDED,
  VIR_DOMAIN_EVENT_UNDEFINED,
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_RUNNING,
  VIR_DOMAIN_SHUTOFF,
} from '../../constants';
import type { DomainInfo, DomainRef, DomainStateResult, HypervisorDriver, NodeInfo } from '../../driver';
import {
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_INVALID_ARG,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_OPERATION_INVALID,
  VIR_FROM_TEST,
  virError,
} from '../../error';
import { TEST_MAX_VCPUS, TEST_SYSINFO_XML, testCapabilitiesXML } from './capabilities';
import { domainMatchesListFlags } from '../../util/flags';
import { checkActive, checkFlags, definitionsFor, oneDefinition } from './checks';
import { formatTestDomain, generateIfnames, parseTestDomain } from './domain-xml';
import { validateDomainSchema } from './schema';
import { isActive, type DomainObj, type TestDriverState } from './state';

// Event details (virDomainEvent*DetailType) the test driver emits.
const STARTED_BOOTED = 0;
const SUSPENDED_PAUSED = 0;
const RESUMED_UNPAUSED = 0;
const STOPPED_SHUTDOWN = 0;
const STOPPED_DESTROYED = 1;
const STOPPED_SAVED = 4;
const UNDEFINED_REMOVED = 0;

// State reasons.
const RUNNING_BOOTED = 1;
const RUNNING_UNPAUSED = 5;
const PAUSED_USER = 1;
const SHUTOFF_SHUTDOWN = 1;
const SHUTOFF_DESTROYED = 2;
const SHUTOFF_SAVED = 5;

const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;
const MEM_MAXIMUM = 4;
const VCPU_MAXIMUM = 4;

/** VIR_DOMAIN_XML_SECURE | INACTIVE | MIGRATABLE */
const XML_COMMON_FLAGS = 1 | 2 | 8;
const XML_INACTIVE = 2;

/** VIR_CONNECT_LIST_DOMAINS_FILTERS_ALL */
const LIST_DOMAINS_ALL = 0xffff;

/** g_get_real_time() * 1000: the test driver reports wall-clock nanoseconds as CPU time. */
function wallClockNanos(): bigint {
  const micros = Math.round((performance.timeOrigin + performance.now()) * 1000);
  return BigInt(micros) * 1000n;
}

function vcpuCount(def: DomainDef): number {
  return def.vcpu.current ?? def.vcpu.count;
}

function setVcpuCurrent(def: DomainDef, n: number): void {
  def.vcpu.current = n === def.vcpu.count ? undefined : n;
}

function persistentDef(obj: DomainObj): DomainDef {
  return obj.newDef ?? obj.def;
}

/** testDomainActionSetState: what a guest-initiated poweroff or reboot leads to. */
function applyLifecycleAction(obj: DomainObj, action: string): void {
  if (action === 'restart' || action === 'rename-restart') {
    obj.state = VIR_DOMAIN_RUNNING;
    obj.reason = RUNNING_BOOTED;
  } else {
    obj.state = VIR_DOMAIN_SHUTOFF;
    obj.reason = SHUTOFF_SHUTDOWN;
  }
}

function matchesListFlags(obj: DomainObj, flags: number): boolean {
  return domainMatchesListFlags(
    {
      active: isActive(obj),
      persistent: obj.persistent,
      state: obj.state,
      managedSave: obj.hasManagedSave,
      autostart: obj.autostart,
      snapshots: false,
      checkpoints: false,
    },
    flags,
  );
}

export function testHypervisorDriver(state: TestDriverState, onClose: () => void): HypervisorDriver {
  const get = (ref: DomainRef) => state.domainFromRef(ref);
  /** After a guest poweroff or reboot whose lifecycle action stopped the domain. */
  const finishIfShutOff = (obj: DomainObj, dom: DomainRef): void => {
    if (obj.state !== VIR_DOMAIN_SHUTOFF) return;
    const eventID = state.stopDomain(obj, SHUTOFF_SHUTDOWN, dom);
    state.emitDomainLifecycle(obj, VIR_DOMAIN_EVENT_STOPPED, STOPPED_SHUTDOWN, eventID);
    if (!obj.persistent) state.removeDomain(obj);
  };

  return {
    name: 'Test',

    async connectClose() {
      onClose();
    },
    async connectIsAlive() {
      return true;
    },
    async connectGetType() {
      return 'TEST';
    },
    async connectGetVersion() {
      return 2;
    },
    async connectGetHostname() {
      return hostname();
    },
    async connectGetCapabilities() {
      return testCapabilitiesXML(state.cells);
    },
    async connectGetSysinfo(flags) {
      checkFlags(flags, 0, 'testConnectGetSysinfo');
      return TEST_SYSINFO_XML;
    },
    async connectGetMaxVcpus() {
      return TEST_MAX_VCPUS;
    },
    async nodeGetInfo(): Promise<NodeInfo> {
      return { ...state.nodeInfo };
    },
    async nodeGetFreeMemory() {
      // The sum of the cells' free KiB, returned where the API promises bytes: libvirt's quirk.
      return BigInt(state.cells.reduce((sum, c) => sum + c.freeMem, 0));
    },
    async nodeGetCellsFreeMemory(startCell, maxCells) {
      if (startCell >= state.cells.length) {
        throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_TEST, 'Range exceeds available cells');
      }
      // libvirt's test driver answers with each cell's total memory here.
      return state.cells.slice(startCell, startCell + maxCells).map((c) => BigInt(c.mem));
    },

    async connectListAllDomains(flags) {
      checkFlags(flags, LIST_DOMAINS_ALL, 'testConnectListAllDomains');
      const out: DomainRef[] = [];
      for (const obj of state.domains.values()) if (matchesListFlags(obj, flags)) out.push(state.refOf(obj));
      return out;
    },
    async connectNumOfDomains() {
      let n = 0;
      for (const obj of state.domains.values()) if (isActive(obj)) n++;
      return n;
    },
    async connectNumOfDefinedDomains() {
      let n = 0;
      for (const obj of state.domains.values()) if (!isActive(obj)) n++;
      return n;
    },
    async connectListDomains(maxids) {
      const ids: number[] = [];
      for (const obj of state.domains.values()) if (isActive(obj) && ids.length < maxids) ids.push(obj.id);
      return ids;
    },
    async connectListDefinedDomains(maxnames) {
      const names: string[] = [];
      for (const obj of state.domains.values()) if (!isActive(obj) && names.length < maxnames) names.push(obj.def.name);
      return names;
    },

    async domainLookupByName(name) {
      const obj = state.findDomainByName(name);
      if (!obj) throw virError(VIR_ERR_NO_DOMAIN, VIR_FROM_TEST);
      return state.refOf(obj);
    },
    async domainLookupByID(id) {
      const obj = state.findDomainByID(id);
      if (!obj) throw virError(VIR_ERR_NO_DOMAIN, VIR_FROM_TEST);
      return state.refOf(obj);
    },
    async domainLookupByUUID(uuid) {
      const obj = state.domains.get(uuid);
      if (!obj) throw virError(VIR_ERR_NO_DOMAIN, VIR_FROM_TEST);
      return state.refOf(obj);
    },

    async domainDefineXMLFlags(xml, flags) {
      checkFlags(flags, 1, 'testDomainDefineXMLFlags');
      if (flags & 1) validateDomainSchema(xml);
      const { def } = parseTestDomain(xml);
      generateIfnames(def);
      const { obj, replaced } = state.addDomain(def, false);
      obj.persistent = true;
      state.emitDomainLifecycle(obj, VIR_DOMAIN_EVENT_DEFINED, replaced ? VIR_DOMAIN_EVENT_DEFINED_UPDATED : VIR_DOMAIN_EVENT_DEFINED_ADDED);
      return state.refOf(obj);
    },
    async domainCreateXML(xml, flags) {
      checkFlags(flags, 16, 'testDomainCreateXML');
      if (flags & 16) validateDomainSchema(xml);
      const { def } = parseTestDomain(xml);
      generateIfnames(def);
      const { obj } = state.addDomain(def, true);
      state.startDomain(obj, RUNNING_BOOTED);
      state.emitDomainLifecycle(obj, VIR_DOMAIN_EVENT_STARTED, STARTED_BOOTED);
      return state.refOf(obj);
    },
    async domainCreateWithFlags(dom, flags) {
      checkFlags(flags, 0, 'testDomainCreateWithFlags');
      const obj = get(dom);
      if (obj.state !== VIR_DOMAIN_SHUTOFF) {
        throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, `Domain '${dom.name}' is already running`);
      }
      state.startDomain(obj, RUNNING_BOOTED);
      dom.id = obj.id;
      state.emitDomainLifecycle(obj, VIR_DOMAIN_EVENT_STARTED, STARTED_BOOTED);
    },
    async domainDestroyFlags(dom, flags) {
      checkFlags(flags, 1, 'testDomainDestroyFlags');
      const obj = get(dom);
      checkActive(obj);
      const eventID = state.stopDomain(obj, SHUTOFF_DESTROYED, dom);
      state.emitDomainLifecycle(obj, VIR_DOMAIN_EVENT_STOPPED, STOPPED_DESTROYED, eventID);
      if (!obj.persistent) state.removeDomain(obj);
    },
    async domainShutdownFlags(dom, flags) {
      checkFlags(flags, 0, 'testDomainShutdownFlags');
      const obj = get(dom);
      if (obj.state === VIR_DOMAIN_SHUTOFF) {
        throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, `domain '${dom.name}' not running`);
      }
      applyLifecycleAction(obj, obj.def.onPoweroff);
      finishIfShutOff(obj, dom);
    },
    async domainReboot(dom, flags) {
      checkFlags(flags, 0x1f, 'testDomainReboot');
      const obj = get(dom);
      checkActive(obj);
      applyLifecycleAction(obj, obj.def.onReboot);
      finishIfShutOff(obj, dom);
    },
    async domainReset(dom, flags) {
      checkFlags(flags, 0, 'testDomainReset');
      checkActive(get(dom));
    },
    async domainSuspend(dom) {
      const obj = get(dom);
      if (obj.state === VIR_DOMAIN_SHUTOFF || obj.state === VIR_DOMAIN_PAUSED) {
        throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, `domain '${dom.name}' not running`);
      }
      obj.state = VIR_DOMAIN_PAUSED;
      obj.reason = PAUSED_USER;
      state.emitDomainLifecycle(obj, VIR_DOMAIN_EVENT_SUSPENDED, SUSPENDED_PAUSED);
    },
    async domainResume(dom) {
      const obj = get(dom);
      if (obj.state !== VIR_DOMAIN_PAUSED) {
        throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, `domain '${dom.name}' not paused`);
      }
      obj.state = VIR_DOMAIN_RUNNING;
      obj.reason = RUNNING_UNPAUSED;
      state.emitDomainLifecycle(obj, VIR_DOMAIN_EVENT_RESUMED, RESUMED_UNPAUSED);
    },
    async domainUndefineFlags(dom, flags) {
      checkFlags(flags, 1 | 2, 'testDomainUndefineFlags');
      const obj = get(dom);
      if (obj.hasManagedSave && !(flags & 1)) {
        throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_TEST, 'Refusing to undefine while domain managed save image exists');
      }
      state.emitDomainLifecycle(obj, VIR_DOMAIN_EVENT_UNDEFINED, UNDEFINED_REMOVED);
      obj.hasManagedSave = false;
      if (isActive(obj)) obj.persistent = false;
      else state.removeDomain(obj);
    },

    async domainGetInfo(dom): Promise<DomainInfo> {
      const obj = get(dom);
      return {
        state: obj.state,
        maxMem: obj.def.memory,
        memory: obj.def.currentMemory,
        nrVirtCpu: vcpuCount(obj.def),
        cpuTime: wallClockNanos(),
      };
    },
    async domainGetState(dom, flags): Promise<DomainStateResult> {
      checkFlags(flags, 0, 'testDomainGetState');
      const obj = get(dom);
      return { state: obj.state, reason: obj.reason };
    },
    async domainGetXMLDesc(dom, flags) {
      checkFlags(flags, XML_COMMON_FLAGS, 'testDomainGetXMLDesc');
      const obj = get(dom);
      const useNew = (flags & XML_INACTIVE) !== 0 && obj.newDef !== null;
      const def = useNew ? obj.newDef! : obj.def;
      // Formatted afresh each time: a cached document kept per domain costs more in garbage
      // collection (thousands of retained strings) than formatting saves.
      return formatTestDomain(def, flags, flags & XML_INACTIVE ? -1 : obj.id);
    },
    async domainGetOSType(dom) {
      get(dom);
      return 'linux';
    },
    async domainGetMaxMemory(dom) {
      return get(dom).def.memory;
    },
    async domainSetMaxMemory(dom, memory) {
      return setMemory(dom, memory, MEM_MAXIMUM);
    },
    async domainSetMemoryFlags(dom, memory, flags) {
      return setMemory(dom, memory, flags);
    },
    async domainGetMaxVcpus(dom) {
      const obj = get(dom);
      checkActive(obj);
      return obj.def.vcpu.count;
    },
    async domainSetVcpusFlags(dom, nvcpus, flags) {
      checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | VCPU_MAXIMUM, 'testDomainSetVcpusFlags');
      if (nvcpus > TEST_MAX_VCPUS) {
        throw virError(
          VIR_ERR_INVALID_ARG,
          VIR_FROM_TEST,
          `requested cpu amount exceeds maximum supported amount (${nvcpus} > ${TEST_MAX_VCPUS})`,
        );
      }
      const obj = get(dom);
      const { live, config } = definitionsFor(obj, flags);
      const liveDef = live ? obj.def : null;
      const configDef = config ? persistentDef(obj) : null;
      const tooMany = (def: DomainDef) =>
        virError(VIR_ERR_INVALID_ARG, VIR_FROM_TEST, `requested cpu amount exceeds maximum (${nvcpus} > ${def.vcpu.count})`);
      if (liveDef && liveDef.vcpu.count < nvcpus) throw tooMany(liveDef);
      if (configDef && !(flags & VCPU_MAXIMUM) && configDef.vcpu.count < nvcpus) throw tooMany(configDef);
      if (liveDef) setVcpuCurrent(liveDef, nvcpus);
      if (configDef) {
        if (flags & VCPU_MAXIMUM) {
          const current = Math.min(vcpuCount(configDef), nvcpus);
          configDef.vcpu.count = nvcpus;
          setVcpuCurrent(configDef, current);
        } else {
          setVcpuCurrent(configDef, nvcpus);
        }
      }
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
      get(dom).autostart = autostart;
    },
    async domainHasManagedSaveImage(dom, flags) {
      checkFlags(flags, 0, 'testDomainHasManagedSaveImage');
      return get(dom).hasManagedSave;
    },
    async domainManagedSave(dom, flags) {
      checkFlags(flags, 1 | 2 | 4, 'testDomainManagedSave');
      const obj = get(dom);
      checkActive(obj);
      if (!obj.persistent) {
        throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_TEST, 'cannot do managed save for transient domain');
      }
      const eventID = state.stopDomain(obj, SHUTOFF_SAVED, dom);
      state.emitDomainLifecycle(obj, VIR_DOMAIN_EVENT_STOPPED, STOPPED_SAVED, eventID);
      obj.hasManagedSave = true;
    },
    async domainManagedSaveRemove(dom, flags) {
      checkFlags(flags, 0, 'testDomainManagedSaveRemove');
      get(dom).hasManagedSave = false;
    },
    async domainGetHostname(dom, flags) {
      checkFlags(flags, 0, 'testDomainGetHostname');
      checkActive(get(dom));
      return `${dom.name}host`;
    },
    async nodeGetSecurityModel() {
      return { model: 'testSecurity', doi: '' };
    },
    async domainGetSecurityLabel(dom) {
      // testDomainGetSecurityLabel: a fixed enforcing label while running, none otherwise.
      return isActive(get(dom)) ? { label: 'libvirt-test', enforcing: true } : { label: '', enforcing: false };
    },

    domainEventSubscribe(listener) {
      return state.subscribeDomainEvents(listener);
    },
  };

  /** testDomainSetMemoryFlags */
  function setMemory(dom: DomainRef, memory: number, flags: number): void {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | MEM_MAXIMUM, 'testDomainSetMemoryFlags');
    const obj = get(dom);
    const { live } = oneDefinition(obj, flags);
    const def = live ? obj.def : persistentDef(obj);
    if (flags & MEM_MAXIMUM) {
      if (live) {
        throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_TEST, 'cannot resize the maximum memory on an active domain');
      }
      if (def.maxMemory && def.maxMemory.kib < memory) {
        throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_TEST, 'cannot set initial memory size greater than the maximum memory size');
      }
      def.memory = memory;
      if (def.currentMemory > memory) def.currentMemory = memory;
    } else {
      if (memory > def.memory) throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_TEST, 'cannot set memory higher than max memory');
      def.currentMemory = memory;
    }
  }
}

