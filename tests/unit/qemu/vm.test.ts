import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Vm } from '../../../lab/qemu/vm.ts';
import { repoRoot } from '../../../lab/util/paths.ts';
import { sampleManifest, tempDirs } from '../../helpers.ts';

/* Vm.start against tests/fixtures/fake-qemu.mjs: a process that fails like QEMU or serves QMP. */

const FAKE = path.join(repoRoot, 'tests', 'fixtures', 'fake-qemu.mjs');

async function startFake(env: Record<string, string>, seedConsole = '') {
  const { root } = await tempDirs();
  const consoleLog = path.join(root, 'console.log');
  await fs.writeFile(consoleLog, seedConsole);
  const state = path.join(root, 'starts');
  const saved = { ...process.env };
  Object.assign(process.env, { FAKE_QEMU_STATE: state, ...env });
  const manifest = { ...sampleManifest(), qemu: { ...sampleManifest().qemu, binary: FAKE } };
  const t0 = Date.now();
  try {
    const vm = await Vm.start(root, manifest, { consoleLog, sshKey: 'AAAA' }).catch((e: unknown) => e as Error);
    return { vm, ms: Date.now() - t0, starts: Number(await fs.readFile(state, 'utf8')), consoleLog };
  } finally {
    process.env = saved;
  }
}

describe('Vm.start', () => {
  it('retries a port another VM took, on a new run directory, without waiting out the QMP timeout', async () => {
    const r = await startFake({ FAKE_QEMU_FAILS: '2' });
    expect(r.vm).toBeInstanceOf(Vm);
    expect(r.starts).toBe(3);
    // Each failed start is noticed when QEMU exits, not after the 15 s QMP connect timeout.
    expect(r.ms).toBeLessThan(8000);
    const vm = r.vm as Vm;
    await vm.stop();
    expect(vm.running).toBe(false);
  });

  it('an earlier failure in the same console log does not make a different failure look like a port clash', async () => {
    const r = await startFake({ FAKE_QEMU_FAILS: '9', FAKE_QEMU_ERROR: 'qemu-system-arm: could not load kernel' }, "old run: Could not set up host forwarding rule 'tcp:127.0.0.1:1-:22'\n");
    expect(r.starts).toBe(1);
    expect((r.vm as Error).message).toMatch(/exited at start \(exit code 1\)[\s\S]*could not load kernel/);
  });

  it('a console log removed under a running VM is kept as a read error, not thrown from the timer', async () => {
    const r = await startFake({});
    const vm = r.vm as Vm;
    await fs.rm(r.consoleLog);
    await new Promise((res) => setTimeout(res, 100));
    expect(vm.console.readError).toMatch(/ENOENT/);
    await vm.stop();
  });
});
