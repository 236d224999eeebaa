// One virtnode session: the connection (opened on first need), output streams, and the loop that
// runs parsed commands the way virsh's vshCommandRun does: every command runs even after an earlier
// one failed, a failure prints `error: ...` lines on stderr, a blank line follows each command on
// stdout unless --quiet, and the status is the last command's.
import type { Connect } from '../connect';
import type { ParsedCommand } from './parse';
import { CommandError, type Writer, colorize, fdWriter } from './output';

export interface SessionOptions {
  uri: string | null;
  readOnly: boolean;
  quiet: boolean;
  interactive: boolean;
  stdout?: Writer;
  stderr?: Writer;
}

export type Handler = (session: Session, cmd: ParsedCommand) => Promise<void>;

export class Session {
  uri: string | null;
  readOnly: boolean;
  readonly quiet: boolean;
  readonly interactive: boolean;
  readonly stdout: Writer;
  readonly stderr: Writer;
  private connection: Connect | null = null;
  /** Set by `quit`/`exit`. */
  quitRequested = false;

  constructor(options: SessionOptions) {
    this.uri = options.uri;
    this.readOnly = options.readOnly;
    this.quiet = options.quiet;
    this.interactive = options.interactive;
    this.stdout = options.stdout ?? fdWriter(1);
    this.stderr = options.stderr ?? fdWriter(2);
  }

  print(text: string): void {
    this.stdout.write(text);
  }

  /** virsh's vshError: one `error: ` line on stderr. */
  error(message: string): void {
    const prefix = colorize(this.stderr, 31, 'error:');
    this.stderr.write(`${prefix} ${message}\n`);
  }

  /** Reports a failure: virsh's own line first (CommandError), then the library's error. */
  report(err: unknown): void {
    if (err instanceof CommandError) {
      this.error(err.message);
      if (err.cause !== undefined) this.report(err.cause);
    } else if (err instanceof Error) {
      this.error(err.message);
    } else {
      this.error(String(err));
    }
  }

  /** The open connection, opened now if needed. */
  async conn(): Promise<Connect> {
    if (this.connection) return this.connection;
    const { Connect } = require('../connect') as typeof import('../connect');
    const uri = this.uri ?? (require('../util/uri') as typeof import('../util/uri')).defaultURI();
    try {
      this.connection = this.readOnly ? await Connect.openReadOnly(uri) : await Connect.open(uri);
    } catch (err) {
      throw new CommandError('failed to connect to the hypervisor', err);
    }
    return this.connection;
  }

  get connected(): boolean {
    return this.connection !== null;
  }

  /** Drops the current connection (the `connect` command and the end of a session). */
  async disconnect(): Promise<void> {
    const conn = this.connection;
    this.connection = null;
    if (conn) await conn.close().catch(() => undefined);
  }

  /** Runs commands in order; true when the last one succeeded. */
  async run(commands: ParsedCommand[]): Promise<boolean> {
    let ok = true;
    for (const cmd of commands) {
      ok = await this.runOne(cmd);
      if (this.quitRequested) break;
      if (!this.quiet) this.print('\n');
    }
    return ok;
  }

  private async runOne(cmd: ParsedCommand): Promise<boolean> {
    try {
      if (!cmd.def.noConnect) await this.conn();
      const module = loadModule(cmd.def.module);
      const handler = module[cmd.def.handler];
      await handler(this, cmd);
      return true;
    } catch (err) {
      this.report(err);
      return false;
    }
  }
}

function loadModule(name: string): Record<string, Handler> {
  switch (name) {
    case 'domain':
      return require('./commands/domain');
    case 'network':
      return require('./commands/network');
    case 'nodedev':
      return require('./commands/nodedev');
    case 'host':
      return require('./commands/host');
    default:
      return require('./commands/shell');
  }
}

/** Option accessors for handlers. */
export function optString(cmd: ParsedCommand, name: string): string | undefined {
  const v = cmd.opts.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function optBool(cmd: ParsedCommand, name: string): boolean {
  return cmd.opts.get(name) === true;
}

export function optList(cmd: ParsedCommand, name: string): string[] {
  const v = cmd.opts.get(name);
  return Array.isArray(v) ? v : [];
}

/** The XML, or with --xpath the nodes it selects, as virsh prints them. */
export function printXML(session: Session, cmd: ParsedCommand, xml: string, docName: string): void {
  const expr = optString(cmd, 'xpath');
  if (expr === undefined) return session.print(xml);
  const { parseXML } = require('../conf/xml') as typeof import('../conf/xml');
  const { formatXPath } = require('./xpath') as typeof import('./xpath');
  session.print(formatXPath(parseXML(xml, docName), expr, optBool(cmd, 'wrap')));
}
