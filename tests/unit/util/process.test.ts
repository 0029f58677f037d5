import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '../../../lab/util/errors.ts';
import { runLogged } from '../../../lab/util/process.ts';
import { tempDirs } from '../../helpers.ts';

describe('logged build steps', () => {
  it('keep the output and report the first error, the tail and the log path', async () => {
    const { root } = await tempDirs();
    const logFile = path.join(root, 'step.log');
    await fs.writeFile(logFile, 'old.c:1: error: from an earlier, successful command\n');
    const script = 'echo "CC a.o"; echo "b.c:9:3: error: unknown type name x" >&2; i=0; while [ $i -lt 40 ]; do echo "noise $i"; i=$((i+1)); done; exit 2';
    const err = await runLogged('sh', ['-c', script], { logFile }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    const e = err as LabError;
    expect(e.message).toContain('failed (exit 2)');
    expect(e.message).toContain('first error: b.c:9:3: error: unknown type name x');
    expect(e.message).toContain('noise 39');
    expect(e.logPath).toBe(logFile);
    expect(await fs.readFile(logFile, 'utf8')).toContain('CC a.o');
    // The kind and the evidence are fields: callers (bisect, validate-patch, user probes) never parse the message.
    expect(e).toMatchObject({ kind: 'command', command: 'sh', firstError: 'b.c:9:3: error: unknown type name x' });
  });

  it("a command that is not there, or is killed, is the lab's failure, not the command's", async () => {
    const { root } = await tempDirs();
    const logFile = path.join(root, 'step.log');
    const missing = (await runLogged('reprolab-no-such-tool', [], { logFile }).catch((e: unknown) => e)) as LabError;
    expect(missing).toMatchObject({ kind: 'lab', command: 'reprolab-no-such-tool' });
    expect(missing.message).toContain('failed to start');
    const killed = (await runLogged('sh', ['-c', 'kill -KILL $$'], { logFile }).catch((e: unknown) => e)) as LabError;
    expect(killed).toMatchObject({ kind: 'lab' });
    expect(killed.message).toContain('SIGKILL');
  });
});
