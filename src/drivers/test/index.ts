// The test:// connection driver: test:///default opens the process-wide default node (every
// connection to it shares one state, as libvirt's defaultPrivconn); test:///abs/path/node.xml
// loads a <node> file into a state of the connection's own.
import type { ConnectDriver, DriverSet } from '../../driver';
import { VIR_ERR_INVALID_ARG, VIR_FROM_TEST, virError } from '../../error';
import { testHypervisorDriver } from './hypervisor';
import { testNetworkDriver } from './network';
import { testNodeDeviceDriver } from './node-device';
import { newDefaultState, newStateFromFile, type TestDriverState } from './state';

let defaultState: TestDriverState | null = null;
let defaultRefs = 0;

function driverSet(state: TestDriverState, onClose: () => void): DriverSet {
  return {
    hypervisor: testHypervisorDriver(state, onClose),
    network: testNetworkDriver(state),
    nodeDevice: testNodeDeviceDriver(state),
    allocateEventCallbackID: () => state.allocateCallbackID(),
  };
}

export const testConnectDriver: ConnectDriver = {
  schemes: ['test'],
  async open(uri: URL): Promise<DriverSet> {
    const file = decodeURIComponent(uri.pathname);
    if (file === '' || file === '/') {
      throw virError(VIR_ERR_INVALID_ARG, VIR_FROM_TEST, 'testOpen: supply a path or use test:///default');
    }
    if (file !== '/default') return driverSet(newStateFromFile(file), () => undefined);
    // The default node lives while a connection to it is open, and starts afresh after the last close.
    defaultState ??= newDefaultState();
    defaultRefs++;
    let closed = false;
    return driverSet(defaultState, () => {
      if (closed) return;
      closed = true;
      if (--defaultRefs === 0) defaultState = null;
    });
  },
};
