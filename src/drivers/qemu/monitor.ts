// The QEMU monitor: QMP spoken over the QMP socket (qmp-socket.ts, native/qmp.cc). What libvirt's
// qemu_monitor.c and qemu_monitor_json.c do for one QEMU process: wait for the greeting, negotiate
// capabilities (no OOB), send one command at a time with ids 'libvirt-N', match replies, dispatch
// events, and turn every failure into the VirError libvirt reports for it.
import { native } from '../../native';
import {
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_TIMEOUT,
  VIR_ERR_SYSTEM_ERROR,
  VIR_FROM_QEMU,
  VirError,
  virError,
} from '../../error';
import { QmpCommandError, type QmpPeer } from './qmp-peer';
import { QMP_MAX_LINE_BYTES, QmpSocket, type QmpSocketError } from './qmp-socket';

/** libvirt's QEMU_DEFAULT_MONITOR_WAIT: how long to wait for the socket and the greeting. */
export const QEMU_DEFAULT_MONITOR_WAIT_MS = 30_000;

/** How often open() tries again while the socket is missing or refuses. */
const CONNECT_RETRY_MS = 5;
/** Connect errors that mean "not yet": no socket yet, a stale one, a full backlog. */
const CONNECT_RETRY_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);
const NO_FDS: readonly number[] = [];

/** An asynchronous QMP event, as QEMU sent it. */
export interface QemuMonitorEvent {
  event: string;
  /** Absent for events without data (STOP, RESUME, ...). */
  data?: Record<string, unknown>;
  /** Host wall-clock time of the event; both -1 when QEMU could not read the clock. */
  timestamp: { seconds: number; microseconds: number };
}

export type QemuMonitorEventListener = (event: QemuMonitorEvent) => void;
/** null: QEMU closed the monitor cleanly (EOF). Otherwise what went wrong. */
export type QemuMonitorCloseListener = (error: VirError | null) => void;

export interface QemuMonitorOpenOptions {
  /** Budget for the socket to appear and the greeting to arrive. Default 30 s, as libvirt. */
  timeoutMs?: number;
  /** The domain's name, for libvirt's "(vm='NAME')" in monitor error messages. */
  domainName?: string;
  /**
   * Gives up at once when aborted (say, when the QEMU process exited): no more connect attempts,
   * no more waiting for the greeting. Rejects as libvirt does for a process that is gone:
   * "failed to connect to monitor socket: <last error>", or "QEMU monitor was closed" once connected.
   */
  signal?: AbortSignal;
}

/** The QMP greeting's version block. */
export interface QemuMonitorGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

interface PendingCommand {
  /** Command name for error messages; '' for raw commands without "execute". */
  name: string;
  /** The id we put on the wire, or null for a raw command sent without one. */
  id: string | null;
  line: string;
  fds: readonly number[];
  /** commandRaw: resolve with the whole reply re-serialized, errors included. */
  raw: boolean;
  resolve(value: unknown): void;
  reject(error: VirError): void;
}

// libvirt's qemuMonitorJSONTranslateErrorClass: used when QEMU's error has no desc.
function translateErrorClass(errorClass: string | undefined): string {
  switch (errorClass) {
    case 'GenericError':
      return 'generic error';
    case 'CommandNotFound':
      return 'command not found';
    case 'DeviceNotActive':
      return 'device not active';
    case 'DeviceNotFound':
      return 'device not found';
    case 'KVMMissingCap':
      return 'KVM missing capability';
    default:
      return 'unknown QEMU command error';
  }
}

function commandError(name: string, error: unknown): QmpCommandError {
  const body = (typeof error === 'object' && error !== null ? error : {}) as { class?: unknown; desc?: unknown };
  const errorClass = typeof body.class === 'string' ? body.class : '';
  const desc = typeof body.desc === 'string' ? body.desc : translateErrorClass(errorClass);
  return new QmpCommandError(name, errorClass, desc);
}

/** libvirt's virReportSystemError: "<what>: <strerror>", errno in int1. */
function systemError(what: string, cause: QmpSocketError): VirError {
  const message = `${what}: ${native().strerror(cause.errno)}`;
  return new VirError({ code: VIR_ERR_SYSTEM_ERROR, domain: VIR_FROM_QEMU, message, str1: message, int1: -cause.errno });
}

/** Resolves after ms, or as soon as signal aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * libvirt's qemuMonitorOpenUnix: connects, trying again while QEMU has not created the socket
 * yet (or a stale one refuses), until the deadline or until signal aborts.
 */
async function connectSocket(path: string, deadline: number, signal: AbortSignal | undefined): Promise<QmpSocket> {
  for (;;) {
    let cause: QmpSocketError;
    try {
      return await QmpSocket.connect(path);
    } catch (err) {
      cause = err as QmpSocketError;
    }
    if (!CONNECT_RETRY_CODES.has(cause.code) || signal?.aborted) {
      throw systemError('failed to connect to monitor socket', cause);
    }
    if (Date.now() >= deadline) throw systemError('monitor socket did not show up', cause);
    await pause(Math.min(CONNECT_RETRY_MS, Math.max(0, deadline - Date.now())), signal);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class QemuMonitor implements QmpPeer {
  private readonly eventListeners = new Set<QemuMonitorEventListener>();
  private readonly closeListeners = new Set<QemuMonitorCloseListener>();
  private readonly queue: PendingCommand[] = [];
  private inFlight: PendingCommand | null = null;
  private nextSerial = 0;
  private greetingSeen = false;
  private greetingWaiter: ((greeting: QemuMonitorGreeting | VirError) => void) | null = null;
  /** Set once the monitor is unusable; every later command fails with a copy of it. */
  private failure: (() => VirError) | null = null;
  private socketOpen = true;
  private greetingValue: QemuMonitorGreeting | null = null;

  private constructor(
    private readonly socket: QmpSocket,
    private readonly domainName: string | undefined,
  ) {
    socket.onLine = (line) => this.onLine(line);
    socket.onClose = (err) => this.onPeerClosed(err);
  }

  /**
   * Connects to the monitor socket at `path` (waiting for QEMU to create it), waits for the
   * greeting and negotiates capabilities without OOB.
   */
  static async open(path: string, options: QemuMonitorOpenOptions = {}): Promise<QemuMonitor> {
    const deadline = Date.now() + (options.timeoutMs ?? QEMU_DEFAULT_MONITOR_WAIT_MS);
    const { signal } = options;
    const monitor = new QemuMonitor(await connectSocket(path, deadline, signal), options.domainName);
    const abort = () => monitor.close();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      if (signal?.aborted) monitor.close();
      await monitor.waitGreeting(Math.max(0, deadline - Date.now()));
      await monitor.command('qmp_capabilities');
    } catch (err) {
      monitor.close();
      throw err;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    return monitor;
  }

  /** The greeting QEMU sent (its version and offered capabilities). */
  get greeting(): QemuMonitorGreeting | null {
    return this.greetingValue;
  }

  /** True until close() or until the monitor failed (QEMU gone, protocol error). */
  get isOpen(): boolean {
    return this.failure === null;
  }

  /** Runs one QMP command and resolves with its `return` value. */
  command(name: string, args?: Record<string, unknown>): Promise<unknown> {
    return this.enqueue(name, args, NO_FDS);
  }

  /**
   * Runs a command that takes a file descriptor (`getfd`, `add-fd`): the fd travels as SCM_RIGHTS
   * with the command's bytes. The caller keeps its own copy and may close it once this returns.
   * QEMU makes the (shared) open file description blocking.
   */
  sendWithFd(name: string, args: Record<string, unknown> | undefined, fd: number): Promise<unknown> {
    return this.enqueue(name, args, [fd]);
  }

  /**
   * virDomainQemuMonitorCommand: sends the caller's JSON (an "id" is added when it has "execute")
   * and resolves with QEMU's reply re-serialized compactly, errors included, as libvirt returns it.
   */
  commandRaw(jsonText: string): Promise<string> {
    let cmd: unknown;
    try {
      cmd = JSON.parse(jsonText);
    } catch (err) {
      return Promise.reject(virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, `cannot parse json ${jsonText}: ${(err as Error).message}`));
    }
    let id: string | null = null;
    let name = '';
    if (isObject(cmd) && 'execute' in cmd) {
      if ('id' in cmd) return Promise.reject(virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, "duplicate key 'id'"));
      id = this.nextId();
      name = String(cmd.execute);
      cmd = { ...cmd, id };
    }
    const line = `${JSON.stringify(cmd)}\r\n`;
    return new Promise<string>((resolve, reject) => {
      this.push({ name, id, line, fds: NO_FDS, raw: true, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** Listens to every QMP event, in the order QEMU sent them. */
  addEventListener(listener: QemuMonitorEventListener): void {
    this.eventListeners.add(listener);
  }

  removeEventListener(listener: QemuMonitorEventListener): void {
    this.eventListeners.delete(listener);
  }

  /** Called once when QEMU closes the monitor or it fails; not after close(). */
  addCloseListener(listener: QemuMonitorCloseListener): void {
    this.closeListeners.add(listener);
  }

  removeCloseListener(listener: QemuMonitorCloseListener): void {
    this.closeListeners.delete(listener);
  }

  /** Lets the process exit while this monitor is open (as socket.unref()). */
  unref(): void {
    this.socket.setRef(false);
  }

  /** Undoes unref(): an open monitor keeps the process alive again. */
  ref(): void {
    this.socket.setRef(true);
  }

  /** Closes the socket; pending commands fail as in libvirt's qemuMonitorClose. Idempotent. */
  close(): void {
    this.closeListeners.clear();
    if (this.failure === null) {
      this.fail(() => virError(VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU, 'QEMU monitor was closed'));
    }
    this.closeSocket();
  }

  private waitGreeting(timeoutMs: number): Promise<QemuMonitorGreeting> {
    if (this.greetingValue) return Promise.resolve(this.greetingValue);
    if (this.failure !== null) return Promise.reject(this.failure());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.greetingWaiter = null;
        reject(virError(VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU, 'no greeting from QEMU monitor'));
      }, timeoutMs);
      this.greetingWaiter = (result) => {
        clearTimeout(timer);
        this.greetingWaiter = null;
        if (result instanceof VirError) reject(result);
        else resolve(result);
      };
    });
  }

  private nextId(): string {
    this.nextSerial += 1;
    return `libvirt-${this.nextSerial}`;
  }

  private enqueue(name: string, args: Record<string, unknown> | undefined, fds: readonly number[]): Promise<unknown> {
    const id = this.nextId();
    // The same text JSON.stringify({ execute, arguments, id }) gives, without the object.
    const argsText = args === undefined ? '' : `,"arguments":${JSON.stringify(args)}`;
    const line = `{"execute":${JSON.stringify(name)}${argsText},"id":"${id}"}\r\n`;
    return new Promise((resolve, reject) => {
      this.push({ name, id, line, fds, raw: false, resolve, reject });
    });
  }

  private push(command: PendingCommand): void {
    if (this.failure !== null) {
      command.reject(this.failure());
      return;
    }
    if (this.inFlight === null && this.greetingSeen && this.queue.length === 0) this.transmit(command);
    else this.queue.push(command);
  }

  // One command on the wire at a time, as libvirt does: QEMU without OOB reads nothing more until
  // the current command has run anyway, and it keeps fd-carrying commands from racing.
  private pump(): void {
    if (this.inFlight !== null || !this.greetingSeen || this.failure !== null) return;
    const next = this.queue.shift();
    if (next !== undefined) this.transmit(next);
  }

  private transmit(command: PendingCommand): void {
    this.inFlight = command;
    try {
      this.socket.send(command.line, command.fds.length > 0 ? command.fds : undefined);
    } catch (err) {
      // Only a bad fd from the caller gets here; the socket itself reports through onPeerClosed.
      this.inFlight = null;
      command.reject(systemError('Unable to write to monitor', err as QmpSocketError));
      this.pump();
    }
  }

  private onLine(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (err) {
      this.protocolError(`cannot parse json ${line}: ${(err as Error).message}`);
      return;
    }
    if (!isObject(message)) {
      this.protocolError(`Unknown JSON reply '${line}'`);
      return;
    }
    if ('QMP' in message) {
      this.onGreeting(message.QMP, line);
    } else if ('event' in message) {
      this.onEvent(message);
    } else if ('return' in message || 'error' in message) {
      this.onReply(message, line);
    } else {
      this.protocolError(`Unknown JSON reply '${line}'`);
    }
  }

  private onGreeting(greeting: unknown, line: string): void {
    if (this.greetingSeen || !isObject(greeting)) {
      this.protocolError(`Unknown JSON reply '${line}'`);
      return;
    }
    this.greetingSeen = true;
    this.greetingValue = greeting as unknown as QemuMonitorGreeting;
    this.greetingWaiter?.(this.greetingValue);
    this.pump();
  }

  private onReply(reply: Record<string, unknown>, line: string): void {
    const current = this.inFlight;
    const id = reply.id ?? null;
    if (current === null || id !== current.id) {
      // An error without an id is QEMU failing to parse input before it saw one; with one command
      // in flight and only well-formed JSON sent, that (or a stray id) means the stream is out of
      // step. The command on the wire gets QEMU's error as libvirt would report it; the monitor
      // is then unusable, as everything queued behind it.
      if (current !== null && 'error' in reply && id === null) {
        this.inFlight = null;
        current.reject(commandError(current.name, reply.error));
      }
      this.protocolError(`unexpected reply from QEMU monitor: ${line}`);
      return;
    }
    this.inFlight = null;
    if (current.raw) current.resolve(JSON.stringify(reply));
    else if ('error' in reply) current.reject(commandError(current.name, reply.error));
    else current.resolve(reply.return);
    this.pump();
  }

  private onEvent(message: Record<string, unknown>): void {
    const stamp = isObject(message.timestamp) ? message.timestamp : {};
    const event: QemuMonitorEvent = {
      event: String(message.event),
      timestamp: {
        seconds: typeof stamp.seconds === 'number' ? stamp.seconds : -1,
        microseconds: typeof stamp.microseconds === 'number' ? stamp.microseconds : -1,
      },
    };
    if (isObject(message.data)) event.data = message.data;
    for (const listener of [...this.eventListeners]) {
      callListener(() => listener(event));
    }
  }

  private onPeerClosed(err: QmpSocketError | null): void {
    this.socketOpen = false;
    let failure: () => VirError;
    if (err === null) {
      const vm = this.domainName !== undefined ? ` (vm='${this.domainName}')` : '';
      failure = () => virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, `End of file from qemu monitor${vm}`);
    } else if (err.code === 'EMSGSIZE') {
      failure = () =>
        virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, `QEMU monitor reply exceeds buffer size (${QMP_MAX_LINE_BYTES} bytes)`);
    } else {
      const what = err.syscall === 'read' ? 'Unable to read from monitor' : 'Unable to write to monitor';
      failure = () => systemError(what, err);
    }
    this.fail(failure);
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const listener of listeners) {
      callListener(() => listener(err === null ? null : failure()));
    }
  }

  private protocolError(detail: string): void {
    if (this.failure !== null) return;
    const failure = () => virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, detail);
    this.fail(failure);
    this.closeSocket();
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const listener of listeners) {
      callListener(() => listener(failure()));
    }
  }

  /** Marks the monitor failed and rejects everything pending with the reason. */
  private fail(failure: () => VirError): void {
    if (this.failure !== null) return;
    this.failure = failure;
    this.greetingWaiter?.(failure());
    const pending = this.inFlight !== null ? [this.inFlight, ...this.queue] : [...this.queue];
    this.inFlight = null;
    this.queue.length = 0;
    for (const command of pending) command.reject(failure());
  }

  private closeSocket(): void {
    if (!this.socketOpen) return;
    this.socketOpen = false;
    this.socket.close();
  }
}

// A throwing listener must not leave the monitor half-way through a line: report it the way an
// EventEmitter listener's exception would surface, after the monitor is done.
function callListener(call: () => void): void {
  try {
    call();
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}
