// A command to run: environment and argv, rendered the way libvirt 9.0 writes it into test
// `.args` files, domain log files and `virsh domxml-to-native` output (virCommandToStringBuf).
import { VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, virError } from '../error';

/** Characters that make libvirt wrap a word in single quotes (virBufferEscapeShell), by code unit. */
const SHELL_SPECIAL = new Uint8Array(128);
for (const c of '\r\t\n !"#$&\'()*;<>?[\\]^`{|}~') SHELL_SPECIAL[c.charCodeAt(0)] = 1;

/**
 * virBufferEscapeShell: the empty string becomes `''`; a word holding any shell-special
 * character is wrapped in single quotes, an embedded `'` becoming `'\''`; anything else is
 * written as it is.
 */
export function shellEscape(word: string): string {
  if (word === '') return "''";
  // A table walk: cheaper than a regular expression over the hundred-odd words of a command line.
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c < 128 && SHELL_SPECIAL[c] === 1) return `'${word.replace(/'/g, "'\\''")}'`;
  }
  return word;
}

function isOption(arg: string): boolean {
  return arg.charCodeAt(0) === 45 /* - */;
}

export interface CommandToStringOptions {
  /** One env var per line, then the binary, then each option with its values: ` \` joins lines. */
  linebreaks?: boolean;
  /** Write only the binary's base name (libvirt's stripCommandPath). */
  stripCommandPath?: boolean;
}

export class Command {
  /** Environment entries in insertion order, as [name, value]. */
  readonly env: [string, string][] = [];
  /** Arguments after the binary. */
  readonly args: string[] = [];

  constructor(public binary: string) {}

  addEnv(name: string, value: string): this {
    this.env.push([name, value]);
    return this;
  }

  addArgs(...args: string[]): this {
    this.args.push(...args);
    return this;
  }

  /** The argv a process would be spawned with (binary first). */
  argv(): string[] {
    return [this.binary, ...this.args];
  }

  /**
   * virCommandToStringBuf. With line breaks, an argument starting with `-` begins a new line;
   * a value stays on its option's line as long as some option still follows it, so values
   * after the last option get a line each except the first.
   */
  toString(options: CommandToStringOptions = {}): string {
    const linebreaks = options.linebreaks ?? false;
    let out = '';
    for (const [name, value] of this.env) {
      if (name === '' || name.includes('=')) {
        throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'invalid use of command API');
      }
      out += `${name}=${shellEscape(value)} `;
      if (linebreaks) out += '\\\n';
    }
    const program = options.stripCommandPath ? this.binary.slice(this.binary.lastIndexOf('/') + 1) : this.binary;
    out += shellEscape(program);

    const args = this.args;
    if (!linebreaks) {
      for (let i = 0; i < args.length; i++) out += ' ' + shellEscape(args[i]);
      return out;
    }
    // Some option follows index i exactly when i <= lastOption.
    let lastOption = args.length - 1;
    while (lastOption >= 0 && !isOption(args[lastOption])) lastOption--;
    let hadOption = false;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      let linebreak = true;
      if (isOption(arg)) {
        hadOption = true;
      } else if (hadOption && i > 0 && i - 1 <= lastOption) {
        linebreak = false;
      }
      out += linebreak ? ' \\\n' : ' ';
      out += shellEscape(arg);
    }
    return out;
  }
}
