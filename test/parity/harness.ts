// Runs one scenario through libvirt-python (a child process per scenario) and through virtnode
// (in this process), and brings both results to one canonical form for comparison.
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { Connect, Domain, Network, NodeDevice, VirError } from '../../src';
import { mappingFor, type ApiMapping, type ReturnKind } from './api-map';
import { errorFields, type ErrorFields } from '../support/python-libvirt';

export const PYTHON = '/usr/bin/python3';
const RUNNER = path.join(__dirname, 'runner.py');

/** A handle name, or raw UUID bytes given as the UUID string (python bytes, virtnode Buffer). */
export type Arg = null | boolean | number | string | { h: string } | { uuidBytes: string };

/**
 * Values compared by type and shape only, because they legitimately differ between two runs:
 * - cpuTime: the test driver derives it from the wall clock;
 * - uuid: domains and networks defined without <uuid> get a random one (in handles and XML text);
 * - value: the whole return value (e.g. virConnectGetLibVersion is virtnode's own version).
 */
export type Loose = 'cpuTime' | 'uuid' | 'value';

export interface Step {
  /** C function name (a key of api-map.ts) */
  call: string;
  /** receiver handle: the C function's first argument; defaults to 'conn' */
  on?: string;
  args?: Arg[];
  /** keep the returned object (or callback id) under this handle name */
  as?: string;
  /** what the step is about, shown in the test name */
  note?: string;
  loose?: Loose[];
}

export interface Scenario {
  name: string;
  steps: Step[];
}

/** One step's outcome in canonical form. */
export type Outcome = { ok: unknown } | { error: ErrorFields } | { thrown: string };

export type { ErrorFields };

function receiverOf(step: Step, m: ApiMapping): string | undefined {
  if (m.vn.startsWith('Connect.')) return undefined;
  return step.on ?? 'conn';
}

let pythonChecked: boolean | undefined;

/** Whether Debian's python3 can import libvirt (package python3-libvirt). */
export function havePythonLibvirt(): boolean {
  if (pythonChecked === undefined) {
    const r = spawnSync(PYTHON, ['-c', 'import libvirt, libvirt_qemu'], { stdio: 'ignore' });
    pythonChecked = r.status === 0;
  }
  return pythonChecked;
}

/** The raw python results, one per step, before return-kind normalisation. */
export function runPython(scenario: Scenario): Promise<Outcome[]> {
  const wire = scenario.steps.map((step) => {
    const m = mappingFor(step.call);
    const args = step.args ?? [];
    return { py: m.py, on: receiverOf(step, m), args: m.pyArgs ? m.pyArgs(args) : args, as: step.as };
  });
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [RUNNER], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`python runner failed for scenario '${scenario.name}': ${err.message}\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as Outcome[]);
      } catch (e) {
        reject(new Error(`python runner printed no JSON for '${scenario.name}': ${String(e)}\n${stdout}\n${stderr}`));
      }
    });
    child.stdin!.end(JSON.stringify(wire));
  });
}

interface RecordedEvent {
  cb: string | undefined;
  obj: string;
  args: unknown[];
}

/** Plain JSON for a virtnode result, in the same shapes runner.py's canon() produces. */
export function canonVirtnode(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') {
    return value >= BigInt(-Number.MAX_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : { int: value.toString() };
  }
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    return { int: BigInt(value).toString() };
  }
  if (typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(canonVirtnode);
  if (value instanceof Domain) return { domain: value.getName(), uuid: value.getUUIDString(), id: value.getID() };
  if (value instanceof Network) return { network: value.getName(), uuid: value.getUUIDString() };
  if (value instanceof NodeDevice) return { nodedev: value.getName() };
  if (value instanceof Connect) return { connect: true };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = canonVirtnode(v);
  return out;
}

function errorOutcome(err: unknown): Outcome {
  if (err instanceof VirError) {
    return { error: errorFields(err) };
  }
  return { thrown: err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err) };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the scenario with virtnode in this process. The caller provides a fresh driver state. */
export async function runVirtnode(scenario: Scenario): Promise<Outcome[]> {
  const handles = new Map<string, unknown>();
  const events: RecordedEvent[] = [];
  const resolveArg = (arg: Arg): unknown => {
    if (arg !== null && typeof arg === 'object') {
      if ('h' in arg) return handles.get(arg.h);
      return Buffer.from(arg.uuidBytes.replace(/-/g, ''), 'hex');
    }
    return arg;
  };
  const recorder =
    (label: string | undefined) =>
    (_conn: unknown, obj: Domain | Network, ...args: unknown[]) => {
      events.push({ cb: label, obj: obj.getName(), args: canonVirtnode(args) as unknown[] });
    };
  const results: Outcome[] = [];
  const opened: Connect[] = [];
  for (const step of scenario.steps) {
    const m = mappingFor(step.call);
    const args = (step.args ?? []).map(resolveArg);
    const on = receiverOf(step, m);
    const target = on === undefined ? undefined : (handles.get(on) as Record<string, unknown>);
    try {
      let value: unknown;
      if (m.vn === '@domainEventRegisterAny') {
        value = (target as unknown as Connect).domainEventRegisterAny(args[0] as Domain | null, args[1] as number, recorder(step.as));
      } else if (m.vn === '@networkEventRegisterAny') {
        value = (target as unknown as Connect).networkEventRegisterAny(args[0] as Network | null, args[1] as number, recorder(step.as));
      } else if (m.vn === '@drainEvents') {
        await settle(30);
        value = events.splice(0);
      } else if (m.vn.includes('.')) {
        const [cls, method] = m.vn.split('.');
        const classes: Record<string, unknown> = { Connect, Domain, Network, NodeDevice };
        const fn = (classes[cls] as Record<string, (...a: unknown[]) => unknown>)[method];
        if (typeof fn !== 'function') throw new TypeError(`${m.vn} is not a function`);
        value = await fn.apply(classes[cls], target === undefined ? args : [target, ...args]);
      } else {
        if (target === undefined) throw new TypeError(`no handle '${on}' for ${step.call}`);
        const fn = target[m.vn];
        if (typeof fn !== 'function') throw new TypeError(`${m.vn} is not a function of ${on}`);
        value = await (fn as (...a: unknown[]) => unknown).apply(target, args);
      }
      if (value instanceof Connect) opened.push(value);
      if (step.as) handles.set(step.as, value);
      results.push({ ok: canonVirtnode(value) });
    } catch (err) {
      results.push(errorOutcome(err));
    }
  }
  for (const conn of opened) await conn.close().catch(() => undefined);
  return results;
}

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

function loosenUUIDs(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(UUID_RE, '<uuid>');
  if (Array.isArray(value)) return value.map(loosenUUIDs);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === 'bytes' ? '<uuid bytes>' : loosenUUIDs(v);
    return out;
  }
  return value;
}

function shapeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object' && 'int' in (value as object)) return 'number';
  return typeof value;
}

const sortKey = (v: unknown) => JSON.stringify(v);

/** Python's raw result brought to the C-shaped canonical form (see ReturnKind). */
function fromPython(kind: ReturnKind, v: unknown): unknown {
  switch (kind) {
    case 'void':
      return null;
    case 'bool':
      return typeof v === 'number' ? v !== 0 : v;
    case 'domainInfo': {
      const [state, maxMem, memory, nrVirtCpu, cpuTime] = v as unknown[];
      return { state, maxMem, memory, nrVirtCpu, cpuTime };
    }
    case 'domainState': {
      const [state, reason] = v as unknown[];
      return { state, reason };
    }
    case 'nodeInfo': {
      const [model, memory, cpus, mhz, nodes, sockets, cores, threads] = v as unknown[];
      return { model, memory, cpus, mhz, nodes, sockets, cores, threads };
    }
    default:
      return v;
  }
}

/** virtnode's canonical result brought to the same form. */
function fromVirtnode(kind: ReturnKind, v: unknown): unknown {
  switch (kind) {
    case 'void':
      return null;
    case 'nodeInfo': {
      const info = v as Record<string, unknown>;
      // C and virtnode: KiB; python: MiB (KiB >> 10). Compare in python's unit.
      return typeof info?.memory === 'number' ? { ...info, memory: Math.floor(info.memory / 1024) } : v;
    }
    default:
      return v;
  }
}

/** The final comparable value of one step on one side. */
export function comparable(step: Step, side: 'python' | 'virtnode', outcome: Outcome): unknown {
  if (!('ok' in outcome)) return outcome;
  const kind = mappingFor(step.call).ret;
  let v = side === 'python' ? fromPython(kind, outcome.ok) : fromVirtnode(kind, outcome.ok);
  if (kind === 'set' && Array.isArray(v)) v = [...v].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  const loose = step.loose ?? [];
  if (loose.includes('value')) return { ok: `<${shapeOf(v)}>` };
  if (loose.includes('cpuTime') && v !== null && typeof v === 'object' && 'cpuTime' in v) {
    v = { ...(v as object), cpuTime: `<${shapeOf((v as { cpuTime: unknown }).cpuTime)}>` };
  }
  if (loose.includes('uuid')) v = loosenUUIDs(v);
  return { ok: v };
}

/** Test title: `dom.suspend()`-style call text, plus the step's note. */
export function describeStep(step: Step): string {
  const m = mappingFor(step.call);
  const on = receiverOf(step, m);
  const args = (step.args ?? []).map((a) => {
    if (a !== null && typeof a === 'object') return 'h' in a ? a.h : `uuid(${a.uuidBytes.slice(0, 8)}…)`;
    const s = JSON.stringify(a);
    return s.length > 40 ? `${s.slice(0, 37)}…"` : s;
  });
  const fn = m.vn.startsWith('@') ? step.call : m.vn;
  const recv = m.vn.includes('.') ? '' : `${on}.`;
  const first = m.vn.includes('.') && on !== undefined ? [on] : [];
  const call = `${recv}${fn}(${[...first, ...args].join(', ')})`;
  return step.note ? `${call} [${step.note}]` : call;
}
