// A driver's event state (libvirt's virObjectEventState): the callback ids it hands out, from 0,
// and the listeners its connections subscribed, to which the driver emits domain, network and
// QEMU monitor events in the order they happen.
import type {
  DomainEvent,
  DomainEventListener,
  NetworkEvent,
  NetworkEventListener,
  QemuMonitorEvent,
  QemuMonitorEventListener,
} from '../driver';

export class DriverEventState {
  private nextCallbackID = 0;
  private readonly domainListeners = new Set<DomainEventListener>();
  private readonly networkListeners = new Set<NetworkEventListener>();
  private readonly qemuListeners = new Set<QemuMonitorEventListener>();

  /** Callback ids come from the driver's event state, shared by all its connections. */
  allocateCallbackID(): number {
    return this.nextCallbackID++;
  }

  subscribeDomainEvents(listener: DomainEventListener): () => void {
    this.domainListeners.add(listener);
    return () => this.domainListeners.delete(listener);
  }

  subscribeNetworkEvents(listener: NetworkEventListener): () => void {
    this.networkListeners.add(listener);
    return () => this.networkListeners.delete(listener);
  }

  subscribeQemuEvents(listener: QemuMonitorEventListener): () => void {
    this.qemuListeners.add(listener);
    return () => this.qemuListeners.delete(listener);
  }

  hasDomainListeners(): boolean {
    return this.domainListeners.size > 0;
  }

  hasNetworkListeners(): boolean {
    return this.networkListeners.size > 0;
  }

  hasQemuListeners(): boolean {
    return this.qemuListeners.size > 0;
  }

  emitDomain(ev: DomainEvent): void {
    for (const l of this.domainListeners) l(ev);
  }

  emitNetwork(ev: NetworkEvent): void {
    for (const l of this.networkListeners) l(ev);
  }

  emitQemu(ev: QemuMonitorEvent): void {
    for (const l of this.qemuListeners) l(ev);
  }
}
