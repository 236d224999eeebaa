// virNodeDevicePtr -> NodeDevice.
import type { Connect } from './connect';
import { checkConnection, checkFlags, checkWritable, slot } from './dispatch';
import type { NodeDeviceDriver, NodeDeviceRef } from './driver';
import { VIR_ERR_INVALID_ARG, VIR_FROM_NODEDEV, virError } from './error';

const FROM = VIR_FROM_NODEDEV;

function nodedev<K extends keyof NodeDeviceDriver>(conn: Connect, key: K, cname: string, write = false) {
  checkConnection(conn, cname, FROM);
  return heldNodedev(conn, key, cname, write);
}

/**
 * For calls on an object: as in libvirt, an object holds a reference to its connection, so
 * closing the Connect does not invalidate the objects obtained from it.
 */
function heldNodedev<K extends keyof NodeDeviceDriver>(conn: Connect, key: K, cname: string, write = false) {
  if (write) checkWritable(conn, cname, FROM);
  return slot(conn.driverSet.nodeDevice, key, cname, FROM);
}

export class NodeDevice {
  private readonly conn: Connect;
  private readonly ref: NodeDeviceRef;

  /** @internal */
  constructor(conn: Connect, ref: NodeDeviceRef) {
    this.conn = conn;
    this.ref = ref;
  }

  /** virNodeDeviceLookupByName */
  static async lookupByName(conn: Connect, name: string): Promise<NodeDevice> {
    const cname = 'virNodeDeviceLookupByName';
    const fn = nodedev(conn, 'nodeDeviceLookupByName', cname);
    if (typeof name !== 'string') throw virError(VIR_ERR_INVALID_ARG, FROM, `name in ${cname} must not be NULL`);
    return new NodeDevice(conn, await fn(name));
  }

  /** virNodeDeviceGetConnect */
  getConnect(): Connect {
    return this.conn;
  }

  /** virNodeDeviceGetName */
  getName(): string {
    return this.ref.name;
  }

  /** virNodeDeviceGetParent: the parent's name, or null for a root device */
  async getParent(): Promise<string | null> {
    return heldNodedev(this.conn, 'nodeDeviceGetParent', 'virNodeDeviceGetParent')(this.ref);
  }

  /** virNodeDeviceGetXMLDesc */
  async getXMLDesc(flags = 0): Promise<string> {
    const cname = 'virNodeDeviceGetXMLDesc';
    return heldNodedev(this.conn, 'nodeDeviceGetXMLDesc', cname)(this.ref, checkFlags(flags, cname, FROM));
  }

  /** virNodeDeviceNumOfCaps */
  async numOfCaps(): Promise<number> {
    return heldNodedev(this.conn, 'nodeDeviceNumOfCaps', 'virNodeDeviceNumOfCaps')(this.ref);
  }

  /** virNodeDeviceListCaps */
  async listCaps(): Promise<string[]> {
    return heldNodedev(this.conn, 'nodeDeviceListCaps', 'virNodeDeviceListCaps')(this.ref);
  }

  /** virNodeDeviceDettach (libvirt's historical spelling) */
  async dettach(): Promise<void> {
    return heldNodedev(this.conn, 'nodeDeviceDettach', 'virNodeDeviceDettach', true)(this.ref);
  }

  /** virNodeDeviceDetachFlags */
  async detachFlags(driverName: string | null = null, flags = 0): Promise<void> {
    const cname = 'virNodeDeviceDetachFlags';
    const fn = heldNodedev(this.conn, 'nodeDeviceDetachFlags', cname, true);
    return fn(this.ref, driverName, checkFlags(flags, cname, FROM));
  }

  /** virNodeDeviceReAttach */
  async reAttach(): Promise<void> {
    return heldNodedev(this.conn, 'nodeDeviceReAttach', 'virNodeDeviceReAttach', true)(this.ref);
  }

  /** virNodeDeviceReset */
  async reset(): Promise<void> {
    return heldNodedev(this.conn, 'nodeDeviceReset', 'virNodeDeviceReset', true)(this.ref);
  }
}
