// A small, strict, non-validating XML parser and a writer for libvirt's output style.
//
// Why not a library: the parser must be safe on hostile input (no DTDs, no entity expansion beyond
// the five predefined ones and character references, bounded depth and size) and must report
// malformed documents the way libvirt reports libxml2's errors:
//   (domain_definition):1: Couldn't find end of Start Tag domain line 1
//   <domain
//   -------^
import { VIR_ERR_XML_DETAIL, VIR_ERR_XML_ERROR, VIR_FROM_XML, virError, VirError } from '../error';

export interface XmlText {
  text: string;
}

export interface XmlElement {
  name: string;
  /** In document order. */
  attrs: Map<string, string>;
  children: XmlNode[];
  /** 1-based line of the start tag. */
  line: number;
}

export type XmlNode = XmlElement | XmlText;

export const MAX_XML_BYTES = 10 * 1024 * 1024;
export const MAX_XML_DEPTH = 256;

export function isElement(node: XmlNode): node is XmlElement {
  return (node as XmlElement).name !== undefined;
}

/** First child element called `name`, like the XPath `./name`. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  for (const c of el.children) if (isElement(c) && c.name === name) return c;
  return undefined;
}

/** Every child element called `name` (or every child element when no name is given). */
export function children(el: XmlElement, name?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) if (isElement(c) && (name === undefined || c.name === name)) out.push(c);
  return out;
}

export function attr(el: XmlElement | undefined, name: string): string | undefined {
  return el?.attrs.get(name);
}

/** The concatenated text content of an element and its descendants, like XPath string(). */
export function textOf(el: XmlElement | undefined): string | undefined {
  if (!el) return undefined;
  const kids = el.children;
  // The common cases, no children or one text node, without walking.
  if (kids.length === 0) return '';
  if (kids.length === 1 && !isElement(kids[0])) return kids[0].text;
  return appendText('', el);
}

function appendText(s: string, el: XmlElement): string {
  for (const c of el.children) s = isElement(c) ? appendText(s, c) : s + c.text;
  return s;
}

/** Text of the child `name`, like XPath string(./name), or undefined when there is no such child. */
export function childText(el: XmlElement, name: string): string | undefined {
  return textOf(child(el, name));
}

class ParseFailure {
  constructor(
    readonly message: string,
    readonly pos: number,
    readonly code: number = VIR_ERR_XML_DETAIL,
  ) {}
}

// Name characters, tested on UTF-16 code units: [A-Za-z_:\u00C0-\uFFFF] to start,
// plus [0-9.\-\u00B7] after the first.
function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58 || c >= 0xc0;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57) || c === 46 || c === 45 || c === 0xb7;
}

/** Code units that end a fast text run: markup, references, CR, controls and surrogates. */
function endsTextRun(c: number): boolean {
  return c < 0x20 || c === 60 || c === 38 || c === 62 || (c >= 0xd800 && c <= 0xdfff) || c >= 0xfffe;
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

class Parser {
  private pos = 0;
  /** lineAt() resumes counting from the last position it was asked about. */
  private linePos = 0;
  private lineNo = 1;

  constructor(private readonly s: string) {}

  private fail(message: string, pos = this.pos, code?: number): never {
    throw new ParseFailure(message, pos, code);
  }

  private lineAt(pos: number): number {
    if (pos < this.linePos) {
      this.linePos = 0;
      this.lineNo = 1;
    }
    const end = Math.min(pos, this.s.length);
    let line = this.lineNo;
    for (let i = this.s.indexOf('\n', this.linePos); i >= 0 && i < end; i = this.s.indexOf('\n', i + 1)) line++;
    if (end >= this.linePos) {
      this.linePos = end;
      this.lineNo = line;
    }
    return line;
  }

  private skipBlanks(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c !== 32 && c !== 10 && c !== 9 && c !== 13) break;
      p++;
    }
    this.pos = p;
  }

  private startsWith(t: string): boolean {
    return this.s.startsWith(t, this.pos);
  }

  /** Comments, processing instructions and blanks allowed around the root element. */
  private skipMisc(allowDecl: boolean): void {
    for (;;) {
      this.skipBlanks();
      if (this.startsWith('<?')) {
        const end = this.s.indexOf('?>', this.pos + 2);
        if (end < 0) this.fail('ParsePI: PI xml space expected', this.s.length);
        const target = /^<\?([^\s?]+)/.exec(this.s.slice(this.pos, end + 2))?.[1] ?? '';
        if (target.toLowerCase() === 'xml' && !(allowDecl && this.pos === 0)) {
          this.fail('XML declaration allowed only at the start of the document');
        }
        this.pos = end + 2;
        allowDecl = false;
      } else if (this.startsWith('<!--')) {
        this.comment();
      } else if (this.startsWith('<!DOCTYPE')) {
        this.fail('DOCTYPE is not allowed: document type definitions are not processed', this.pos, VIR_ERR_XML_ERROR);
      } else {
        return;
      }
    }
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.pos + 4);
    if (end < 0) this.fail('Comment not terminated', this.s.length);
    this.pos = end + 3;
  }

  parseDocument(): XmlElement {
    if (this.s.length === 0) this.fail('Document is empty', -1);
    if (this.s.length > MAX_XML_BYTES) {
      this.fail(`document is larger than the ${MAX_XML_BYTES} byte limit`, 0, VIR_ERR_XML_ERROR);
    }
    this.skipMisc(true);
    if (this.pos >= this.s.length || this.s[this.pos] !== '<') this.fail("Start tag expected, '<' not found");
    const root = this.element(1);
    this.skipMisc(false);
    if (this.pos < this.s.length) this.fail('Extra content at the end of the document');
    return root;
  }

  private name(): string {
    const start = this.pos;
    if (this.pos >= this.s.length || !isNameStart(this.s.charCodeAt(this.pos))) return '';
    this.pos++;
    while (this.pos < this.s.length && isNameChar(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private element(depth: number): XmlElement {
    if (depth > MAX_XML_DEPTH) {
      this.fail(`Excessive depth in document: ${MAX_XML_DEPTH} use XML_PARSE_HUGE option`);
    }
    const tagStart = this.pos;
    const line = this.lineAt(tagStart);
    this.pos++; // '<'
    const name = this.name();
    if (name === '') this.fail('StartTag: invalid element name');
    const attrs = new Map<string, string>();
    for (;;) {
      const before = this.pos;
      this.skipBlanks();
      const hadBlank = this.pos > before;
      if (this.pos >= this.s.length) {
        this.fail(attrs.size > 0 ? 'attributes construct error' : `Couldn't find end of Start Tag ${name} line ${line}`);
      }
      const c = this.s.charCodeAt(this.pos);
      if (c === 62 /* > */ || c === 47 /* / */) break;
      if (!hadBlank) this.fail('attributes construct error');
      const attrName = this.name();
      if (attrName === '') this.fail('attributes construct error');
      this.skipBlanks();
      if (this.s.charCodeAt(this.pos) !== 61 /* = */) this.fail(`Specification mandates value for attribute ${attrName}`);
      this.pos++;
      this.skipBlanks();
      const value = this.attrValue();
      const count = attrs.size;
      // One hash lookup: a name already present leaves the size unchanged.
      if (attrs.set(attrName, value).size === count) this.fail(`Attribute ${attrName} redefined`);
    }
    const el: XmlElement = { name, attrs, children: [], line };
    if (this.s[this.pos] === '/') {
      if (this.s[this.pos + 1] !== '>') this.fail(`Couldn't find end of Start Tag ${name} line ${line}`, this.pos + 1);
      this.pos += 2;
      return el;
    }
    this.pos++; // '>'
    this.content(el, depth);
    // at '</'
    this.pos += 2;
    const endName = this.name();
    if (endName !== name) {
      this.skipBlanks();
      if (this.s[this.pos] === '>') this.pos++;
      this.fail(`Opening and ending tag mismatch: ${name} line ${line} and ${endName}`);
    }
    this.skipBlanks();
    if (this.s[this.pos] !== '>') this.fail("expected '>'");
    this.pos++;
    return el;
  }

  private content(el: XmlElement, depth: number): void {
    let text = '';
    for (;;) {
      if (this.pos >= this.s.length) {
        this.fail(`Premature end of data in tag ${el.name} line ${el.line}`);
      }
      const c = this.s[this.pos];
      if (c === '<') {
        // An end tag or a child element, by far the most common, are told by one code unit.
        const next = this.s.charCodeAt(this.pos + 1);
        if (next === 47 /* / */) {
          if (text !== '') el.children.push({ text });
          return;
        }
        if (next !== 33 /* ! */ && next !== 63 /* ? */) {
          if (text !== '') el.children.push({ text });
          text = '';
          el.children.push(this.element(depth + 1));
          continue;
        }
        if (this.startsWith('<!--')) {
          this.comment();
          continue;
        }
        if (this.startsWith('<![CDATA[')) {
          const end = this.s.indexOf(']]>', this.pos + 9);
          if (end < 0) this.fail('CData section not finished', this.s.length);
          text += this.s.slice(this.pos + 9, end);
          this.pos = end + 3;
          continue;
        }
        if (this.startsWith('<?')) {
          const end = this.s.indexOf('?>', this.pos + 2);
          if (end < 0) this.fail('PI not terminated', this.s.length);
          this.pos = end + 2;
          continue;
        }
        if (this.startsWith('<!')) {
          this.fail('DOCTYPE and other declarations are not allowed inside an element', this.pos, VIR_ERR_XML_ERROR);
        }
        if (text !== '') el.children.push({ text });
        text = '';
        el.children.push(this.element(depth + 1));
        continue;
      }
      if (c === '&') {
        text += this.reference();
        continue;
      }
      // Plain characters are taken as one slice; anything special goes through the checks below.
      // Tabs and line feeds stay in the slice (the indentation between elements): only CR needs
      // rewriting in content.
      let end = this.pos;
      for (; end < this.s.length; end++) {
        const u = this.s.charCodeAt(end);
        if (endsTextRun(u) && u !== 10 && u !== 9) break;
      }
      if (end > this.pos) {
        text += this.s.slice(this.pos, end);
        this.pos = end;
        continue;
      }
      const cp = this.s.codePointAt(this.pos)!;
      if (!isXmlChar(cp)) this.fail(`PCDATA invalid Char value ${cp}`);
      if (c === '>' && this.s.startsWith(']]>', this.pos - 2)) this.fail("Sequence ']]>' not allowed in content");
      const ch = String.fromCodePoint(cp);
      // Line ends are normalised to \n, as XML requires.
      if (ch === '\r') {
        text += '\n';
        this.pos += this.s[this.pos + 1] === '\n' ? 2 : 1;
        continue;
      }
      text += ch;
      this.pos += ch.length;
    }
  }

  private reference(): string {
    const start = this.pos;
    const semi = this.s.indexOf(';', start);
    if (semi < 0 || semi - start > 12) {
      this.pos++;
      this.fail('EntityRef: expecting \';\'');
    }
    const body = this.s.slice(start + 1, semi);
    this.pos = semi + 1;
    if (body.startsWith('#')) {
      const hex = body[1] === 'x';
      const digits = hex ? body.slice(2) : body.slice(1);
      if (digits === '' || !(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) {
        this.fail('xmlParseCharRef: invalid decimal value');
      }
      const cp = Number.parseInt(digits, hex ? 16 : 10);
      if (cp > 0x10ffff) this.fail('xmlParseCharRef: character reference out of bounds');
      if (!isXmlChar(cp)) this.fail(`xmlParseCharRef: invalid xmlChar value ${cp}`);
      return String.fromCodePoint(cp);
    }
    const value = PREDEFINED[body];
    if (value === undefined) this.fail(`Entity '${body}' not defined`);
    return value;
  }

  private attrValue(): string {
    const q = this.s[this.pos];
    if (q !== '"' && q !== "'") this.fail('AttValue: " or \' expected');
    this.pos++;
    let v = '';
    for (;;) {
      if (this.pos >= this.s.length) this.fail('AttValue: \' expected');
      const c = this.s[this.pos];
      if (c === q) {
        this.pos++;
        return v;
      }
      if (c === '<') this.fail("Unescaped '<' not allowed in attributes values");
      if (c === '&') {
        v += this.reference();
        continue;
      }
      let end = this.pos;
      while (end < this.s.length) {
        const u = this.s.charCodeAt(end);
        if (u === 39 || u === 34 || endsTextRun(u)) break;
        end++;
      }
      if (end > this.pos) {
        v += this.s.slice(this.pos, end);
        this.pos = end;
        continue;
      }
      const cp = this.s.codePointAt(this.pos)!;
      if (!isXmlChar(cp)) this.fail(`invalid character in attribute value`);
      // Attribute value normalisation: each white-space character becomes a space.
      if (c === '\r' && this.s[this.pos + 1] === '\n') this.pos++;
      v += c === '\t' || c === '\n' || c === '\r' ? ' ' : String.fromCodePoint(cp);
      this.pos += cp > 0xffff ? 2 : 1;
    }
  }

  /** libvirt's rendering of a libxml2 error: the line holding the position and a caret under it. */
  describe(failure: ParseFailure, docName: string): string {
    if (failure.pos < 0) return `${docName}:1: ${failure.message}\n(null)\n^`;
    let cur = Math.min(failure.pos, this.s.length);
    const at = (i: number): string => this.s[i] ?? '';
    while (cur > 0 && (at(cur) === '\n' || at(cur) === '\r')) cur--;
    let start = cur;
    while (start > 0 && at(start) !== '\n' && at(start) !== '\r') start--;
    if (at(start) === '\n' || at(start) === '\r') start++;
    let end = start;
    while (end < this.s.length && at(end) !== '\n' && at(end) !== '\r') end++;
    const line = this.lineAt(start);
    const column = Math.max(0, Math.min(failure.pos, this.s.length) - start);
    return `${docName}:${line}: ${failure.message}\n${this.s.slice(start, end)}\n${'-'.repeat(column)}^`;
  }
}

/**
 * Parses a whole document. `docName` is what libvirt calls the buffer in its messages, e.g.
 * '(domain_definition)'; `from` is the error domain of the caller (VIR_FROM_DOMAIN for domains).
 * Any input yields either the root element or a VirError.
 */
export function parseXML(text: string, docName: string, from: number = VIR_FROM_XML): XmlElement {
  if (typeof text !== 'string') throw virError(VIR_ERR_XML_ERROR, from, 'document is not a string');
  const parser = new Parser(text);
  try {
    return parser.parseDocument();
  } catch (err) {
    if (err instanceof ParseFailure) {
      if (err.code === VIR_ERR_XML_ERROR) throw virError(VIR_ERR_XML_ERROR, from, err.message);
      throw virError(VIR_ERR_XML_DETAIL, from, parser.describe(err, docName));
    }
    if (err instanceof VirError) throw err;
    // Stack exhaustion or the like on pathological input still ends as a VirError.
    throw virError(VIR_ERR_XML_ERROR, from, `unable to parse document: ${(err as Error).message}`);
  }
}

const NEEDS_ESCAPE = /[<>&"'\x00-\x08\x0b\x0c\x0e-\x1f]/;

/** libvirt's virBufferEscapeString for XML: markup characters escaped, other controls dropped. */
export function escapeXML(value: string): string {
  // Most values need nothing: skip the per-character walk for them.
  if (!NEEDS_ESCAPE.test(value)) return value;
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '<':
        out += '&lt;';
        break;
      case '>':
        out += '&gt;';
        break;
      case '&':
        out += '&amp;';
        break;
      case '"':
        out += '&quot;';
        break;
      case "'":
        out += '&apos;';
        break;
      default: {
        const cp = ch.codePointAt(0)!;
        if (cp >= 0x20 || ch === '\n' || ch === '\t' || ch === '\r') out += ch;
      }
    }
  }
  return out;
}

/** An attribute list in output order; undefined/null values are left out. */
export type Attrs = ReadonlyArray<readonly [string, string | number | undefined | null]>;

/** ` k='v'` for each set attribute. Numbers need no escaping. */
function formatAttrs(attrs: Attrs): string {
  let s = '';
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i];
    const v = a[1];
    if (v === undefined || v === null) continue;
    s += typeof v === 'number' ? ` ${a[0]}='${v}'` : ` ${a[0]}='${escapeXML(v)}'`;
  }
  return s;
}

/** A parsed element's attributes, in document order. */
function formatAttrMap(attrs: Map<string, string>): string {
  if (attrs.size === 0) return '';
  // forEach rather than for-of: iterating entries allocates a [key, value] pair per attribute.
  const acc = { s: '' };
  attrs.forEach(appendAttr, acc);
  return acc.s;
}

function appendAttr(this: { s: string }, value: string, name: string): void {
  this.s += ` ${name}='${escapeXML(value)}'`;
}

const PADS: readonly string[] = Array.from({ length: 16 }, (_, i) => '  '.repeat(i));

/**
 * Builds libvirt-style XML: two-space indentation, single-quoted attributes. Output accumulates in
 * one string (each line ends in a newline), which is what keeps formatting cheap.
 */
export class XmlWriter {
  private out = '';
  private depth: number;

  constructor(depth = 0) {
    this.depth = depth;
  }

  private pad(): string {
    return PADS[this.depth] ?? '  '.repeat(this.depth);
  }

  /** <name attrs> and one level deeper. */
  open(name: string, attrs?: Attrs): this {
    this.out += attrs ? `${this.pad()}<${name}${formatAttrs(attrs)}>\n` : `${this.pad()}<${name}>\n`;
    this.depth++;
    return this;
  }

  close(name: string): this {
    this.depth--;
    this.out += `${this.pad()}</${name}>\n`;
    return this;
  }

  /** <name attrs/> */
  empty(name: string, attrs?: Attrs): this {
    this.out += attrs ? `${this.pad()}<${name}${formatAttrs(attrs)}/>\n` : `${this.pad()}<${name}/>\n`;
    return this;
  }

  /** <name attrs>text</name>, skipped when text is undefined or null. */
  leaf(name: string, text: string | number | undefined | null, attrs?: Attrs): this {
    if (text === undefined || text === null) return this;
    const body = typeof text === 'number' ? text : escapeXML(text);
    this.out += attrs ? `${this.pad()}<${name}${formatAttrs(attrs)}>${body}</${name}>\n` : `${this.pad()}<${name}>${body}</${name}>\n`;
    return this;
  }

  /**
   * libvirt's virXMLFormatElement: <name attrs/> when body writes nothing, else the element with
   * body's output inside. Nothing at all when there are neither attributes nor children.
   * The open tag is written first and taken back when the body turns out empty.
   */
  element(name: string, attrs: Attrs | undefined, body?: (w: XmlWriter) => void, keepEmpty = false): this {
    const start = this.out.length;
    this.open(name, attrs);
    const afterOpen = this.out.length;
    body?.(this);
    if (this.out.length !== afterOpen) return this.close(name);
    this.depth--;
    this.out = this.out.slice(0, start);
    const hasAttrs = attrs !== undefined && attrs.some(([, v]) => v !== undefined && v !== null);
    if (hasAttrs || keepEmpty) this.empty(name, attrs);
    return this;
  }

  /** A parsed element written back (metadata, namespaced passthrough). */
  node(el: XmlElement): this {
    const kids = el.children;
    let text = '';
    let hasElements = false;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      if (isElement(c)) hasElements = true;
      else text += c.text;
    }
    const pad = this.pad();
    const attrs = formatAttrMap(el.attrs);
    if (!hasElements) {
      if (text.trim() === '') this.out += `${pad}<${el.name}${attrs}/>\n`;
      else this.out += `${pad}<${el.name}${attrs}>${escapeXML(text)}</${el.name}>\n`;
      return this;
    }
    this.out += `${pad}<${el.name}${attrs}>\n`;
    this.depth++;
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      if (isElement(c)) this.node(c);
    }
    return this.close(el.name);
  }

  /**
   * Text written as it is: whole lines, newline-terminated, already indented for where they go.
   * For callers that know their depth and write fixed lines in one piece.
   */
  append(text: string): this {
    this.out += text;
    return this;
  }

  /** One level deeper, after a start tag written with `append`. */
  indent(): this {
    this.depth++;
    return this;
  }

  /** One level back up, before an end tag written with `append` (`close` does both). */
  unindent(): this {
    this.depth--;
    return this;
  }

  /** Lines already formatted at this writer's depth. */
  raw(line: string): this {
    this.out += `${this.pad()}${line}\n`;
    return this;
  }

  get isEmpty(): boolean {
    return this.out.length === 0;
  }

  toString(): string {
    return this.out;
  }
}
