// The test driver's in-memory state (libvirt's testDriver): the node's domains, networks and node
// devices, its host description, the next domain id and the event subscribers. test:///default
// shares one of these per process; each test:///path connection gets its own.
import { DriverEventState } from '../event-state';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { DomainDef } from '../../conf/domain-def';
import { networkDefFromElement, type NetworkDef } from '../../conf/network';
import { nodeDeviceDefFromElement, type NodeDeviceDef } from '../../conf/node-device';
import { attr, child, children, parseXML, textOf, type XmlElement } from '../../conf/xml';
import { VIR_DOMAIN_RUNNING, VIR_DOMAIN_SHUTOFF } from '../../constants';
import type { DomainRef, NodeInfo } from '../../driver';
import {
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_NO_DOMAIN,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_INVALID,
  VIR_ERR_XML_ERROR,
  VIR_FROM_DOMAIN,
  VIR_FROM_NETWORK,
  VIR_FROM_TEST,
  virError,
} from '../../error';
import { DEFAULT_NODE_INFO, defaultCells, type TestCell } from './capabilities';
import { DEFAULT_NODE_XML } from './default-node';
import { copyDomainDef, generateIfnames, parseTestDomain } from './domain-xml';

/** virDomainObj: the live definition, the persistent one while running, state and flags. */
export interface DomainObj {
  def: DomainDef;
  /** The persistent definition while a persistent domain runs (libvirt's newDef). */
  newDef: DomainDef | null;
  id: number;
  state: number;
  reason: number;
  persistent: boolean;
  autostart: boolean;
  hasManagedSave: boolean;
}

/** virNetworkObj */
export interface NetworkObj {
  def: NetworkDef;
  newDef: NetworkDef | null;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
}

export class TestDriverState extends DriverEventState {
  nodeInfo: NodeInfo = { ...DEFAULT_NODE_INFO };
  cells: TestCell[] = [];
  /** Insertion order; libvirt's hash order is random per process, so any fixed order is as good. */
  readonly domains = new Map<string, DomainObj>();
  private readonly domainsByName = new Map<string, DomainObj>();
  readonly networks = new Map<string, NetworkObj>();
  readonly devices = new Map<string, NodeDeviceDef>();
  private nextDomID = 1;

  // ---- domains ----

  findDomainByName(name: string): DomainObj | undefined {
    return this.domainsByName.get(name);
  }

  findDomainByID(id: number): DomainObj | undefined {
    if (id < 0) return undefined;
    for (const obj of this.domains.values()) if (obj.id === id) return obj;
    return undefined;
  }

  /** testDomObjFromDomain: the object behind a handle, or libvirt's stale-handle error. */
  domainFromRef(ref: DomainRef): DomainObj {
    const obj = this.domains.get(ref.uuid);
    if (!obj) throw virError(VIR_ERR_NO_DOMAIN, VIR_FROM_TEST, `no domain with matching uuid '${ref.uuid}' (${ref.name})`);
    return obj;
  }

  refOf(obj: DomainObj): DomainRef {
    return { name: obj.def.name, uuid: obj.def.uuid, id: obj.id };
  }

  /**
   * virDomainObjListAdd: adds a definition or replaces the one with the same uuid. With `live`
   * (createXML) an active domain with that uuid is an error and an inactive one gets `def` as
   * its live definition. Returns the object and whether it replaced an older definition.
   */
  addDomain(def: DomainDef, live: boolean): { obj: DomainObj; replaced: boolean } {
    let obj = this.domains.get(def.uuid);
    if (obj) {
      if (obj.def.name !== def.name) {
        throw virError(
          VIR_ERR_OPERATION_FAILED,
          VIR_FROM_DOMAIN,
          `domain '${obj.def.name}' is already defined with uuid ${obj.def.uuid}`,
        );
      }
      if (live) {
        if (isActive(obj)) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, `domain '${obj.def.name}' is already active`);
        if (obj.persistent && !obj.newDef) obj.newDef = obj.def;
        obj.def = def;
      } else if (isActive(obj)) {
        obj.newDef = def;
      } else {
        obj.def = def;
      }
      return { obj, replaced: true };
    }
    const byName = this.domainsByName.get(def.name);
    if (byName) {
      throw virError(
        VIR_ERR_OPERATION_FAILED,
        VIR_FROM_DOMAIN,
        `domain '${byName.def.name}' already exists with uuid ${byName.def.uuid}`,
      );
    }
    obj = {
      def,
      newDef: null,
      id: -1,
      state: VIR_DOMAIN_SHUTOFF,
      reason: 0,
      persistent: false,
      autostart: false,
      hasManagedSave: false,
    };
    this.domains.set(def.uuid, obj);
    this.domainsByName.set(def.name, obj);
    return { obj, replaced: false };
  }

  removeDomain(obj: DomainObj): void {
    this.domains.delete(obj.def.uuid);
    if (this.domainsByName.get(obj.def.name) === obj) this.domainsByName.delete(obj.def.name);
  }

  /** testDomainStartState: running with a fresh id, the persistent definition kept aside. */
  startDomain(obj: DomainObj, reason: number): void {
    obj.state = VIR_DOMAIN_RUNNING;
    obj.reason = reason;
    obj.id = this.nextDomID++;
    if (obj.persistent && !obj.newDef) obj.newDef = copyDomainDef(obj.def);
    obj.hasManagedSave = false;
  }

  /**
   * testDomainShutdownState: the persistent definition becomes the only one again. Returns the id
   * libvirt's stop event carries: the persistent definition's -1, or for a transient domain the
   * id its only definition still holds.
   */
  stopDomain(obj: DomainObj, reason: number, ref?: DomainRef): number {
    const eventID = obj.newDef ? -1 : obj.id;
    if (obj.newDef) {
      obj.def = obj.newDef;
      obj.newDef = null;
    }
    obj.state = VIR_DOMAIN_SHUTOFF;
    obj.reason = reason;
    obj.id = -1;
    if (ref) ref.id = -1;
    return eventID;
  }

  // ---- networks ----

  /** virNetworkObjAssignDef */
  assignNetwork(def: NetworkDef, live: boolean): NetworkObj {
    let obj = this.networks.get(def.uuid);
    if (obj) {
      if (obj.def.name !== def.name) {
        throw virError(VIR_ERR_OPERATION_FAILED, VIR_FROM_NETWORK, `network '${obj.def.name}' is already defined with uuid ${obj.def.uuid}`);
      }
      if (live) {
        if (obj.active) throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_NETWORK, `network is already active as '${obj.def.name}'`);
        if (obj.persistent && !obj.newDef) obj.newDef = obj.def;
        obj.def = def;
      } else if (obj.active) {
        obj.newDef = def;
        obj.persistent = true;
      } else {
        obj.def = def;
        obj.persistent = true;
      }
      return obj;
    }
    for (const other of this.networks.values()) {
      if (other.def.name === def.name) {
        throw virError(VIR_ERR_OPERATION_FAILED, VIR_FROM_NETWORK, `network '${other.def.name}' already exists with uuid ${other.def.uuid}`);
      }
    }
    obj = { def, newDef: null, active: false, persistent: !live, autostart: false };
    this.networks.set(def.uuid, obj);
    return obj;
  }

  findNetworkByName(name: string): NetworkObj | undefined {
    for (const obj of this.networks.values()) if (obj.def.name === name) return obj;
    return undefined;
  }

  // ---- events ----

  emitDomainLifecycle(obj: DomainObj, event: number, detail: number, id = obj.id): void {
    if (!this.hasDomainListeners()) return;
    this.emitDomain({ eventID: 0, dom: { name: obj.def.name, uuid: obj.def.uuid, id }, args: [event, detail] });
  }

  emitNetworkLifecycle(def: NetworkDef, event: number, detail = 0): void {
    if (!this.hasNetworkListeners()) return;
    this.emitNetwork({ eventID: 0, net: { name: def.name, uuid: def.uuid }, args: [event, detail] });
  }
}

export function isActive(obj: DomainObj): boolean {
  return obj.id !== -1;
}

// ---- loading a <node> document (testOpenParse) ----

function parseLong(root: XmlElement, pathNames: string[], what: string): number | undefined {
  let el: XmlElement | undefined = root;
  for (const n of pathNames) el = el && child(el, n);
  if (!el) return undefined;
  const text = (textOf(el) ?? '').trim();
  if (!/^-?[0-9]+$/.test(text)) throw virError(VIR_ERR_XML_ERROR, VIR_FROM_TEST, `invalid node ${what} value`);
  return Number(text);
}

/** A child that may live in its own file: <domain file='x.xml'/> relative to the node file. */
function resolveFileRef(el: XmlElement, file: string | null, docName: string): XmlElement {
  const rel = attr(el, 'file');
  if (rel === undefined || file === null) return el;
  const abs = path.isAbsolute(rel) ? rel : path.join(path.dirname(file), rel);
  return parseXML(readFileOrFail(abs), docName, VIR_FROM_TEST);
}

function readFileOrFail(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    // A directory reads as an empty document, as libxml2 sees it; anything else is unreadable.
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return '';
    throw virError(VIR_ERR_XML_ERROR, VIR_FROM_TEST, `failed to parse xml document '${file}'`);
  }
}

export function loadNode(state: TestDriverState, text: string, file: string | null): void {
  const root = parseXML(text, file ?? '(test driver)', VIR_FROM_TEST);
  if (root.name !== 'node') throw virError(VIR_ERR_XML_ERROR, VIR_FROM_TEST, "Root element is not 'node'");

  const info = state.nodeInfo;
  const nodes = parseLong(root, ['cpu', 'nodes'], 'cpu nodes');
  if (nodes !== undefined) info.nodes = nodes;
  const sockets = parseLong(root, ['cpu', 'sockets'], 'cpu sockets');
  if (sockets !== undefined) info.sockets = sockets;
  const cores = parseLong(root, ['cpu', 'cores'], 'cpu cores');
  if (cores !== undefined) info.cores = cores;
  const threads = parseLong(root, ['cpu', 'threads'], 'cpu threads');
  if (threads !== undefined) info.threads = threads;
  info.cpus = info.cores * info.threads * info.sockets * info.nodes;
  const active = parseLong(root, ['cpu', 'active'], 'cpu active');
  if (active !== undefined && active < info.cpus) info.cpus = active;
  const mhz = parseLong(root, ['cpu', 'mhz'], 'cpu mhz');
  if (mhz !== undefined) info.mhz = mhz;
  const cpuEl = child(root, 'cpu');
  const model = cpuEl && child(cpuEl, 'model');
  if (model) {
    const m = textOf(model) ?? '';
    if (m.length > 31) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_TEST, `Model ${m} too big for destination`);
    info.model = m;
  }
  const memory = parseLong(root, ['memory'], 'memory');
  if (memory !== undefined) info.memory = memory;

  for (const el of children(root, 'domain')) {
    const node = resolveFileRef(el, file, '(domain_definition)');
    // Namespace prefixes declared on <node> apply to the domains inside it.
    for (const [k, v] of root.attrs) if (k.startsWith('xmlns:') && !node.attrs.has(k)) node.attrs.set(k, v);
    const { def, settings: ns } = parseTestDomain(serialize(node));
    generateIfnames(def);
    const { obj } = state.addDomain(def, false);
    obj.persistent = !ns.transient;
    obj.hasManagedSave = ns.hasManagedSave;
    if (ns.runstate !== VIR_DOMAIN_SHUTOFF) state.startDomain(obj, 1);
    else state.stopDomain(obj, 0);
    obj.state = ns.runstate;
    obj.reason = 0;
  }
  for (const el of children(root, 'network')) {
    const def = networkDefFromElement(resolveFileRef(el, file, '(network_definition)'));
    state.assignNetwork(def, false).active = true;
  }
  for (const el of children(root, 'device')) {
    const def = nodeDeviceDefFromElement(resolveFileRef(el, file, '(node_device_definition)'));
    state.devices.set(def.name, def);
  }
}

/** Writes a parsed element back as a document for the domain parser. */
function serialize(el: XmlElement): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const attrs = [...el.attrs.entries()].map(([k, v]) => ` ${k}="${esc(v).replace(/"/g, '&quot;')}"`).join('');
  const inner = el.children.map((c) => ('name' in c ? serialize(c) : esc(c.text))).join('');
  return `<${el.name}${attrs}>${inner}</${el.name}>`;
}

export function newDefaultState(): TestDriverState {
  const state = new TestDriverState();
  state.cells = defaultCells();
  loadNode(state, DEFAULT_NODE_XML, null);
  return state;
}

export function newStateFromFile(file: string): TestDriverState {
  const state = new TestDriverState();
  loadNode(state, readFileOrFail(file), file);
  return state;
}
