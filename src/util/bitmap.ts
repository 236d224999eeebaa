// CPU and NUMA node sets as libvirt writes them (virBitmapParse / virBitmapFormat):
// '0-3,^2,8' is the set {0,1,3,8}, written back as '0-1,3,8'.

/** The members of a set in libvirt's syntax, or null when it does not parse. */
export function parseBitmap(text: string): number[] | null {
  const set = new Set<number>();
  const items = text.split(',');
  for (const raw of items) {
    const item = raw.trim();
    if (item === '') return null;
    if (item.startsWith('^')) {
      if (!/^\^[0-9]+$/.test(item)) return null;
      set.delete(Number(item.slice(1)));
      continue;
    }
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(item);
    if (!m) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 65536) return null;
    for (let i = lo; i <= hi; i++) set.add(i);
  }
  return [...set].sort((a, b) => a - b);
}

/** virBitmapFormat: ascending ranges. */
export function formatBitmap(members: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < members.length; ) {
    let j = i;
    while (j + 1 < members.length && members[j + 1] === members[j] + 1) j++;
    out.push(j === i ? String(members[i]) : `${members[i]}-${members[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** The canonical spelling of a set, or the text unchanged when it does not parse. */
export function canonicalBitmap(text: string): string {
  const members = parseBitmap(text);
  return members === null || members.length === 0 ? text : formatBitmap(members);
}
