/** Quotes one argument for a POSIX shell (the guest's, or a generated script's): nothing inside single quotes is special. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
