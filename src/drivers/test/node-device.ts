// The test driver's node device table: the node's fixed devices, listed, looked up and
// described. Detach, re-attach and reset are left out, so they fail with VIR_ERR_NO_SUPPORT
// exactly as libvirt 9.0's test driver does.
import { NODE_DEVICE_CAP_FLAG_NAMES, formatNodeDeviceXML, nodeDeviceHasCap, type NodeDeviceDef } from '../../conf/node-device';
import type { NodeDeviceDriver, NodeDeviceRef } from '../../driver';
import { VIR_ERR_NO_NODE_DEVICE, VIR_FROM_TEST, virError } from '../../error';
import { checkFlags } from './checks';
import type { TestDriverState } from './state';

/** VIR_CONNECT_LIST_NODE_DEVICES_FILTERS_CAP: every capability bit, not ACTIVE/INACTIVE. */
const LIST_CAP_FLAGS = NODE_DEVICE_CAP_FLAG_NAMES.reduce((all, [bit]) => all | bit, 0);

export function testNodeDeviceDriver(state: TestDriverState): NodeDeviceDriver {
  const find = (name: string): NodeDeviceDef => {
    const def = state.devices.get(name);
    if (!def) throw virError(VIR_ERR_NO_NODE_DEVICE, VIR_FROM_TEST, `no node device with matching name '${name}'`);
    return def;
  };
  const withCap = (cap: string | null): NodeDeviceDef[] =>
    [...state.devices.values()].filter((d) => cap === null || nodeDeviceHasCap(d, cap));

  return {
    async nodeNumOfDevices(cap, flags) {
      checkFlags(flags, 0, 'testNodeNumOfDevices');
      return withCap(cap).length;
    },
    async nodeListDevices(cap, maxnames, flags) {
      checkFlags(flags, 0, 'testNodeListDevices');
      return withCap(cap)
        .slice(0, maxnames)
        .map((d) => d.name);
    },
    async connectListAllNodeDevices(flags) {
      checkFlags(flags, LIST_CAP_FLAGS, 'testConnectListAllNodeDevices');
      const wanted = NODE_DEVICE_CAP_FLAG_NAMES.filter(([bit]) => flags & bit).map(([, name]) => name);
      return [...state.devices.values()]
        .filter((d) => wanted.length === 0 || wanted.some((cap) => nodeDeviceHasCap(d, cap)))
        .map((d): NodeDeviceRef => ({ name: d.name }));
    },
    async nodeDeviceLookupByName(name) {
      return { name: find(name).name };
    },
    async nodeDeviceGetXMLDesc(dev, flags) {
      checkFlags(flags, 0, 'testNodeDeviceGetXMLDesc');
      return formatNodeDeviceXML(find(dev.name));
    },
    async nodeDeviceGetParent(dev) {
      return find(dev.name).parent ?? null;
    },
    async nodeDeviceNumOfCaps(dev) {
      return find(dev.name).caps.length;
    },
    async nodeDeviceListCaps(dev) {
      return find(dev.name).caps.map((c) => c.type);
    },
  };
}
