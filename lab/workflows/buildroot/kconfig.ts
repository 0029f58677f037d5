/** A Kconfig `.config` (Buildroot's or the kernel's): `KEY=value` and `# KEY is not set`. */
export type Kconfig = Map<string, string | boolean>;

export function parseKconfig(text: string): Kconfig {
  const out: Kconfig = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const unset = /^# (\w+) is not set$/.exec(line);
    if (unset) {
      out.set(unset[1]!, false);
      continue;
    }
    const m = /^(\w+)=(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!;
    if (v === 'y') out.set(m[1]!, true);
    else if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) out.set(m[1]!, v.slice(1, -1).replace(/\\(["\\])/g, '$1'));
    else out.set(m[1]!, v);
  }
  return out;
}

export const isSet = (c: Kconfig, key: string): boolean => c.get(key) === true;

export function stringOf(c: Kconfig, key: string): string | undefined {
  const v = c.get(key);
  return typeof v === 'string' && v.length ? v : undefined;
}
