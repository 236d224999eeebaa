// Queries against QEMU's QMP schema (query-qmp-schema), in the path syntax libvirt uses to key
// capabilities on it (qemu_qapi.c): "command/arg-type/member/+variant/^enumvalue", "cmd/$feature".
//
//   name        a member of the selected object (arrays are looked through)
//   *name       the same, but the member must be optional
//   +variant    the variant of a union selected by its tag value
//   ^value      true when the selected enum has that value
//   $feature    true when the selected entry lists that feature
// A component starting with a space has it removed and is then taken as a plain member name.

export interface QapiEntry {
  name: string;
  'meta-type': string;
  'arg-type'?: string;
  'ret-type'?: string;
  'element-type'?: string;
  members?: { name?: string; type?: string; default?: unknown }[];
  variants?: { case: string; type: string }[];
  values?: string[];
  features?: string[];
}

export type QapiSchema = Map<string, QapiEntry>;

export function qapiSchemaFromReply(reply: unknown): QapiSchema {
  if (!Array.isArray(reply)) throw new TypeError('query-qmp-schema reply is not an array');
  const schema: QapiSchema = new Map();
  for (const entry of reply as QapiEntry[]) schema.set(entry.name, entry);
  return schema;
}

function lookThroughArrays(schema: QapiSchema, entry: QapiEntry | undefined): QapiEntry | undefined {
  let current = entry;
  for (let guard = 0; current?.['meta-type'] === 'array' && guard < 16; guard++) {
    current = schema.get(current['element-type'] ?? '');
  }
  return current;
}

function step(schema: QapiSchema, start: QapiEntry, part: string): QapiEntry | undefined {
  const entry = lookThroughArrays(schema, start);
  if (!entry) return undefined;
  switch (entry['meta-type']) {
    case 'command':
    case 'event': {
      if (part !== 'arg-type' && part !== 'ret-type') return undefined;
      const type = entry[part];
      return type === undefined ? undefined : schema.get(type);
    }
    case 'object': {
      if (part.startsWith('+')) {
        const variant = entry.variants?.find((v) => v.case === part.slice(1));
        return variant ? schema.get(variant.type) : undefined;
      }
      const optionalOnly = part.startsWith('*');
      const name = optionalOnly ? part.slice(1) : part.startsWith(' ') ? part.slice(1) : part;
      const member = entry.members?.find((m) => m.name === name);
      if (!member || (optionalOnly && !('default' in member))) return undefined;
      return member.type === undefined ? undefined : schema.get(member.type);
    }
    case 'alternate':
      for (const member of entry.members ?? []) {
        const alt = member.type === undefined ? undefined : schema.get(member.type);
        const found = alt && step(schema, alt, part);
        if (found) return found;
      }
      return undefined;
    default:
      return undefined;
  }
}

function enumHas(schema: QapiSchema, start: QapiEntry, value: string): boolean {
  const entry = lookThroughArrays(schema, start);
  if (!entry) return false;
  if (entry['meta-type'] === 'enum') {
    return (entry.values ?? []).includes(value) || (entry.members ?? []).some((m) => m.name === value);
  }
  if (entry['meta-type'] === 'alternate') {
    return (entry.members ?? []).some((m) => {
      const alt = m.type === undefined ? undefined : schema.get(m.type);
      return alt !== undefined && enumHas(schema, alt, value);
    });
  }
  return false;
}

/** virQEMUQAPISchemaPathExists: whether the query matches the schema. */
export function qapiSchemaPathExists(query: string, schema: QapiSchema): boolean {
  const parts = query.split('/');
  let current = schema.get(parts[0]);
  if (!current) return false;
  for (const part of parts.slice(1)) {
    if (part.startsWith('$')) return (current.features ?? []).includes(part.slice(1));
    if (part.startsWith('^')) return enumHas(schema, current, part.slice(1));
    current = step(schema, current, part);
    if (!current) return false;
  }
  return true;
}
