// A minimal QMP client over a Unix socket with node's `net`, for capability probing: one
// command at a time, events ignored, no fd passing. The driver's monitor (monitor.ts, over the
// native socket) is the full implementation; both are QmpPeers, so the prober takes either.
import net from 'node:net';
import { VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, VirError, virError } from '../../error';
import { QmpCommandError, QmpPeer } from './qmp-peer';

interface Pending {
  name: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

function closedError(): VirError {
  return virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, 'End of file from qemu monitor');
}

/**
 * Connected to QEMU's QMP socket, greeting read, still in capabilities-negotiation mode: the
 * first command a caller sends is `qmp_capabilities`, as in libvirt's recorded conversations.
 */
export class SimpleQmpClient implements QmpPeer {
  private buffer = '';
  private readonly queue: Pending[] = [];
  private serial = 0;
  private ended: VirError | null = null;
  private greeting: ((value: unknown) => void) | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => this.fail(closedError()));
    socket.on('close', () => this.fail(closedError()));
  }

  /** Connects, retrying while the socket does not exist yet, until `deadline` (ms since epoch). */
  static async connect(path: string, deadline: number, alive: () => boolean = () => true): Promise<SimpleQmpClient> {
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const client = new SimpleQmpClient(socket);
        try {
          await client.waitGreeting(deadline);
        } catch (err) {
          client.close();
          throw err;
        }
        return client;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const retry = code === 'ENOENT' || code === 'ECONNREFUSED';
        if (!retry || !alive() || Date.now() > deadline) {
          throw err instanceof VirError ? err : virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, 'monitor socket did not show up');
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  command(name: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const id = `libvirt-${++this.serial}`;
      this.queue.push({ name, resolve, reject });
      const message = args === undefined ? { execute: name, id } : { execute: name, arguments: args, id };
      this.socket.write(JSON.stringify(message) + '\r\n');
    });
  }

  close(): void {
    this.fail(closedError());
    this.socket.destroy();
  }

  private waitGreeting(deadline: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, 'no QMP greeting from QEMU')),
        Math.max(0, deadline - Date.now()),
      );
      this.greeting = (value) => {
        clearTimeout(timer);
        if (value instanceof Error) reject(value);
        else resolve(value);
      };
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line !== '') this.onMessage(JSON.parse(line) as Record<string, unknown>);
    }
  }

  private onMessage(message: Record<string, unknown>): void {
    if ('QMP' in message) {
      this.greeting?.(message.QMP);
      this.greeting = null;
      return;
    }
    if ('event' in message) return;
    const pending = this.queue.shift();
    if (!pending) return;
    if ('error' in message) {
      const error = message.error as { class?: string; desc?: string };
      pending.reject(new QmpCommandError(pending.name, String(error.class), String(error.desc)));
    } else {
      pending.resolve(message.return);
    }
  }

  private fail(error: VirError): void {
    if (this.ended) return;
    this.ended = error;
    this.greeting?.(error);
    this.greeting = null;
    for (const pending of this.queue.splice(0)) pending.reject(error);
  }
}
