// Turning command lines into parsed commands the way virsh does: one string is split into words
// (quotes, backslashes, `#` comments) and `;`/newline-separated commands; several argv words are
// taken as one command, word by word. A whole line is parsed before any of it runs, so a syntax
// error anywhere runs nothing.
import { type CmdDef, type OptDef, findCommand } from './defs';

export class ParseError extends Error {}

export interface ParsedCommand {
  def: CmdDef;
  /** Option values by name: `true` for bool options, strings otherwise, string[] for argv. */
  opts: Map<string, string | true | string[]>;
}

type Token = { kind: 'arg'; text: string } | { kind: 'end' };

/** Splits one virsh command string into words and command separators. */
export function tokenizeString(line: string): Token[] {
  const tokens: Token[] = [];
  let p = 0;
  const n = line.length;
  for (;;) {
    while (p < n && (line[p] === ' ' || line[p] === '\t' || (line[p] === '\\' && line[p + 1] === '\n'))) {
      p += line[p] === '\\' ? 2 : 1;
    }
    if (p >= n) return tokens;
    const c = line[p];
    if (c === ';' || c === '\n') {
      tokens.push({ kind: 'end' });
      p++;
      continue;
    }
    if (c === '#') {
      while (p < n && line[p] !== '\n') p++;
      if (p < n) p++;
      tokens.push({ kind: 'end' });
      continue;
    }
    let word = '';
    let single = false;
    let double = false;
    while (p < n) {
      const ch = line[p];
      if (!single && !double && (ch === ' ' || ch === '\t' || ch === ';' || ch === '\n')) break;
      if (!double && ch === "'") {
        single = !single;
        p++;
        continue;
      }
      if (!single && ch === '\\') {
        p++;
        if (p >= n) throw new ParseError('dangling \\');
        if (line[p] === '\n') {
          p++;
          continue;
        }
      } else if (!single && ch === '"') {
        double = !double;
        p++;
        continue;
      }
      word += line[p++];
    }
    if (double) throw new ParseError('missing "');
    tokens.push({ kind: 'arg', text: word });
  }
}

/** Parses a token stream into commands; throws ParseError with virsh's message. */
export function parseTokens(tokens: Token[]): ParsedCommand[] {
  const commands: ParsedCommand[] = [];
  let i = 0;
  while (i < tokens.length) {
    const first = tokens[i];
    if (first.kind === 'end') {
      i++;
      continue;
    }
    const def = findCommand(first.text);
    if (!def) throw new ParseError(`unknown command: '${first.text}'`);
    i++;
    const opts = new Map<string, string | true | string[]>();
    const seen = new Set<string>();
    // Options that may still take a positional word, in definition order.
    const positional = def.opts.filter((o) => o.type !== 'bool' && !o.namedOnly);
    let dataOnly = false;
    while (i < tokens.length && tokens[i].kind === 'arg') {
      const text = (tokens[i] as { text: string }).text;
      i++;
      if (!dataOnly && text.startsWith('--') && text.length > 2) {
        let name = text.slice(2);
        let value: string | undefined;
        const eq = name.indexOf('=');
        if (eq >= 0) {
          value = name.slice(eq + 1);
          name = name.slice(0, eq);
        }
        const opt = def.opts.find((o) => o.name === name);
        if (!opt) {
          if (name === 'help') return [helpFor(def.name)];
          throw new ParseError(`command '${def.name}' doesn't support option --${name}`);
        }
        if (seen.has(name) && opt.type !== 'argv') throw new ParseError(`option --${name} already seen`);
        seen.add(name);
        removePositional(positional, opt);
        if (opt.type === 'bool') {
          if (value !== undefined) throw new ParseError(`invalid '=' after option --${name}`);
          opts.set(name, true);
          continue;
        }
        if (value === undefined) {
          const next = tokens[i];
          if (!next || next.kind !== 'arg') {
            throw new ParseError(`expected syntax: --${name} <${opt.type === 'int' ? 'number' : 'string'}>`);
          }
          value = next.text;
          i++;
        }
        setValue(opts, opt, value);
        continue;
      }
      if (!dataOnly && text === '--') {
        dataOnly = true;
        continue;
      }
      const opt = positional[0];
      if (!opt) throw new ParseError(`unexpected data '${text}'`);
      if (opt.type !== 'argv') positional.shift();
      seen.add(opt.name);
      setValue(opts, opt, text);
    }
    checkRequired(def, opts);
    commands.push({ def, opts });
  }
  return commands;
}

function removePositional(positional: OptDef[], opt: OptDef): void {
  const at = positional.indexOf(opt);
  if (at >= 0 && opt.type !== 'argv') positional.splice(at, 1);
}

function setValue(opts: ParsedCommand['opts'], opt: OptDef, value: string): void {
  if (opt.type === 'argv') {
    const list = (opts.get(opt.name) as string[] | undefined) ?? [];
    list.push(value);
    opts.set(opt.name, list);
  } else {
    opts.set(opt.name, value);
  }
}

function checkRequired(def: CmdDef, opts: ParsedCommand['opts']): void {
  for (const opt of def.opts) {
    if (!opt.required || opts.has(opt.name)) continue;
    if (opt.namedOnly) throw new ParseError(`command '${def.name}' requires --${opt.name} option`);
    throw new ParseError(`command '${def.name}' requires <${opt.name}> option`);
  }
}

/** `cmd --help` runs `help cmd`. */
function helpFor(name: string): ParsedCommand {
  const def = findCommand('help') as CmdDef;
  return { def, opts: new Map([['command', name]]) };
}

/** One command line string (shell input, or the single argument after the global options). */
export function parseLine(line: string): ParsedCommand[] {
  return parseTokens(tokenizeString(line));
}

/** Several argv words: one command, each word one token, `;` has no special meaning. */
export function parseArgv(words: string[]): ParsedCommand[] {
  return parseTokens(words.map((text) => ({ kind: 'arg', text })));
}
