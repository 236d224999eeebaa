// The shell's own commands (virsh's "Virsh itself" group): help, quit, exit, echo, cd, pwd, connect.
import { COMMANDS, type CmdDef, GROUP_TITLES, findCommand } from '../defs';
import type { ParsedCommand } from '../parse';
import { CommandError } from '../output';
import { type Session, optBool, optList, optString } from '../session';
import { strerror } from './lookup';

/** Commands of a group in `help` order: alphabetical, except the shell's own in definition order. */
function groupCommands(group: string): CmdDef[] {
  const defs = COMMANDS.filter((c) => c.group === group);
  return group === 'virsh' ? defs : [...defs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function groupHelp(group: string, title: string): string {
  let text = ` ${title} (help keyword '${group}'):\n`;
  for (const def of groupCommands(group)) text += `    ${def.name.padEnd(30)} ${def.help}\n`;
  return text;
}

/** vshCmddefHelp's layout: NAME, SYNOPSIS, DESCRIPTION (when there is one), OPTIONS. */
export function commandHelp(def: CmdDef): string {
  const opts = def.opts.filter((o) => !o.hidden);
  let shortopt = false;
  let synopsis = `    ${def.name}`;
  for (const opt of opts) {
    let item: string;
    switch (opt.type) {
      case 'bool':
        item = `[--${opt.name}]`;
        break;
      case 'int':
        item = opt.required ? `<${opt.name}>` : `[--${opt.name} <number>]`;
        if (!opt.namedOnly) shortopt = true;
        break;
      case 'string':
        item = `[--${opt.name} <string>]`;
        if (!opt.namedOnly) shortopt = true;
        break;
      case 'data':
        item = opt.required ? `<${opt.name}>` : `[<${opt.name}>]`;
        if (!opt.namedOnly) shortopt = true;
        break;
      case 'argv':
        if (shortopt) item = opt.required ? `{[--${opt.name}] <string>}...` : `[[--${opt.name}] <string>]...`;
        else item = opt.required ? `<${opt.name}>...` : `[<${opt.name}>]...`;
        break;
    }
    synopsis += ` ${item}`;
  }
  let text = `  NAME\n    ${def.name} - ${def.help}\n\n  SYNOPSIS\n${synopsis}\n`;
  if (def.desc) text += `\n  DESCRIPTION\n    ${def.desc}\n`;
  if (opts.length > 0) {
    text += '\n  OPTIONS\n';
    for (const opt of opts) {
      let label: string;
      switch (opt.type) {
        case 'bool':
          label = `--${opt.name}`;
          break;
        case 'int':
          label = opt.required ? `[--${opt.name}] <number>` : `--${opt.name} <number>`;
          break;
        case 'string':
          label = `--${opt.name} <string>`;
          break;
        case 'data':
          label = `[--${opt.name}] <string>`;
          break;
        case 'argv':
          label = shortopt ? `[--${opt.name}] <string>` : `<${opt.name}>`;
          break;
      }
      text += `    ${label.padEnd(15)}  ${opt.help}\n`;
    }
  }
  return `${text}\n`;
}

export async function help(session: Session, cmd: ParsedCommand): Promise<void> {
  const topic = optString(cmd, 'command');
  if (topic === undefined) {
    let text = 'Grouped commands:\n\n';
    for (const [group, title] of GROUP_TITLES) text += `${groupHelp(group, title)}\n`;
    session.print(text);
    return;
  }
  // The shell's own group keeps virsh's keyword and title (scripts grep for them); `virtnode` names it too.
  const group = GROUP_TITLES.find(([g]) => g === (topic === 'virtnode' ? 'virsh' : topic));
  if (group) return session.print(groupHelp(group[0], group[1]));
  const def = findCommand(topic);
  if (!def) throw new CommandError(`command or command group '${topic}' doesn't exist`);
  session.print(commandHelp(def));
}

export async function quit(session: Session): Promise<void> {
  session.quitRequested = true;
}

export const exit = quit;

/** virBufferEscapeShell: words with shell metacharacters are single-quoted. */
function shellQuote(word: string): string {
  if (word !== '' && !/[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
}

function xmlEscape(word: string): string {
  return word.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** `--split`: each argument split on ',', with ',,' standing for a literal comma. */
function splitCommas(word: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < word.length; i++) {
    if (word[i] === ',' && word[i + 1] === ',') {
      current += ',';
      i++;
    } else if (word[i] === ',') {
      parts.push(current);
      current = '';
    } else {
      current += word[i];
    }
  }
  parts.push(current);
  return parts;
}

export async function echo(session: Session, cmd: ParsedCommand): Promise<void> {
  let words = optList(cmd, 'string');
  if (optBool(cmd, 'split')) words = words.flatMap(splitCommas);
  if (optBool(cmd, 'xml')) words = words.map(xmlEscape);
  if (optBool(cmd, 'shell')) words = words.map(shellQuote);
  const text = words.join(' ');
  if (optBool(cmd, 'err')) session.error(text);
  else session.print(text);
}

export async function cd(session: Session, cmd: ParsedCommand): Promise<void> {
  if (!session.interactive) throw new CommandError('cd: command valid only in interactive mode');
  const dir = optString(cmd, 'dir') ?? process.env.HOME ?? '/';
  try {
    process.chdir(dir);
  } catch (err) {
    throw new CommandError(`Cannot chdir to ${dir}: ${strerror(err as NodeJS.ErrnoException)}`);
  }
}

export async function pwd(session: Session): Promise<void> {
  session.print(`${process.cwd()}\n`);
}

export async function connect(session: Session, cmd: ParsedCommand): Promise<void> {
  const name = optString(cmd, 'name');
  await session.disconnect();
  if (name !== undefined) session.uri = name;
  session.readOnly = optBool(cmd, 'readonly');
  await session.conn();
}
