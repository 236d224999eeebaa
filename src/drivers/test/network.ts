// The test driver's network table (test_driver.c testNetworkDriver): networks that only exist in
// memory, defined, started and stopped with libvirt 9.0's rules and lifecycle events.
import { formatNetworkXML, parseNetworkXML } from '../../conf/network';
import type { NetworkDriver, NetworkRef } from '../../driver';
import { VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_NETWORK, VIR_ERR_OPERATION_INVALID, VIR_FROM_TEST, virError } from '../../error';
import { checkFlags } from './checks';
import { validateNetworkSchema } from './schema';
import type { NetworkObj, TestDriverState } from './state';

const EVENT_DEFINED = 0;
const EVENT_UNDEFINED = 1;
const EVENT_STARTED = 2;
const EVENT_STOPPED = 3;

/** VIR_CONNECT_LIST_NETWORKS_FILTERS_ALL */
const LIST_NETWORKS_ALL = 0x3f;

function matchesListFlags(obj: NetworkObj, flags: number): boolean {
  const pair = (yes: number, no: number, value: boolean): boolean => {
    const want = flags & (yes | no);
    if (want === 0 || want === (yes | no)) return true;
    return want === yes ? value : !value;
  };
  return pair(2, 1, obj.active) && pair(4, 8, obj.persistent) && pair(16, 32, obj.autostart);
}

export function testNetworkDriver(state: TestDriverState): NetworkDriver {
  const ref = (obj: NetworkObj): NetworkRef => ({ name: obj.def.name, uuid: obj.def.uuid });

  /** testNetworkObjFindByName: most calls find the network by the handle's name. */
  const byName = (name: string): NetworkObj => {
    const obj = state.findNetworkByName(name);
    if (!obj) throw virError(VIR_ERR_NO_NETWORK, VIR_FROM_TEST, `no network with matching name '${name}'`);
    return obj;
  };
  const byUUID = (uuid: string): NetworkObj => {
    const obj = state.networks.get(uuid);
    if (!obj) throw virError(VIR_ERR_NO_NETWORK, VIR_FROM_TEST, `no network with matching uuid '${uuid}'`);
    return obj;
  };
  const names = (active: boolean, max: number): string[] => {
    const out: string[] = [];
    for (const obj of state.networks.values()) if (obj.active === active && out.length < max) out.push(obj.def.name);
    return out;
  };

  return {
    async connectNumOfNetworks() {
      return names(true, Infinity).length;
    },
    async connectNumOfDefinedNetworks() {
      return names(false, Infinity).length;
    },
    async connectListNetworks(maxnames) {
      return names(true, maxnames);
    },
    async connectListDefinedNetworks(maxnames) {
      return names(false, maxnames);
    },
    async connectListAllNetworks(flags) {
      checkFlags(flags, LIST_NETWORKS_ALL, 'testConnectListAllNetworks');
      return [...state.networks.values()].filter((obj) => matchesListFlags(obj, flags)).map(ref);
    },
    async networkLookupByName(name) {
      return ref(byName(name));
    },
    async networkLookupByUUID(uuid) {
      return ref(byUUID(uuid));
    },
    async networkDefineXMLFlags(xml, flags) {
      checkFlags(flags, 1, 'testNetworkDefineXMLFlags');
      if (flags & 1) validateNetworkSchema(xml);
      const def = parseNetworkXML(xml);
      const obj = state.assignNetwork(def, false);
      state.emitNetworkLifecycle(obj.def, EVENT_DEFINED);
      return ref(obj);
    },
    async networkCreateXMLFlags(xml, flags) {
      checkFlags(flags, 1, 'testNetworkCreateXMLFlags');
      const obj = state.assignNetwork(parseNetworkXML(xml), true);
      obj.active = true;
      state.emitNetworkLifecycle(obj.def, EVENT_STARTED);
      return ref(obj);
    },
    async networkCreate(net) {
      const obj = byName(net.name);
      if (obj.active) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_TEST, `Network '${net.name}' is already running`);
      obj.active = true;
      state.emitNetworkLifecycle(obj.def, EVENT_STARTED);
    },
    async networkDestroy(net) {
      // libvirt 9.0's test driver stops a network whatever its state, and keeps its live definition.
      const obj = byName(net.name);
      obj.active = false;
      state.emitNetworkLifecycle(obj.def, EVENT_STOPPED);
      if (!obj.persistent) state.networks.delete(obj.def.uuid);
    },
    async networkUndefine(net) {
      const obj = byName(net.name);
      if (obj.active) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_TEST, `Network '${net.name}' is still running`);
      state.emitNetworkLifecycle({ ...obj.def, name: net.name, uuid: net.uuid }, EVENT_UNDEFINED);
      state.networks.delete(obj.def.uuid);
    },
    async networkGetXMLDesc(net, flags) {
      checkFlags(flags, 0, 'testNetworkGetXMLDesc');
      return formatNetworkXML(byName(net.name).def);
    },
    async networkGetBridgeName(net) {
      const def = byName(net.name).def;
      if (def.bridge?.name === undefined) {
        throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, `network '${def.name}' does not have a bridge name.`);
      }
      return def.bridge.name;
    },
    async networkGetAutostart(net) {
      return byName(net.name).autostart;
    },
    async networkSetAutostart(net, autostart) {
      byName(net.name).autostart = autostart;
    },
    async networkIsActive(net) {
      return byUUID(net.uuid).active;
    },
    async networkIsPersistent(net) {
      return byUUID(net.uuid).persistent;
    },
    networkEventSubscribe(listener) {
      return state.subscribeNetworkEvents(listener);
    },
  };
}

