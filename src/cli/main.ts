// virtnode's command line: `virtnode [OPTIONS] [COMMAND_STRING]`, `virtnode [OPTIONS] COMMAND [ARGS]`,
// or `virtnode [OPTIONS]` alone for the interactive shell. Global options are virsh's (getopt
// "+:c:d:e:hk:K:l:qrtvV"): they stop at the first word that is not an option.
//
// Startup cost matters (`virtnode list` should cost little more than starting Node), so this file
// loads only the parser and the session; a command's module, the connection's driver and the XML
// code load when a command needs them.
import { type ParsedCommand, ParseError, parseArgv, parseLine } from './parse';
import { Session } from './session';

interface GlobalOptions {
  uri: string | null;
  readOnly: boolean;
  quiet: boolean;
  rest: string[];
}

const WITH_ARG: Record<string, string> = { c: 'connect', d: 'debug', e: 'escape', k: 'keepalive-interval', K: 'keepalive-count', l: 'log' };
const LONG_WITH_ARG = new Set(Object.values(WITH_ARG));
const FLAGS: Record<string, string> = { h: 'help', q: 'quiet', r: 'readonly', t: 'timing', v: 'version', V: 'version-long' };

class UsageError extends Error {}

/** What an option asks for before any command runs. */
type Early = { kind: 'help' } | { kind: 'version'; long: boolean };

function parseGlobal(argv: string[]): GlobalOptions | Early {
  const opts: GlobalOptions = { uri: null, readOnly: false, quiet: false, rest: [] };
  let i = 0;
  const apply = (name: string, value?: string): Early | undefined => {
    switch (name) {
      case 'connect':
        opts.uri = value as string;
        return undefined;
      case 'readonly':
        opts.readOnly = true;
        return undefined;
      case 'quiet':
        opts.quiet = true;
        return undefined;
      case 'help':
        return { kind: 'help' };
      case 'version':
        if (value !== undefined && value !== 'short' && value !== 'long') {
          throw new UsageError(`unknown version type '${value}'`);
        }
        return { kind: 'version', long: value === 'long' };
      case 'version-long':
        return { kind: 'version', long: true };
      default:
        // --debug, --log, --escape, --keepalive-*, --timing: accepted, no effect here.
        return undefined;
    }
  };
  while (i < argv.length) {
    const word = argv[i];
    if (word === '--') {
      i++;
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq >= 0 ? word.slice(2, eq) : word.slice(2);
      let value = eq >= 0 ? word.slice(eq + 1) : undefined;
      const known = LONG_WITH_ARG.has(name) || ['help', 'quiet', 'readonly', 'timing', 'version'].includes(name);
      if (!known) throw new UsageError(`unsupported option '${word}'. See --help.`);
      if (LONG_WITH_ARG.has(name) && value === undefined) {
        if (i + 1 >= argv.length) {
          const short = Object.keys(WITH_ARG).find((k) => WITH_ARG[k] === name);
          throw new UsageError(`option '-${short}'/'--${name}' requires an argument`);
        }
        value = argv[++i];
      }
      i++;
      const early = apply(name, value);
      if (early) return early;
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      for (let j = 1; j < word.length; j++) {
        const letter = word[j];
        if (WITH_ARG[letter]) {
          let value = word.slice(j + 1);
          if (value === '') {
            if (i + 1 >= argv.length) throw new UsageError(`option '-${letter}'/'--${WITH_ARG[letter]}' requires an argument`);
            value = argv[++i];
          }
          const early = apply(WITH_ARG[letter], value);
          if (early) return early;
          break;
        }
        if (!FLAGS[letter]) throw new UsageError(`unsupported option '-${letter}'. See --help.`);
        const early = apply(FLAGS[letter]);
        if (early) return early;
      }
      i++;
      continue;
    }
    break;
  }
  opts.rest = argv.slice(i);
  return opts;
}

function usage(): string {
  return `
virtnode [options]... [<command_string>]
virtnode [options]... <command> [args...]

  options:
    -c | --connect=URI      hypervisor connection URI
    -d | --debug=NUM        debug level [0-4] (accepted, ignored)
    -e | --escape <char>    set escape sequence for console (accepted, ignored)
    -h | --help             this help
    -k | --keepalive-interval=NUM
                            keepalive interval in seconds (accepted, ignored)
    -K | --keepalive-count=NUM
                            number of possible missed keepalive messages (accepted, ignored)
    -l | --log=FILE         output logging to file (accepted, ignored)
    -q | --quiet            quiet mode
    -r | --readonly         connect readonly
    -t | --timing           print timing information (accepted, ignored)
    -v                      short version
    -V                      long version
         --version[=TYPE]   version, TYPE is short or long (default short)

  Without -c the URI is $VIRTNODE_DEFAULT_URI, else $LIBVIRT_DEFAULT_URI, else qemu:///session
  (qemu:///system for root) when QEMU is installed, else test:///default.

  Listing and information commands (list, dominfo, domstate, domiflist, domblklist, net-list,
  net-info, nodedev-list, nodeinfo, freecell, version) also take --json for machine-readable
  output.

  commands (non interactive mode):

`;
}

async function versionText(long: boolean): Promise<string> {
  const { packageVersion } = require('../version') as typeof import('../version');
  if (!long) return `${packageVersion()}\n`;
  return `Virtnode command line tool of virtnode ${packageVersion()}\nSee web site at https://libvirt.org/ for the API it implements\n\nDrivers: test, qemu\n`;
}

/** Runs the command line; resolves to the process exit status. */
export async function run(argv: string[]): Promise<number> {
  let parsed: GlobalOptions | Early;
  try {
    parsed = parseGlobal(argv);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
  if ('kind' in parsed) {
    if (parsed.kind === 'version') {
      process.stdout.write(await versionText(parsed.long));
      return 0;
    }
    const { help } = require('./commands/shell') as typeof import('./commands/shell');
    const session = new Session({ uri: null, readOnly: false, quiet: false, interactive: false });
    process.stdout.write(usage());
    await help(session, { def: require('./defs').findCommand('help'), opts: new Map() });
    return 0;
  }
  const options = parsed;
  if (options.rest.length === 0) {
    const { interactive } = require('./repl') as typeof import('./repl');
    return interactive({ uri: options.uri, readOnly: options.readOnly, quiet: options.quiet });
  }
  const session = new Session({ uri: options.uri, readOnly: options.readOnly, quiet: options.quiet, interactive: false });
  let commands: ParsedCommand[];
  try {
    commands = options.rest.length === 1 ? parseLine(options.rest[0]) : parseArgv(options.rest);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    session.error(err.message);
    return 1;
  }
  if (commands.length === 0) return 1;
  try {
    const ok = await session.run(commands);
    return ok ? 0 : 1;
  } finally {
    await session.disconnect();
  }
}

/** Entry point of bin/virtnode.js. */
export function main(argv: string[] = process.argv.slice(2)): void {
  run(argv).then(
    (status) => {
      process.exitCode = status;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
