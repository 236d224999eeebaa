// `--xpath` for dumpxml, net-dumpxml and nodedev-dumpxml: the location-path subset of XPath that
// people use on libvirt XML (`/domain/devices/disk`, `//target/@dev`, `//disk[@device='cdrom']`,
// `/domain/name/text()`, `//interface[1]`), and the selected nodes printed the way virsh prints
// them (libxml2's node dump: double-quoted attributes, two-space indentation, ` name="value"`
// for attributes), optionally wrapped in `<nodes>`.
import type { XmlElement, XmlNode } from '../conf/xml';
import { CommandError } from './output';

type Selected = { kind: 'element'; el: XmlElement } | { kind: 'attr'; name: string; value: string } | { kind: 'text'; text: string };

interface Step {
  descendant: boolean;
  test: string;
  predicates: string[];
}

function invalid(expr: string): CommandError {
  return new CommandError(`internal error: Incorrect xpath '${expr}'`);
}

function parsePath(expr: string): { absolute: boolean; steps: Step[] } {
  let rest = expr.trim();
  const absolute = rest.startsWith('/');
  const steps: Step[] = [];
  let descendant = false;
  if (absolute) {
    if (rest.startsWith('//')) {
      descendant = true;
      rest = rest.slice(2);
    } else {
      rest = rest.slice(1);
    }
  }
  while (rest.length > 0) {
    const m = /^(@?[A-Za-z_*][\w.\-:*]*(?:\(\))?|\.\.|\.)/.exec(rest);
    if (!m) throw invalid(expr);
    const test = m[1];
    rest = rest.slice(test.length);
    const predicates: string[] = [];
    while (rest.startsWith('[')) {
      const end = rest.indexOf(']');
      if (end < 0) throw invalid(expr);
      predicates.push(rest.slice(1, end).trim());
      rest = rest.slice(end + 1);
    }
    if (test.endsWith('()') && test !== 'text()' && test !== 'node()') throw invalid(expr);
    steps.push({ descendant, test, predicates });
    descendant = false;
    if (rest.startsWith('//')) {
      descendant = true;
      rest = rest.slice(2);
    } else if (rest.startsWith('/')) {
      rest = rest.slice(1);
    } else if (rest.length > 0) {
      throw invalid(expr);
    }
    if (rest.length === 0 && (descendant || expr.trim().endsWith('/'))) throw invalid(expr);
  }
  if (steps.length === 0 && !absolute) throw invalid(expr);
  return { absolute, steps };
}

function elementsOf(nodes: XmlNode[]): XmlElement[] {
  return nodes.filter((n): n is XmlElement => 'name' in n);
}

function descendantsOrSelf(el: XmlElement, out: XmlElement[] = []): XmlElement[] {
  out.push(el);
  for (const c of elementsOf(el.children)) descendantsOrSelf(c, out);
  return out;
}

function textContent(el: XmlElement): string {
  return el.children.map((c) => ('name' in c ? textContent(c) : c.text)).join('');
}

function matchesPredicate(el: XmlElement, predicate: string, position: number, expr: string): boolean {
  if (/^\d+$/.test(predicate)) return position === Number(predicate);
  const m = /^([\w.\-:@/*]+?)(?:\s*(!?=)\s*(?:'([^']*)'|"([^"]*)"|([A-Za-z_][\w.\-:]*)))?$/.exec(predicate);
  if (!m) throw invalid(expr);
  const [, name, op, single, double, path] = m;
  const values = evaluate(parsePath(name).steps, [{ kind: 'element', el }], expr).map(stringValue);
  if (!op) return values.length > 0;
  // A bare name on the right is a child path: its elements' text values are compared.
  const wanted =
    path !== undefined
      ? elementsOf(el.children)
          .filter((c) => c.name === path)
          .map(textContent)
      : [single ?? double];
  return values.some((v) => wanted.some((w) => (op === '=' ? v === w : v !== w)));
}

/** The nodes `expr` selects in the document, in document order. */
export function selectNodes(root: XmlElement, expr: string): Selected[] {
  const { absolute, steps } = parsePath(expr);
  // Absolute paths start at the document node, which holds the root element; relative ones at
  // the root element, as virsh sets the XPath context.
  const documentNode: XmlElement = { name: '#document', attrs: new Map(), children: [root], line: 0 };
  return evaluate(steps, [{ kind: 'element', el: absolute ? documentNode : root }], expr);
}

function stringValue(n: Selected): string {
  return n.kind === 'attr' ? n.value : n.kind === 'text' ? n.text : textContent(n.el);
}

function evaluate(steps: Step[], start: Selected[], expr: string): Selected[] {
  let context = start;
  for (const step of steps) {
    const next: Selected[] = [];
    for (const item of context) {
      if (item.kind !== 'element') continue;
      const bases = step.descendant ? descendantsOrSelf(item.el) : [item.el];
      if (step.test.startsWith('@')) {
        const name = step.test.slice(1);
        for (const base of bases) {
          for (const [k, v] of base.attrs) if (name === '*' || name === k) next.push({ kind: 'attr', name: k, value: v });
        }
        continue;
      }
      if (step.test === 'text()') {
        for (const base of bases) for (const c of base.children) if (!('name' in c)) next.push({ kind: 'text', text: c.text });
        continue;
      }
      if (step.test === '.') {
        for (const base of bases) next.push({ kind: 'element', el: base });
        continue;
      }
      if (step.test === '..') throw invalid(expr);
      for (const base of bases) {
        const candidates = elementsOf(base.children).filter((c) => step.test === '*' || step.test === 'node()' || c.name === step.test);
        const kept = candidates.filter((c, i) => step.predicates.every((p) => matchesPredicate(c, p, i + 1, expr)));
        for (const el of kept) next.push({ kind: 'element', el });
      }
    }
    // several bases can reach one node through `//`: keep each once
    context = next.filter((n, i) => n.kind !== 'element' || next.findIndex((m) => m.kind === 'element' && m.el === n.el) === i);
  }
  return context;
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function attrText(attrs: Iterable<[string, string]>): string {
  let s = '';
  for (const [k, v] of attrs) s += ` ${k}="${escapeAttr(v)}"`;
  return s;
}

/** libxml2's formatted dump of an element, blanks between elements dropped. */
export function dumpElement(el: XmlElement, indent = ''): string {
  const children = el.children.filter((c) => 'name' in c || c.text.trim() !== '');
  const open = `${indent}<${el.name}${attrText(el.attrs)}`;
  if (children.length === 0) return `${open}/>`;
  if (children.every((c) => !('name' in c))) return `${open}>${escapeText(children.map((c) => (c as { text: string }).text).join(''))}</${el.name}>`;
  const inner = children.map((c) => ('name' in c ? dumpElement(c, `${indent}  `) : `${indent}  ${escapeText(c.text)}`));
  return `${open}>\n${inner.join('\n')}\n${indent}</${el.name}>`;
}

/** What virsh prints for `--xpath expr [--wrap]` on this document. */
export function formatXPath(root: XmlElement, expr: string, wrap: boolean): string {
  const nodes = selectNodes(root, expr);
  const dump = (n: Selected, indent: string) =>
    n.kind === 'element' ? dumpElement(n.el, indent) : n.kind === 'attr' ? ` ${n.name}="${escapeAttr(n.value)}"` : escapeText(n.text);
  if (!wrap) return nodes.map((n) => `${dump(n, '')}\n`).join('');
  const attrs = new Map<string, string>();
  const inner: string[] = [];
  for (const n of nodes) {
    if (n.kind === 'attr') attrs.set(n.name, n.value);
    else inner.push(n.kind === 'element' ? dumpElement(n.el, '  ') : `  ${escapeText(n.text)}`);
  }
  if (inner.length === 0) return `<nodes${attrText(attrs)}/>\n`;
  return `<nodes${attrText(attrs)}>\n${inner.join('\n')}\n</nodes>\n`;
}
