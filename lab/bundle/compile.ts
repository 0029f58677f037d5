import { capture } from '../util/process.ts';

/**
 * How to compile and statically link a C program against one libc variant.
 * Placeholders (@GCC_INCLUDE@, @LIBGCC@, @LIBGCC_EH@) are filled from the
 * cross compiler itself, so a recipe stays valid across compiler updates.
 */
export interface CompileRecipe {
  cc: string;
  compile: string[];
  linkBefore: string[];
  linkAfter: string[];
}

export function glibcRecipe(prefix: string): CompileRecipe {
  return { cc: `${prefix}gcc`, compile: [], linkBefore: ['-static'], linkAfter: [] };
}

export async function expandRecipe(recipe: CompileRecipe): Promise<CompileRecipe> {
  const values = new Map<string, string>();
  const all = [...recipe.compile, ...recipe.linkBefore, ...recipe.linkAfter];
  if (all.includes('@GCC_INCLUDE@')) values.set('@GCC_INCLUDE@', (await capture(recipe.cc, ['-print-file-name=include'])).trim());
  if (all.includes('@LIBGCC@')) values.set('@LIBGCC@', (await capture(recipe.cc, ['-print-libgcc-file-name'])).trim());
  if (all.includes('@LIBGCC_EH@')) values.set('@LIBGCC_EH@', (await capture(recipe.cc, ['-print-file-name=libgcc_eh.a'])).trim());
  const sub = (list: string[]) => list.map((a) => values.get(a) ?? a);
  return { cc: recipe.cc, compile: sub(recipe.compile), linkBefore: sub(recipe.linkBefore), linkAfter: sub(recipe.linkAfter) };
}

/** The warning policy every probe is held to. */
export const PROBE_CFLAGS = ['-std=gnu99', '-O2', '-Wall', '-Wextra', '-Werror'];
