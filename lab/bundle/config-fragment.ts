import { LabError } from '../util/errors.ts';

/** One `NAME=value` line of a Kconfig fragment; value "n" means "is not set". */
export interface ConfigSetting {
  name: string;
  value: string;
  /** file:line it came from, for error messages. */
  origin: string;
}

export function parseFragment(file: string, text: string): ConfigSetting[] {
  const settings: ConfigSetting[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!m) {
      throw new LabError(`${file}:${i + 1}: not a config line: "${line}"`, { fix: 'write NAME=value (use NAME=n to unset)' });
    }
    settings.push({ name: m[1]!, value: m[2]!, origin: `${file}:${i + 1}` });
  });
  return settings;
}

/** One setting per name, the later one winning (a target's settings override its board's fragment). */
export function lastWins(settings: ConfigSetting[]): ConfigSetting[] {
  const byName = new Map<string, ConfigSetting>();
  for (const s of settings) {
    byName.delete(s.name);
    byName.set(s.name, s);
  }
  return [...byName.values()];
}

/** Appends settings to a .config text (later lines win in Kconfig). */
export function applyFragment(config: string, settings: ConfigSetting[]): string {
  const lines = settings.map((s) => (s.value === 'n' ? `# ${s.name} is not set` : `${s.name}=${s.value}`));
  return `${config.trimEnd()}\n${lines.join('\n')}\n`;
}

/**
 * Puts settings into a .config text in place of any line the text already has
 * for the same name, for Kconfig copies that keep the *first* of two lines
 * (busybox's) where the kernel's keeps the last.
 */
export function replaceSettings(config: string, settings: ConfigSetting[]): string {
  const names = new Set(settings.map((s) => s.name));
  const kept = config.split('\n').filter((l) => !names.has(/^(?:# )?([A-Za-z0-9_]+)[= ]/.exec(l)?.[1] ?? ''));
  return applyFragment(kept.join('\n'), settings);
}

/** Reads a resolved .config into name → value ("n" for unset or absent). */
export function readConfig(config: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of config.split('\n')) {
    const set = /^([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) values.set(set[1]!, set[2]!);
    const unset = /^# ([A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) values.set(unset[1]!, 'n');
  }
  return values;
}

/**
 * Kconfig silently drops a setting whose dependencies are not met. That would
 * build a kernel without, say, the diag modules a scenario needs, so every
 * requested setting must survive olddefconfig — or the build stops here.
 */
export function verifyFragment(resolved: string, settings: ConfigSetting[], what: string): void {
  const values = readConfig(resolved);
  const lost = settings.filter((s) => (values.get(s.name) ?? 'n') !== s.value);
  if (lost.length > 0) {
    const list = lost.map((s) => `${s.name}=${s.value} (${s.origin}) resolved to ${values.get(s.name) ?? 'n'}`).join('; ');
    throw new LabError(`${what}: config settings did not survive dependency resolution: ${list}`, {
      kind: 'config',
      fix: 'add the options these depend on to the fragment, or remove them',
    });
  }
}
