// virNetworkPtr -> Network.
import type { Connect } from './connect';
import { checkConnection, checkFlags, checkWritable, slot } from './dispatch';
import type { NetworkDriver, NetworkRef } from './driver';
import { VirError, VIR_ERR_INVALID_ARG, VIR_FROM_NETWORK, virError } from './error';
import { parseUUID, uuidFromBytes, uuidToBytes } from './util/uuid';

const FROM = VIR_FROM_NETWORK;

function net<K extends keyof NetworkDriver>(conn: Connect, key: K, cname: string, write = false) {
  checkConnection(conn, cname, FROM);
  return heldNet(conn, key, cname, write);
}

/**
 * For calls on an object: as in libvirt, an object holds a reference to its connection, so
 * closing the Connect does not invalidate the objects obtained from it.
 */
function heldNet<K extends keyof NetworkDriver>(conn: Connect, key: K, cname: string, write = false) {
  if (write) checkWritable(conn, cname, FROM);
  return slot(conn.driverSet.network, key, cname, FROM);
}

function requireString(value: unknown, what: string, cname: string): string {
  if (typeof value !== 'string') throw virError(VIR_ERR_INVALID_ARG, FROM, `${what} in ${cname} must not be NULL`);
  return value;
}

export class Network {
  private readonly conn: Connect;
  private readonly ref: NetworkRef;

  /** @internal */
  constructor(conn: Connect, ref: NetworkRef) {
    this.conn = conn;
    this.ref = ref;
  }

  /** virNetworkLookupByName */
  static async lookupByName(conn: Connect, name: string): Promise<Network> {
    const cname = 'virNetworkLookupByName';
    const fn = net(conn, 'networkLookupByName', cname);
    return new Network(conn, await fn(requireString(name, 'name', cname)));
  }

  /** virNetworkLookupByUUID: 16 raw bytes */
  static async lookupByUUID(conn: Connect, uuid: Uint8Array): Promise<Network> {
    const cname = 'virNetworkLookupByUUID';
    const fn = net(conn, 'networkLookupByUUID', cname);
    if (!(uuid instanceof Uint8Array) || uuid.length !== 16) {
      throw virError(VIR_ERR_INVALID_ARG, FROM, `uuid in ${cname} must not be NULL`);
    }
    return new Network(conn, await fn(uuidFromBytes(uuid)));
  }

  /** virNetworkLookupByUUIDString */
  static async lookupByUUIDString(conn: Connect, uuidstr: string): Promise<Network> {
    const cname = 'virNetworkLookupByUUIDString';
    const fn = net(conn, 'networkLookupByUUID', cname);
    const uuid = parseUUID(requireString(uuidstr, 'uuidstr', cname));
    if (uuid === null) {
      // virCheckNonNullArg-style report: no "invalid argument" prefix, str1/str2 name the argument.
      throw new VirError({
        code: VIR_ERR_INVALID_ARG,
        domain: FROM,
        message: `uuidstr in ${cname} must be a valid UUID`,
        str1: cname,
        str2: 'uuidstr',
        int1: 0,
        int2: 0,
      });
    }
    return new Network(conn, await fn(uuid));
  }

  /** virNetworkDefineXML */
  static defineXML(conn: Connect, xml: string): Promise<Network> {
    return Network.defineWith(conn, xml, 0, 'virNetworkDefineXML');
  }

  /** virNetworkDefineXMLFlags */
  static defineXMLFlags(conn: Connect, xml: string, flags = 0): Promise<Network> {
    return Network.defineWith(conn, xml, flags, 'virNetworkDefineXMLFlags');
  }

  private static async defineWith(conn: Connect, xml: string, flags: number, cname: string): Promise<Network> {
    const fn = net(conn, 'networkDefineXMLFlags', cname, true);
    return new Network(conn, await fn(requireString(xml, 'xml', cname), checkFlags(flags, cname, FROM)));
  }

  /** virNetworkCreateXML: a transient network, started */
  static createXML(conn: Connect, xml: string): Promise<Network> {
    return Network.createWith(conn, xml, 0, 'virNetworkCreateXML');
  }

  /** virNetworkCreateXMLFlags */
  static createXMLFlags(conn: Connect, xml: string, flags = 0): Promise<Network> {
    return Network.createWith(conn, xml, flags, 'virNetworkCreateXMLFlags');
  }

  private static async createWith(conn: Connect, xml: string, flags: number, cname: string): Promise<Network> {
    const fn = net(conn, 'networkCreateXMLFlags', cname, true);
    return new Network(conn, await fn(requireString(xml, 'xmlDesc', cname), checkFlags(flags, cname, FROM)));
  }

  /** virNetworkGetConnect */
  getConnect(): Connect {
    return this.conn;
  }

  /** virNetworkGetName */
  getName(): string {
    return this.ref.name;
  }

  /** virNetworkGetUUID */
  getUUID(): Buffer {
    return uuidToBytes(this.ref.uuid);
  }

  /** virNetworkGetUUIDString */
  getUUIDString(): string {
    return this.ref.uuid;
  }

  /** virNetworkCreate */
  async create(): Promise<void> {
    return heldNet(this.conn, 'networkCreate', 'virNetworkCreate', true)(this.ref);
  }

  /** virNetworkDestroy */
  async destroy(): Promise<void> {
    return heldNet(this.conn, 'networkDestroy', 'virNetworkDestroy', true)(this.ref);
  }

  /** virNetworkUndefine */
  async undefine(): Promise<void> {
    return heldNet(this.conn, 'networkUndefine', 'virNetworkUndefine', true)(this.ref);
  }

  /** virNetworkGetXMLDesc */
  async getXMLDesc(flags = 0): Promise<string> {
    const cname = 'virNetworkGetXMLDesc';
    return heldNet(this.conn, 'networkGetXMLDesc', cname)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virNetworkGetBridgeName */
  async getBridgeName(): Promise<string> {
    return heldNet(this.conn, 'networkGetBridgeName', 'virNetworkGetBridgeName')(this.ref);
  }

  /** virNetworkGetAutostart */
  async getAutostart(): Promise<boolean> {
    return heldNet(this.conn, 'networkGetAutostart', 'virNetworkGetAutostart')(this.ref);
  }

  /** virNetworkSetAutostart */
  async setAutostart(autostart: boolean): Promise<void> {
    return heldNet(this.conn, 'networkSetAutostart', 'virNetworkSetAutostart', true)(this.ref, Boolean(autostart));
  }

  /** virNetworkIsActive */
  async isActive(): Promise<boolean> {
    return heldNet(this.conn, 'networkIsActive', 'virNetworkIsActive')(this.ref);
  }

  /** virNetworkIsPersistent */
  async isPersistent(): Promise<boolean> {
    return heldNet(this.conn, 'networkIsPersistent', 'virNetworkIsPersistent')(this.ref);
  }
}
