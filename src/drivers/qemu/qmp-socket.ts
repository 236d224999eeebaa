// The QMP socket: lines in, lines (with fds) out. native/qmp.cc connects and writes, through
// sendmsg(2) so that fds can travel as SCM_RIGHTS; a net.Socket on a dup of the same socket reads
// it, on the libuv loop of the thread that opened it. Reading in JS rather than on a native
// thread is the point: a reply wakes the JS thread directly, where a reader thread costs a second
// wake-up (thread -> thread-safe function -> loop), measured at ~10 µs of a ~250 µs QMP round trip
// (bench/qmp.bench.ts). The net.Socket never writes, except the tail of a command the kernel did
// not take at once, and only while no other write is in progress; so no bytes interleave.
import net from 'node:net';
import { native, type NativeSystemError, type QmpHandle } from '../../native';

/** QEMU's own JSON message limit; a longer line means the stream is broken. */
export const QMP_MAX_LINE_BYTES = 64 * 1024 * 1024;

const READ_BUFFER_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/** Retry delays while a command with fds meets a full socket (the fds must ride its first byte). */
const FULL_SOCKET_RETRY_MS = [1, 2, 5, 10, 20, 50];

/** Why the peer went away: Node's (read/write) or the addon's (sendmsg) system error. */
export type QmpSocketError = Pick<NativeSystemError, 'code' | 'errno' | 'syscall'>;

interface PendingWrite {
  data: string | Buffer;
  fds: readonly number[] | undefined;
}

function lineTooLong(): QmpSocketError {
  return { code: 'EMSGSIZE', errno: -90, syscall: 'read' };
}

export class QmpSocket {
  /** Each complete line, CR/LF stripped, empty lines dropped. */
  onLine: (line: string) => void = () => {};
  /**
   * Once, when the peer goes away: null for a clean EOF, else the error (ECONNRESET from 'read',
   * EPIPE from 'sendmsg', EMSGSIZE for a line over 64 MiB). Never after close().
   */
  onClose: (error: QmpSocketError | null) => void = () => {};

  private readonly reader: net.Socket;
  /** Bytes of a line not complete yet, copied out of the read buffer. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private readonly backlog: PendingWrite[] = [];
  /** A write is still on its way (its tail in the net.Socket, or a retry timer). */
  private writing = false;
  private writeError: QmpSocketError | null = null;
  private closed = false;

  private constructor(private readonly handle: QmpHandle) {
    this.reader = new net.Socket({
      fd: native().qmpDupFd(handle),
      readable: true,
      writable: true,
      onread: { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: (nread: number, buffer: Buffer) => this.onRead(nread, buffer) },
    } as net.SocketConstructorOpts);
    this.reader.on('end', () => this.finish(this.writeError));
    this.reader.on('error', (err: NodeJS.ErrnoException) => this.finish({ code: err.code ?? 'EIO', errno: err.errno ?? -5, syscall: err.syscall ?? 'read' }));
    this.reader.on('close', () => this.finish(this.writeError));
  }

  /** One connect attempt (see native qmpConnect); rejects with the NativeSystemError. */
  static async connect(path: string): Promise<QmpSocket> {
    const handle = await native().qmpConnect(path);
    try {
      return new QmpSocket(handle);
    } catch (err) {
      native().qmpClose(handle);
      throw err;
    }
  }

  /**
   * Sends data after everything sent before; the fds (at most 16) go as SCM_RIGHTS with its
   * first byte, and must stay open until the peer has answered. Throws only for bad arguments.
   */
  send(data: string | Buffer, fds?: readonly number[]): void {
    if (this.closed || this.writeError !== null) return;
    if (this.writing || this.backlog.length > 0) this.backlog.push({ data, fds });
    else this.write(data, fds, 0);
  }

  /** Whether the socket keeps the event loop alive (it does at first), as net.Socket's ref(). */
  setRef(ref: boolean): void {
    if (ref) this.reader.ref();
    else this.reader.unref();
  }

  /** Closes both fds and drops unsent data. Idempotent; onClose is not called. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.destroy();
    native().qmpClose(this.handle);
  }

  private write(data: string | Buffer, fds: readonly number[] | undefined, attempt: number): void {
    let left: number;
    try {
      left = native().qmpSend(this.handle, data, fds);
    } catch (err) {
      const cause = err as NativeSystemError;
      if (cause.syscall !== 'sendmsg') throw err;
      this.onWriteError(cause);
      return;
    }
    if (left === 0) return;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.writing = true;
    if (left === bytes.length && fds !== undefined && fds.length > 0) {
      // Nothing went, so neither did the fds, and Node cannot say when the socket has room
      // without writing to it: try again shortly. Rare: one command is on the wire at a time.
      const delay = FULL_SOCKET_RETRY_MS[Math.min(attempt, FULL_SOCKET_RETRY_MS.length - 1)];
      setTimeout(() => {
        this.writing = false;
        if (!this.closed) this.write(bytes, fds, attempt + 1);
        this.writeBacklog();
      }, delay);
      return;
    }
    this.reader.write(bytes.subarray(bytes.length - left), (err) => {
      this.writing = false;
      if (!err) this.writeBacklog();
    });
  }

  private writeBacklog(): void {
    while (!this.writing && !this.closed && this.writeError === null && this.backlog.length > 0) {
      const next = this.backlog.shift()!;
      this.write(next.data, next.fds, 0);
    }
  }

  // A failed write means the peer is going or gone. Whatever it sent before still reaches onLine:
  // the reader's EOF reports this error once the buffered lines are out. Should the reader not
  // end (a peer that only stopped reading), the error is reported after the loop has polled once.
  private onWriteError(err: QmpSocketError): void {
    this.writeError = { code: err.code, errno: err.errno, syscall: err.syscall };
    setImmediate(() => setImmediate(() => this.finish(this.writeError)));
  }

  private onRead(nread: number, buffer: Buffer): void {
    if (this.closed) return;
    // A read that ends a line, the usual case, needs no view: no search runs past its last byte.
    const chunk = nread === buffer.length || buffer[nread - 1] === NEWLINE ? buffer : buffer.subarray(0, nread);
    let start = 0;
    while (start < nread) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline < 0) break;
      this.deliver(chunk, start, newline);
      start = newline + 1;
      if (this.closed) return;
    }
    if (start < nread) {
      this.partial.push(Buffer.from(chunk.subarray(start)));
      this.partialBytes += nread - start;
      if (this.partialBytes > QMP_MAX_LINE_BYTES) this.finish(lineTooLong());
    }
  }

  /** Hands chunk[start, end) (plus any partial line before it) to onLine. */
  private deliver(chunk: Buffer, start: number, end: number): void {
    let line = chunk;
    if (this.partialBytes > 0) {
      this.partial.push(chunk.subarray(start, end));
      line = Buffer.concat(this.partial, this.partialBytes + end - start);
      this.partial = [];
      this.partialBytes = 0;
      start = 0;
      end = line.length;
      if (end > QMP_MAX_LINE_BYTES) {
        this.finish(lineTooLong());
        return;
      }
    }
    if (end > start && line[end - 1] === CARRIAGE_RETURN) end--;
    if (end > start) this.onLine(line.toString('utf8', start, end));
  }

  private finish(error: QmpSocketError | null): void {
    if (this.closed) return;
    this.close();
    this.onClose(error);
  }
}
