import { escapeXml } from './escape.ts';

/**
 * Markup made by the `html` template below. Values enter the page only through that
 * template, which escapes each one unless it is Markup already: a string from a
 * matrix.json cannot become markup by being forgotten in one place.
 */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What a template may interpolate: false, null and undefined render nothing (for `${cond && html`…`}`). */
export type Value = Markup | string | number | boolean | null | undefined | readonly Value[];

function render(v: Value): string {
  if (v instanceof Markup) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === undefined || v === null || v === false) return '';
  return escapeXml(String(v));
}

/** The one place values enter report markup: every interpolated value is escaped unless it is Markup. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Markup {
  let out = strings[0]!;
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!));
  return new Markup(out);
}

/** Markup from a constant of this code (the stylesheet) — never from data. */
export function trusted(constant: string): Markup {
  return new Markup(constant);
}

/** Markup parts joined with a separator (escaped like any other value). */
export function join(parts: readonly Value[], sep: Value): Markup {
  return new Markup(parts.map(render).join(render(sep)));
}
