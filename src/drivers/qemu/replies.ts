// libvirt's recorded QMP conversations (tests/qemucapabilitiesdata/*.replies): pretty-printed
// JSON requests and replies one after another. FakeQmpPeer replays one as a QmpPeer, so the
// capability prober sees exactly what it would see from that QEMU binary.
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { probeQemuCaps, QemuCaps } from './capabilities';
import { QmpCommandError, QmpPeer } from './qmp-peer';

export interface QmpRequest {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: string;
}

export type QmpReply = { return: unknown; id?: string } | { error: { class: string; desc: string }; id?: string };

export interface QmpExchange {
  request: QmpRequest;
  reply: QmpReply;
}

/** Splits concatenated JSON texts (objects separated by any whitespace) into values. */
export function parseJsonSequence(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
      if (depth < 0) throw new SyntaxError(`unbalanced '${c}' at offset ${i}`);
    } else if (depth === 0 && !/\s/.test(c)) {
      throw new SyntaxError(`unexpected '${c}' between JSON values at offset ${i}`);
    }
  }
  if (depth !== 0 || inString) throw new SyntaxError('truncated JSON sequence');
  return values;
}

/** Parses a `.replies` file into request/reply pairs, in conversation order. */
export function parseReplies(text: string): QmpExchange[] {
  const values = parseJsonSequence(text) as Record<string, unknown>[];
  const exchanges: QmpExchange[] = [];
  for (let i = 0; i < values.length; i += 2) {
    const request = values[i];
    const reply = values[i + 1];
    if (typeof request?.execute !== 'string') {
      throw new SyntaxError(`entry ${i + 1} of the replies is not a QMP request`);
    }
    if (reply === undefined || !('return' in reply || 'error' in reply)) {
      throw new SyntaxError(`request '${request.execute}' (entry ${i + 1}) has no reply`);
    }
    exchanges.push({ request: request as unknown as QmpRequest, reply: reply as unknown as QmpReply });
  }
  return exchanges;
}

export interface FakeQmpPeerOptions {
  /** Also require the arguments to equal the recorded ones (default true). */
  checkArguments?: boolean;
}

/**
 * Answers each command with the next recorded reply. A command other than the recorded one, or
 * one past the end, is a programming error in the prober and throws at once.
 */
export class FakeQmpPeer implements QmpPeer {
  private next = 0;
  private readonly checkArguments: boolean;

  constructor(
    private readonly exchanges: QmpExchange[],
    options: FakeQmpPeerOptions = {},
  ) {
    this.checkArguments = options.checkArguments ?? true;
  }

  /** Exchanges not yet consumed. */
  get remaining(): number {
    return this.exchanges.length - this.next;
  }

  async command(name: string, args?: Record<string, unknown>): Promise<unknown> {
    const index = this.next;
    const exchange = this.exchanges[index];
    if (!exchange) {
      throw new Error(`QMP command '${name}' sent after the recorded conversation ended`);
    }
    if (exchange.request.execute !== name) {
      throw new Error(`QMP command #${index + 1} is '${name}', the recording expects '${exchange.request.execute}'`);
    }
    if (this.checkArguments && !isDeepStrictEqual(args ?? {}, exchange.request.arguments ?? {})) {
      throw new Error(
        `QMP command #${index + 1} '${name}' has arguments ${JSON.stringify(args ?? {})}, ` +
          `the recording has ${JSON.stringify(exchange.request.arguments ?? {})}`,
      );
    }
    this.next++;
    if ('error' in exchange.reply) {
      throw new QmpCommandError(name, exchange.reply.error.class, exchange.reply.error.desc);
    }
    return exchange.reply.return;
  }
}

/**
 * The capabilities a recorded conversation describes, probed as from the real binary
 * (`binary` is what libvirt's digest names, /usr/bin/qemu-system-x86_64 for x86_64 files).
 */
export async function capsFromRepliesFile(file: string, binary = '/usr/bin/qemu-system-x86_64'): Promise<QemuCaps> {
  const peer = new FakeQmpPeer(parseReplies(await readFile(file, 'utf8')));
  const caps = await probeQemuCaps(async () => peer, binary);
  if (peer.remaining !== 0) {
    throw new Error(`${file}: the probe stopped with ${peer.remaining} recorded commands left`);
  }
  return caps;
}
