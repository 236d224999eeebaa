// src/constants.ts: the VIR_* enum values under their exact C names, checked against libvirt 9.0
// as python3-libvirt (generated from libvirt's API description) exports them.
import assert from 'node:assert/strict';

import * as constants from '../src/constants';
import * as publicApi from '../src';
import { requirePythonLibvirt, runPythonJSON } from './support/python-libvirt';

const ours = Object.entries(constants) as Array<[string, unknown]>;

describe('constants', () => {
  it('are all VIR_* names with 32-bit integer values (C enums)', () => {
    assert.ok(ours.length > 300, `only ${ours.length} constants`);
    for (const [name, value] of ours) {
      assert.match(name, /^VIR_[A-Z0-9_]+$/, name);
      assert.equal(typeof value, 'number', name);
      assert.ok(Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 32, `${name} = ${value}`);
    }
  });

  it('are exported from the package entry point', () => {
    for (const [name, value] of ours) assert.equal((publicApi as Record<string, unknown>)[name], value, name);
  });

  it('have libvirt’s values for well-known names', () => {
    const known: Record<string, number> = {
      VIR_DOMAIN_NOSTATE: 0,
      VIR_DOMAIN_RUNNING: 1,
      VIR_DOMAIN_PAUSED: 3,
      VIR_DOMAIN_SHUTOFF: 5,
      VIR_DOMAIN_PMSUSPENDED: 7,
      VIR_DOMAIN_RUNNING_BOOTED: 1,
      VIR_DOMAIN_SHUTOFF_DESTROYED: 2,
      VIR_DOMAIN_PAUSED_USER: 1,
      VIR_DOMAIN_XML_SECURE: 1,
      VIR_DOMAIN_XML_INACTIVE: 2,
      VIR_DOMAIN_XML_UPDATE_CPU: 4,
      VIR_DOMAIN_XML_MIGRATABLE: 8,
      VIR_CONNECT_LIST_DOMAINS_ACTIVE: 1,
      VIR_CONNECT_LIST_DOMAINS_INACTIVE: 2,
      VIR_CONNECT_LIST_DOMAINS_PERSISTENT: 4,
      VIR_DOMAIN_AFFECT_CURRENT: 0,
      VIR_DOMAIN_AFFECT_LIVE: 1,
      VIR_DOMAIN_AFFECT_CONFIG: 2,
      VIR_DOMAIN_DEVICE_MODIFY_FORCE: 4,
      VIR_DOMAIN_EVENT_ID_LIFECYCLE: 0,
      VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED: 15,
      VIR_DOMAIN_EVENT_STARTED: 2,
      VIR_DOMAIN_EVENT_STOPPED_DESTROYED: 1,
      VIR_NETWORK_EVENT_ID_LIFECYCLE: 0,
    };
    for (const [name, value] of Object.entries(known)) {
      assert.equal((constants as Record<string, unknown>)[name], value, name);
    }
  });
});

describe('constants: parity with libvirt 9.0 (python3-libvirt)', () => {
  let python: Record<string, number> = {};

  before(function () {
    requirePythonLibvirt(this);
    python = runPythonJSON<Record<string, number>>(`
import json, libvirt, libvirt_qemu
print(json.dumps({k: v for m in (libvirt, libvirt_qemu) for k, v in vars(m).items()
                  if k.startswith('VIR_') and isinstance(v, int)}))
`);
  });

  it('every constant libvirt also exports has libvirt’s value', () => {
    const shared = ours.filter(([name]) => name in python);
    // python3-libvirt leaves out the *_LAST sentinels and little else.
    assert.ok(shared.length >= ours.length - 60, `only ${shared.length} of ${ours.length} names are libvirt's`);
    for (const [name, value] of shared) assert.equal(value, python[name], name);
    for (const [name] of ours.filter(([n]) => !(n in python))) assert.match(name, /_LAST$/, `${name} is not a libvirt name`);
  });

  it('no constant of the enums in scope is missing', () => {
    // Domain states and their reasons, list flags, XML flags, device-modify flags, event ids and
    // the lifecycle events with their details.
    const inScope = [
      /^VIR_DOMAIN_(NOSTATE|RUNNING|BLOCKED|PAUSED|SHUTDOWN|SHUTOFF|CRASHED|PMSUSPENDED)(_[A-Z0-9_]+)?$/,
      /^VIR_CONNECT_LIST_(DOMAINS|NETWORKS|NODE_DEVICES)_/,
      /^VIR_DOMAIN_XML_/,
      /^VIR_DOMAIN_AFFECT_/,
      /^VIR_DOMAIN_DEVICE_MODIFY_/,
      /^VIR_(DOMAIN|NETWORK|NODE_DEVICE)_EVENT_ID_/,
      /^VIR_DOMAIN_EVENT_(DEFINED|UNDEFINED|STARTED|SUSPENDED|RESUMED|STOPPED|SHUTDOWN|PMSUSPENDED|CRASHED)(_|$)/,
      /^VIR_NETWORK_EVENT_(DEFINED|UNDEFINED|STARTED|STOPPED)$/,
      /^VIR_NODE_DEVICE_EVENT_(CREATED|DELETED|DEFINED|UNDEFINED)$/,
    ];
    const wanted = Object.keys(python).filter((name) => inScope.some((re) => re.test(name)));
    assert.ok(wanted.length > 150, `only ${wanted.length} names in scope`);
    assert.deepEqual(
      wanted.filter((name) => !(name in constants)),
      [],
    );
  });
});
