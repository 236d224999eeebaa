// A small POSIX shell word splitter for reading libvirt's `.args` files back into env + argv:
// backslash-newline continuations, single quotes, double quotes and backslash escapes.

export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      const next = text[i + 1];
      i++;
      if (next === '\n') continue;
      if (next === undefined) throw new Error('trailing backslash');
      word += next;
      inWord = true;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote');
      word += text.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      for (; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && '$`"\\\n'.includes(text[i + 1])) i++;
        word += text[i];
      }
      if (i >= text.length) throw new Error('unterminated double quote');
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Leading NAME=value words are the environment; the next word is the binary. */
export function splitEnvAndArgv(words: string[]): { env: [string, string][]; argv: string[] } {
  const env: [string, string][] = [];
  let i = 0;
  for (; i < words.length; i++) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(words[i]);
    if (!m) break;
    env.push([m[1], words[i].slice(m[0].length)]);
  }
  return { env, argv: words.slice(i) };
}
