// virDomainPtr -> Domain. Static methods are the virDomainXxx(conn, ...) entry points; instance
// methods the virDomainXxx(dom, ...) ones. Each validates, then calls one driver slot.
import type { Connect } from './connect';
import { checkConnection, checkFlags, checkWritable, slot } from './dispatch';
import type { DomainInfo, DomainRef, DomainStateResult, HypervisorDriver } from './driver';
import { VirError, VIR_ERR_INVALID_ARG, VIR_ERR_OPERATION_DENIED, VIR_FROM_DOMAIN, VIR_FROM_NONE, virError } from './error';
import { VIR_DOMAIN_AFFECT_CONFIG, VIR_DOMAIN_AFFECT_LIVE, VIR_DOMAIN_VCPU_MAXIMUM, VIR_DOMAIN_XML_SECURE } from './constants';
import { parseUUID, uuidFromBytes, uuidToBytes } from './util/uuid';

const FROM = VIR_FROM_DOMAIN;

function hv<K extends keyof HypervisorDriver>(conn: Connect, key: K, cname: string, write = false) {
  checkConnection(conn, cname, FROM);
  return heldHv(conn, key, cname, write);
}

/**
 * For calls on an object: as in libvirt, an object holds a reference to its connection, so
 * closing the Connect does not invalidate the objects obtained from it.
 */
function heldHv<K extends keyof HypervisorDriver>(conn: Connect, key: K, cname: string, write = false) {
  if (write) checkWritable(conn, cname, FROM);
  return slot(conn.driverSet.hypervisor, key, cname, FROM);
}

function requireString(value: unknown, what: string, cname: string): string {
  if (typeof value !== 'string') throw virError(VIR_ERR_INVALID_ARG, FROM, `${what} in ${cname} must not be NULL`);
  return value;
}

export class Domain {
  private readonly conn: Connect;
  private readonly ref: DomainRef;

  /** @internal Domains come from lookups, definitions and listings, not from `new`. */
  constructor(conn: Connect, ref: DomainRef) {
    this.conn = conn;
    this.ref = ref;
  }

  /** virDomainLookupByName */
  static async lookupByName(conn: Connect, name: string): Promise<Domain> {
    const cname = 'virDomainLookupByName';
    const fn = hv(conn, 'domainLookupByName', cname);
    return new Domain(conn, await fn(requireString(name, 'name', cname)));
  }

  /** virDomainLookupByID */
  static async lookupByID(conn: Connect, id: number): Promise<Domain> {
    const cname = 'virDomainLookupByID';
    const fn = hv(conn, 'domainLookupByID', cname);
    if (!Number.isInteger(id) || id < 0) {
      throw virError(VIR_ERR_INVALID_ARG, FROM, `id in ${cname} must be non-negative`);
    }
    return new Domain(conn, await fn(id));
  }

  /** virDomainLookupByUUID: 16 raw bytes */
  static async lookupByUUID(conn: Connect, uuid: Uint8Array): Promise<Domain> {
    const cname = 'virDomainLookupByUUID';
    const fn = hv(conn, 'domainLookupByUUID', cname);
    if (!(uuid instanceof Uint8Array) || uuid.length !== 16) {
      throw virError(VIR_ERR_INVALID_ARG, FROM, `uuid in ${cname} must not be NULL`);
    }
    return new Domain(conn, await fn(uuidFromBytes(uuid)));
  }

  /** virDomainLookupByUUIDString */
  static async lookupByUUIDString(conn: Connect, uuidstr: string): Promise<Domain> {
    const cname = 'virDomainLookupByUUIDString';
    const fn = hv(conn, 'domainLookupByUUID', cname);
    const uuid = parseUUID(requireString(uuidstr, 'uuidstr', cname));
    if (uuid === null) {
      // virReportInvalidArg(uuidstr, "Invalid UUID") in libvirt-domain.c
      throw new VirError({ code: VIR_ERR_INVALID_ARG, domain: FROM, message: 'Invalid UUID', str1: cname, str2: 'uuidstr', int1: 0, int2: 0 });
    }
    return new Domain(conn, await fn(uuid));
  }

  /** virDomainDefineXML */
  static defineXML(conn: Connect, xml: string): Promise<Domain> {
    return Domain.defineWith(conn, xml, 0, 'virDomainDefineXML');
  }

  /** virDomainDefineXMLFlags */
  static defineXMLFlags(conn: Connect, xml: string, flags = 0): Promise<Domain> {
    return Domain.defineWith(conn, xml, flags, 'virDomainDefineXMLFlags');
  }

  private static async defineWith(conn: Connect, xml: string, flags: number, cname: string): Promise<Domain> {
    const fn = hv(conn, 'domainDefineXMLFlags', cname, true);
    return new Domain(conn, await fn(requireString(xml, 'xml', cname), checkFlags(flags, cname, FROM)));
  }

  /** virDomainCreateXML: a transient domain, started */
  static async createXML(conn: Connect, xml: string, flags = 0): Promise<Domain> {
    const cname = 'virDomainCreateXML';
    const fn = hv(conn, 'domainCreateXML', cname, true);
    return new Domain(conn, await fn(requireString(xml, 'xmlDesc', cname), checkFlags(flags, cname, FROM)));
  }

  /** virDomainGetConnect */
  getConnect(): Connect {
    return this.conn;
  }

  /** virDomainGetName */
  getName(): string {
    return this.ref.name;
  }

  /** virDomainGetUUID: 16 raw bytes */
  getUUID(): Buffer {
    return uuidToBytes(this.ref.uuid);
  }

  /** virDomainGetUUIDString */
  getUUIDString(): string {
    return this.ref.uuid;
  }

  /** virDomainGetID: -1 while the domain is not running */
  getID(): number {
    return this.ref.id;
  }

  /** virDomainCreate */
  async create(): Promise<void> {
    return heldHv(this.conn, 'domainCreateWithFlags', 'virDomainCreate', true)(this.ref, 0);
  }

  /** virDomainCreateWithFlags */
  async createWithFlags(flags = 0): Promise<void> {
    const cname = 'virDomainCreateWithFlags';
    return heldHv(this.conn, 'domainCreateWithFlags', cname, true)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainDestroy */
  async destroy(): Promise<void> {
    return heldHv(this.conn, 'domainDestroyFlags', 'virDomainDestroy', true)(this.ref, 0);
  }

  /** virDomainDestroyFlags */
  async destroyFlags(flags = 0): Promise<void> {
    const cname = 'virDomainDestroyFlags';
    return heldHv(this.conn, 'domainDestroyFlags', cname, true)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainShutdown */
  async shutdown(): Promise<void> {
    return heldHv(this.conn, 'domainShutdownFlags', 'virDomainShutdown', true)(this.ref, 0);
  }

  /** virDomainShutdownFlags */
  async shutdownFlags(flags = 0): Promise<void> {
    const cname = 'virDomainShutdownFlags';
    return heldHv(this.conn, 'domainShutdownFlags', cname, true)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainReboot */
  async reboot(flags = 0): Promise<void> {
    const cname = 'virDomainReboot';
    return heldHv(this.conn, 'domainReboot', cname, true)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainReset */
  async reset(flags = 0): Promise<void> {
    const cname = 'virDomainReset';
    return heldHv(this.conn, 'domainReset', cname, true)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainSuspend */
  async suspend(): Promise<void> {
    return heldHv(this.conn, 'domainSuspend', 'virDomainSuspend', true)(this.ref);
  }

  /** virDomainResume */
  async resume(): Promise<void> {
    return heldHv(this.conn, 'domainResume', 'virDomainResume', true)(this.ref);
  }

  /** virDomainUndefine */
  async undefine(): Promise<void> {
    return heldHv(this.conn, 'domainUndefineFlags', 'virDomainUndefine', true)(this.ref, 0);
  }

  /** virDomainUndefineFlags */
  async undefineFlags(flags = 0): Promise<void> {
    const cname = 'virDomainUndefineFlags';
    return heldHv(this.conn, 'domainUndefineFlags', cname, true)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainGetInfo */
  async getInfo(): Promise<DomainInfo> {
    return heldHv(this.conn, 'domainGetInfo', 'virDomainGetInfo')(this.ref);
  }

  /** virDomainGetState */
  async getState(flags = 0): Promise<DomainStateResult> {
    const cname = 'virDomainGetState';
    return heldHv(this.conn, 'domainGetState', cname)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainGetXMLDesc */
  async getXMLDesc(flags = 0): Promise<string> {
    const cname = 'virDomainGetXMLDesc';
    const fn = heldHv(this.conn, 'domainGetXMLDesc', cname);
    checkFlags(flags, cname, FROM);
    if (this.conn.readOnly && flags & VIR_DOMAIN_XML_SECURE) {
      throw virError(VIR_ERR_OPERATION_DENIED, FROM, `${cname} with secure flag`);
    }
    return fn(this.ref, flags);
  }

  /** virDomainGetOSType */
  async getOSType(): Promise<string> {
    return heldHv(this.conn, 'domainGetOSType', 'virDomainGetOSType')(this.ref);
  }

  /** virDomainGetMaxMemory (KiB) */
  async getMaxMemory(): Promise<number> {
    return heldHv(this.conn, 'domainGetMaxMemory', 'virDomainGetMaxMemory')(this.ref);
  }

  /** virDomainSetMaxMemory (KiB) */
  async setMaxMemory(memory: number): Promise<void> {
    const cname = 'virDomainSetMaxMemory';
    const fn = heldHv(this.conn, 'domainSetMaxMemory', cname, true);
    if (!Number.isInteger(memory) || memory <= 0) {
      throw virError(VIR_ERR_INVALID_ARG, FROM, `memory in ${cname} must not be zero`);
    }
    return fn(this.ref, memory);
  }

  /** virDomainSetMemory (KiB) */
  async setMemory(memory: number): Promise<void> {
    // virDomainSetMemory changes the running domain only (drivers map it to AFFECT_LIVE).
    return this.setMemoryWith(memory, VIR_DOMAIN_AFFECT_LIVE, 'virDomainSetMemory');
  }

  /** virDomainSetMemoryFlags (KiB) */
  async setMemoryFlags(memory: number, flags = 0): Promise<void> {
    return this.setMemoryWith(memory, flags, 'virDomainSetMemoryFlags');
  }

  private async setMemoryWith(memory: number, flags: number, cname: string): Promise<void> {
    const fn = heldHv(this.conn, 'domainSetMemoryFlags', cname, true);
    if (!Number.isInteger(memory) || memory <= 0) {
      throw virError(VIR_ERR_INVALID_ARG, FROM, `memory in ${cname} must not be zero`);
    }
    return fn(this.ref, memory, checkFlags(flags, cname, FROM));
  }

  /** virDomainGetMaxVcpus */
  async getMaxVcpus(): Promise<number> {
    return heldHv(this.conn, 'domainGetMaxVcpus', 'virDomainGetMaxVcpus')(this.ref);
  }

  /** virDomainSetVcpus */
  async setVcpus(nvcpus: number): Promise<void> {
    // virDomainSetVcpus changes the running domain only (drivers map it to AFFECT_LIVE).
    return this.setVcpusWith(nvcpus, VIR_DOMAIN_AFFECT_LIVE, 'virDomainSetVcpus');
  }

  /** virDomainSetVcpusFlags */
  async setVcpusFlags(nvcpus: number, flags = 0): Promise<void> {
    return this.setVcpusWith(nvcpus, flags, 'virDomainSetVcpusFlags');
  }

  private async setVcpusWith(nvcpus: number, flags: number, cname: string): Promise<void> {
    const fn = heldHv(this.conn, 'domainSetVcpusFlags', cname, true);
    if (!Number.isInteger(nvcpus) || nvcpus < 1) {
      throw virError(VIR_ERR_INVALID_ARG, FROM, `nvcpus in ${cname} must not be zero`);
    }
    // VIR_REQUIRE_FLAG_GOTO(VIR_DOMAIN_VCPU_MAXIMUM, VIR_DOMAIN_AFFECT_CONFIG)
    if (flags & VIR_DOMAIN_VCPU_MAXIMUM && !(flags & VIR_DOMAIN_AFFECT_CONFIG)) {
      throw new VirError({
        code: VIR_ERR_INVALID_ARG,
        domain: FROM,
        message: "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'",
        str1: cname,
        str2: 'ctl',
        int1: 0,
        int2: 0,
      });
    }
    return fn(this.ref, nvcpus, checkFlags(flags, cname, FROM));
  }

  /** virDomainIsActive */
  async isActive(): Promise<boolean> {
    return heldHv(this.conn, 'domainIsActive', 'virDomainIsActive')(this.ref);
  }

  /** virDomainIsPersistent */
  async isPersistent(): Promise<boolean> {
    return heldHv(this.conn, 'domainIsPersistent', 'virDomainIsPersistent')(this.ref);
  }

  /** virDomainIsUpdated */
  async isUpdated(): Promise<boolean> {
    return heldHv(this.conn, 'domainIsUpdated', 'virDomainIsUpdated')(this.ref);
  }

  /** virDomainGetAutostart */
  async getAutostart(): Promise<boolean> {
    return heldHv(this.conn, 'domainGetAutostart', 'virDomainGetAutostart')(this.ref);
  }

  /** virDomainSetAutostart */
  async setAutostart(autostart: boolean): Promise<void> {
    return heldHv(this.conn, 'domainSetAutostart', 'virDomainSetAutostart', true)(this.ref, Boolean(autostart));
  }

  /** virDomainAttachDevice */
  async attachDevice(xml: string): Promise<void> {
    const cname = 'virDomainAttachDevice';
    return heldHv(this.conn, 'domainAttachDeviceFlags', cname, true)(this.ref, requireString(xml, 'xml', cname), 0);
  }

  /** virDomainAttachDeviceFlags */
  async attachDeviceFlags(xml: string, flags = 0): Promise<void> {
    const cname = 'virDomainAttachDeviceFlags';
    const fn = heldHv(this.conn, 'domainAttachDeviceFlags', cname, true);
    return fn(this.ref, requireString(xml, 'xml', cname), checkFlags(flags, cname, FROM));
  }

  /** virDomainDetachDevice */
  async detachDevice(xml: string): Promise<void> {
    const cname = 'virDomainDetachDevice';
    return heldHv(this.conn, 'domainDetachDeviceFlags', cname, true)(this.ref, requireString(xml, 'xml', cname), 0);
  }

  /** virDomainDetachDeviceFlags */
  async detachDeviceFlags(xml: string, flags = 0): Promise<void> {
    const cname = 'virDomainDetachDeviceFlags';
    const fn = heldHv(this.conn, 'domainDetachDeviceFlags', cname, true);
    return fn(this.ref, requireString(xml, 'xml', cname), checkFlags(flags, cname, FROM));
  }

  /** virDomainDetachDeviceAlias */
  async detachDeviceAlias(alias: string, flags = 0): Promise<void> {
    const cname = 'virDomainDetachDeviceAlias';
    const fn = heldHv(this.conn, 'domainDetachDeviceAlias', cname, true);
    return fn(this.ref, requireString(alias, 'alias', cname), checkFlags(flags, cname, FROM));
  }

  /** virDomainUpdateDeviceFlags */
  async updateDeviceFlags(xml: string, flags = 0): Promise<void> {
    const cname = 'virDomainUpdateDeviceFlags';
    const fn = heldHv(this.conn, 'domainUpdateDeviceFlags', cname, true);
    return fn(this.ref, requireString(xml, 'xml', cname), checkFlags(flags, cname, FROM));
  }

  /** virDomainHasManagedSaveImage */
  async hasManagedSaveImage(flags = 0): Promise<boolean> {
    const cname = 'virDomainHasManagedSaveImage';
    return heldHv(this.conn, 'domainHasManagedSaveImage', cname)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainManagedSave */
  async managedSave(flags = 0): Promise<void> {
    const cname = 'virDomainManagedSave';
    return heldHv(this.conn, 'domainManagedSave', cname, true)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainManagedSaveRemove */
  async managedSaveRemove(flags = 0): Promise<void> {
    const cname = 'virDomainManagedSaveRemove';
    return heldHv(this.conn, 'domainManagedSaveRemove', cname, true)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainGetHostname */
  async getHostname(flags = 0): Promise<string> {
    const cname = 'virDomainGetHostname';
    return heldHv(this.conn, 'domainGetHostname', cname)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virDomainQemuMonitorCommand (libvirt-qemu): QMP JSON, or HMP text with the HMP flag. */
  async qemuMonitorCommand(cmd: string, flags = 0): Promise<string> {
    const cname = 'virDomainQemuMonitorCommand';
    checkWritable(this.conn, cname, FROM);
    // libvirt-qemu.c reports from no particular error domain.
    const fn = slot(this.conn.driverSet.hypervisor, 'domainQemuMonitorCommand', cname, VIR_FROM_NONE);
    return fn(this.ref, requireString(cmd, 'cmd', cname), checkFlags(flags, cname, FROM));
  }

  /** virDomainGetSecurityLabel: the running domain's label ('' when unconfined). */
  async getSecurityLabel(): Promise<import('./driver').SecurityLabel> {
    return heldHv(this.conn, 'domainGetSecurityLabel', 'virDomainGetSecurityLabel')(this.ref);
  }
}
