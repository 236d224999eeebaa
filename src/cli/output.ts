// virsh's output building blocks: the adaptive-width table (vshTable), error lines, and the
// terminal-only extras (colors, a progress bar for waits longer than a second).

/** Display width of a cell: code points, as virsh counts them for the characters it accepts. */
function width(text: string): number {
  return [...text].length;
}

/**
 * vshTablePrint: each cell is preceded by one space and, except in the last column, padded to its
 * column's width plus two spaces (an empty last cell leaves those blanks at the end of the line);
 * the dash line under the header is sum(width + 3) long.
 * Without a header (quiet mode) the widths come from the rows alone.
 */
export function formatTable(header: string[] | null, rows: string[][]): string {
  const all = header ? [header, ...rows] : rows;
  const columns = header ? header.length : (rows[0]?.length ?? 0);
  const widths: number[] = [];
  for (let c = 0; c < columns; c++) widths.push(Math.max(0, ...all.map((r) => width(r[c] ?? ''))));
  const line = (row: string[]) =>
    row.map((cell, c) => ` ${cell}${c === columns - 1 ? '' : ' '.repeat(widths[c] - width(cell) + 2)}`).join('') + '\n';
  let text = '';
  if (header) {
    text += line(header);
    text += '-'.repeat(widths.reduce((sum, w) => sum + w + 3, 0)) + '\n';
  }
  for (const row of rows) text += line(row);
  return text;
}

/** `%-Ns value` key/value lines, as dominfo (15), nodeinfo (20) and net-info (15) print them. */
export function formatKeyValues(pairs: Array<[string, string]>, keyWidth: number): string {
  return pairs.map(([k, v]) => `${k.padEnd(keyWidth)} ${v}\n`).join('');
}

/** Where output goes: a Node stream, or a file descriptor written directly (see fdWriter). */
export interface Writer {
  readonly isTTY?: boolean;
  write(text: string): void;
}

/**
 * Writes to a file descriptor synchronously, without creating process.stdout: building that
 * stream loads Node's stream machinery, a noticeable part of a short command's run time. A full
 * non-blocking pipe (EAGAIN) hands the rest, in order, to the stream; a reader that went away
 * (EPIPE) ends the process quietly, as SIGPIPE ends virsh.
 */
export function fdWriter(fd: 1 | 2): Writer {
  const { writeSync } = require('node:fs') as typeof import('node:fs');
  const isTTY = (require('node:tty') as typeof import('node:tty')).isatty(fd);
  let stream: NodeJS.WriteStream | null = null;
  return {
    isTTY,
    write(text: string): void {
      if (stream) {
        stream.write(text);
        return;
      }
      let buf = Buffer.from(text);
      while (buf.length > 0) {
        try {
          buf = buf.subarray(writeSync(fd, buf));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
          if (code !== 'EAGAIN') throw err;
          stream = fd === 1 ? process.stdout : process.stderr;
          stream.write(buf);
          return;
        }
      }
    },
  };
}

/** Colors, only for terminals and never when NO_COLOR is set. */
export function colorize(stream: Writer, code: number, text: string): string {
  if (!stream.isTTY || process.env.NO_COLOR !== undefined || process.env.TERM === 'dumb') return text;
  return `\x1b[${code}m${text}\x1b[0m`;
}

/** A command-level failure: virsh's own first line, optionally followed by the library's error. */
export class CommandError extends Error {
  override readonly cause?: unknown;
  constructor(message: string, cause?: unknown) {
    super(message);
    this.cause = cause;
  }
}

const BAR = 24;

/**
 * Resolves `work`; when it takes more than a second and stdout is a terminal, shows an
 * indeterminate progress bar with the elapsed time on stdout meanwhile, erased afterwards.
 */
export async function withProgress<T>(label: string, work: Promise<T>, stream: Writer): Promise<T> {
  if (!stream.isTTY) return work;
  const started = Date.now();
  let tick = 0;
  let drawn = false;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    const pos = tick++ % (BAR * 2 - 2);
    const at = pos < BAR ? pos : BAR * 2 - 2 - pos;
    const bar = ' '.repeat(at) + colorize(stream, 36, '=') + ' '.repeat(BAR - at - 1);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    stream.write(`\r[${bar}] ${label} ${secs}s`);
    drawn = true;
  };
  const delay = setTimeout(() => {
    draw();
    timer = setInterval(draw, 100);
  }, 1000);
  try {
    return await work;
  } finally {
    clearTimeout(delay);
    if (timer) clearInterval(timer);
    if (drawn) stream.write('\r\x1b[2K');
  }
}
