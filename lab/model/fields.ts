import fs from 'node:fs/promises';
import { LabError } from '../util/errors.ts';

/**
 * Small typed readers over parsed JSON that fail with the file, the field path
 * and what was expected, e.g. `images/targets/x.json: kernel.pageSizeKiB must be one of 4, 16 (got 8)`.
 */
export class Fields {
  constructor(
    readonly file: string,
    private readonly value: unknown,
    private readonly at: string = '',
  ) {}

  private where(key: string): string {
    return this.at ? `${this.at}.${key}` : key;
  }

  fail(key: string, expected: string, got: unknown, fix?: string): never {
    // A long value (a whole object) would bury the field name: the message stays one short line.
    const json = JSON.stringify(got) ?? String(got);
    const shown = got === undefined ? 'missing' : `got ${json.length > 80 ? `${json.slice(0, 77)}...` : json}`;
    throw new LabError(`${this.file}: ${this.where(key)} must be ${expected} (${shown})`, {
      fix: fix ?? `edit ${this.file} and set "${this.where(key)}"`,
    });
  }

  private raw(key: string): unknown {
    if (!this.value || typeof this.value !== 'object' || Array.isArray(this.value)) {
      throw new LabError(`${this.file}: ${this.at || 'the top level'} must be an object`);
    }
    return (this.value as Record<string, unknown>)[key];
  }

  string(key: string, pattern?: RegExp): string {
    const v = this.raw(key);
    if (typeof v !== 'string' || v.length === 0) this.fail(key, 'a non-empty string', v);
    if (pattern && !pattern.test(v)) this.fail(key, `a string matching ${pattern}`, v);
    return v;
  }

  /** Any string, the empty one included (a symptom, a note). */
  text(key: string): string {
    const v = this.raw(key);
    if (typeof v !== 'string') this.fail(key, 'a string', v);
    return v;
  }

  /** A finite number (durations, sizes); integer() for counts. */
  number(key: string, min: number, max = Number.MAX_VALUE): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(key, max === Number.MAX_VALUE ? `a number ≥ ${min}` : `a number from ${min} to ${max}`, v);
    }
    return v;
  }

  /** A list of finite numbers that may be empty. */
  numbers(key: string): number[] {
    const v = this.raw(key);
    if (!Array.isArray(v)) this.fail(key, 'a list of numbers', v);
    v.forEach((item, i) => {
      if (typeof item !== 'number' || !Number.isFinite(item)) this.fail(`${key}[${i}]`, 'a number', item);
    });
    return [...(v as number[])];
  }

  /** A UTC time as toISOString() writes it; anything else would be a RangeError later (new Date(NaN).toISOString()). */
  isoTime(key: string): string {
    const v = this.raw(key);
    if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(v) || !Number.isFinite(Date.parse(v))) {
      this.fail(key, 'an ISO 8601 UTC time such as 2026-11-22T01:00:00.000Z', v);
    }
    return v;
  }

  optionalString(key: string, fallback: string): string {
    return this.raw(key) === undefined ? fallback : this.string(key);
  }

  oneOf<T extends string | number>(key: string, allowed: readonly T[]): T {
    const v = this.raw(key);
    if (!allowed.includes(v as T)) this.fail(key, `one of ${allowed.join(', ')}`, v);
    return v as T;
  }

  integer(key: string, min: number, max: number): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(key, `an integer from ${min} to ${max}`, v);
    }
    return v;
  }

  boolean(key: string, fallback?: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false', v);
    return v;
  }

  stringList(key: string, pattern?: RegExp): string[] {
    const v = this.raw(key);
    if (!Array.isArray(v) || v.length === 0) this.fail(key, 'a non-empty list of strings', v);
    v.forEach((item, i) => {
      if (typeof item !== 'string' || (pattern && !pattern.test(item))) {
        this.fail(`${key}[${i}]`, pattern ? `a string matching ${pattern}` : 'a string', item);
      }
    });
    return v as string[];
  }

  /** A list of objects (possibly empty), each read with its own Fields. */
  list(key: string): Fields[] {
    const v = this.raw(key);
    if (!Array.isArray(v)) this.fail(key, 'a list', v);
    return v.map((item, i) => {
      if (!item || typeof item !== 'object' || Array.isArray(item)) this.fail(`${key}[${i}]`, 'an object', item);
      return new Fields(this.file, item, `${this.where(key)}[${i}]`);
    });
  }

  /** A list of strings that may be empty. */
  strings(key: string): string[] {
    const v = this.raw(key);
    if (!Array.isArray(v)) this.fail(key, 'a list of strings', v);
    v.forEach((item, i) => {
      if (typeof item !== 'string') this.fail(`${key}[${i}]`, 'a string', item);
    });
    return v as string[];
  }

  object(key: string): Fields {
    const v = this.raw(key);
    if (!v || typeof v !== 'object' || Array.isArray(v)) this.fail(key, 'an object', v);
    return new Fields(this.file, v, this.where(key));
  }

  /** The keys present (for maps such as a kernel line's boards). */
  keys(): string[] {
    return Object.keys(this.value as Record<string, unknown>);
  }

  /** An object field as it is, for free-form maps (a run's parameters). */
  record(key: string): Record<string, unknown> {
    this.object(key);
    return this.raw(key) as Record<string, unknown>;
  }

  /** The JSON type of a field that may be either of two ('number' or 'string'…). */
  typeOf(key: string): string {
    return typeof this.raw(key);
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  /** Rejects keys nobody reads: a typo must not pass silently. */
  only(keys: readonly string[]): void {
    const v = this.value as Record<string, unknown>;
    for (const key of Object.keys(v)) {
      if (!keys.includes(key)) {
        this.fail(key, `absent (unknown field; known: ${keys.join(', ')})`, v[key]);
      }
    }
  }
}

/** A file's text, or an error naming it with what to do (the readers of manifest.json, matrix.json, result.json). */
export async function readTextFile(file: string, unreadable: string, fix: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    throw new LabError(`${file}: ${unreadable}`, { fix });
  }
}

export function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new LabError(`${file}: not valid JSON: ${(err as Error).message}`, { fix: `correct the JSON syntax in ${file}` });
  }
}
