// A command to run: environment and argv, rendered the way libvirt 9.0 writes it into test
// `.args` files, domain log files and `virsh domxml-to-native` output (virCommandToStringBuf).
import { VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, virError } from '../error';

/** Characters that make libvirt wrap a word in single quotes (virBufferEscapeShell). */
const SHELL_SPECIAL = /[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/;

/**
 * virBufferEscapeShell: the empty string becomes `''`; a word holding any shell-special
 * character is wrapped in single quotes, an embedded `'` becoming `'\''`; anything else is
 * written as it is.
 */
export function shellEscape(word: string): string {
  if (word === '') return "''";
  if (!SHELL_SPECIAL.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
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

    const isOption = (arg: string): boolean => arg.startsWith('-');
    // optionFollows[i]: whether any argument at index >= i is an option.
    const optionFollows: boolean[] = new Array(this.args.length + 1).fill(false);
    for (let i = this.args.length - 1; i >= 0; i--) {
      optionFollows[i] = optionFollows[i + 1] || isOption(this.args[i]);
    }
    let hadOption = false;
    for (let i = 0; i < this.args.length; i++) {
      const arg = this.args[i];
      out += ' ';
      if (linebreaks) {
        let linebreak = true;
        if (isOption(arg)) {
          hadOption = true;
        } else if (hadOption && i > 0 && optionFollows[i - 1]) {
          linebreak = false;
        }
        if (linebreak) out += '\\\n';
      }
      out += shellEscape(arg);
    }
    return out;
  }
}
