import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLogged } from '../../../lab/util/process.ts';
import { LabError } from '../../../lab/util/errors.ts';
import { tempDirs } from '../../helpers.ts';

/*
 * runLogged wraps every build in a small sh (so builds die with the lab). What the lab
 * reads of a command must stay what the command did: bisect tells a revision's own build
 * failure (an exit code) from the lab's (a signal, a tool that is not there) by it.
 */
async function outcome(file: string, args: string[], input?: string): Promise<string> {
  const { root } = await tempDirs();
  const logFile = path.join(root, 'log');
  try {
    await runLogged(file, args, { logFile, ...(input ? { input } : {}), cwd: root });
    return `ok: ${(await fs.readFile(logFile, 'utf8')).trim().split('\n').at(-1)}`;
  } catch (err) {
    expect(err).toBeInstanceOf(LabError);
    return (err as LabError).message.split('\n')[0]!;
  }
}

describe('runLogged reports what the command did, not what its wrapper did', () => {
  it('an exit code is that exit code', async () => {
    expect(await outcome('sh', ['-c', 'exit 3'])).toBe('sh -c exit 3… failed (exit 3)');
  });
  it('a command killed by a signal is that signal', async () => {
    expect(await outcome('sh', ['-c', 'kill -KILL $$'])).toBe('sh -c kill -KILL $$… failed (SIGKILL)');
    expect(await outcome('sh', ['-c', 'kill -SEGV $$'])).toBe('sh -c kill -SEGV $$… failed (SIGSEGV)');
  });
  it('a command that is not there failed to start', async () => {
    expect(await outcome('no-such-build-tool', ['x'])).toBe('no-such-build-tool x… failed (failed to start: no-such-build-tool not found)');
  });
  it('stdin, the working directory and the output reach the command', async () => {
    expect(await outcome('sh', ['-c', 'read line; echo "$line in $(basename "$PWD")"'], 'answer\n')).toMatch(/^ok: answer in reprolab-test-/);
  });
});
