// The interactive shell: virsh's banner and prompt with virtnode's name in place of virsh's
// (`virtnode # `, or `virtnode > ` on a read-only connection), line editing and history through
// Node's readline, history kept in $XDG_CACHE_HOME/virtnode/history (~/.cache/virtnode/history) as
// virsh keeps ~/.cache/virsh/history. `quit`, `exit` or end of input leave the shell.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { ParseError, parseLine } from './parse';
import { Session } from './session';

const HISTORY_SIZE = 500;

function historyFile(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'virtnode', 'history');
}

function loadHistory(file: string): string[] {
  try {
    // readline wants the newest entry first.
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse().slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

function saveHistory(file: string, history: string[]): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, `${[...history].reverse().join('\n')}\n`, { mode: 0o600 });
  } catch {
    // history is a convenience; a read-only home must not break the shell
  }
}

export interface ShellOptions {
  uri: string | null;
  readOnly: boolean;
  quiet: boolean;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WriteStream;
}

export async function interactive(options: ShellOptions): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  // readline owns the terminal streams here; command output goes through the same ones.
  const session = new Session({
    uri: options.uri,
    readOnly: options.readOnly,
    quiet: options.quiet,
    interactive: true,
    stdout: output,
    stderr: process.stderr,
  });
  if (!options.quiet) {
    output.write(
      "Welcome to virtnode, the virtualization interactive terminal.\n\nType:  'help' for help with commands\n       'quit' to quit\n\n",
    );
  }
  const file = historyFile();
  const terminal = Boolean((input as NodeJS.ReadStream).isTTY && output.isTTY);
  const rl = createInterface({ input, output, terminal, history: loadHistory(file), historySize: HISTORY_SIZE, removeHistoryDuplicates: false });
  const prompt = () => (session.readOnly ? 'virtnode > ' : 'virtnode # ');
  rl.setPrompt(prompt());
  rl.prompt();
  let status = 0;
  let ended = true;
  try {
    for await (const line of rl) {
      // Without a terminal nothing echoes what was read; virsh then prints it after the prompt.
      if (!terminal) output.write(`${line}\n`);
      if (line.trim() !== '') {
        try {
          const commands = parseLine(line);
          status = commands.length === 0 || (await session.run(commands)) ? 0 : 1;
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          session.error(err.message);
          status = 1;
        }
      }
      if (session.quitRequested) {
        ended = false;
        break;
      }
      rl.setPrompt(prompt());
      rl.prompt();
    }
  } finally {
    // Input ended (Ctrl-D): virsh moves to a fresh line before it leaves.
    if (ended) output.write('\n');
    if (terminal) saveHistory(file, (rl as unknown as { history: string[] }).history);
    rl.close();
    await session.disconnect();
  }
  return status;
}
