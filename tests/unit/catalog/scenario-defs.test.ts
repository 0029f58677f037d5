import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_SCENARIO_DIR, loadScenarioDir, type CountsJudge } from '../../../lab/catalog/scenario-defs.ts';
import { judgeCounts } from '../../../lab/scenarios/counts-judge.ts';
import { scenarioFromDefinition } from '../../../lab/scenarios/from-definition.ts';
import { LabError } from '../../../lab/util/errors.ts';
import { tempDirs } from '../../helpers.ts';

/** A user's scenario folder with a definition (JSON or YAML text) and probe files. */
async function userDir(def: string, opts: { file?: string; probes?: string[]; name?: string } = {}): Promise<string> {
  const { root } = await tempDirs();
  const dir = path.join(root, opts.name ?? 'my-bug');
  await fs.mkdir(path.join(dir, 'probes'), { recursive: true });
  await fs.writeFile(path.join(dir, opts.file ?? 'scenario.yaml'), def);
  for (const p of opts.probes ?? ['my-probe']) await fs.writeFile(path.join(dir, 'probes', `${p}.c`), 'int main(void) { return 0; }\n');
  return root;
}

const GOOD = `name: my-bug
bug: B9
title: a reader
variants: reader
defaults: { sockets: 20 }
fabric: { sockets: "tcp:{sockets}" }
probe: { program: my-probe, args: { unpatched: [old], patched: [new] } }
judge: { truth: sockets, equal: { sockets: tcp } }
`;

function loadError(root: string): string {
  try {
    loadScenarioDir(root, false).map(scenarioFromDefinition);
  } catch (err) {
    expect(err).toBeInstanceOf(LabError);
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('scenario definitions', () => {
  it('the built-in B1–B5 are definitions in images/scenarios, in BUGS.md order', () => {
    const defs = loadScenarioDir(BUILTIN_SCENARIO_DIR, true);
    expect(defs.map((d) => `${d.bug} ${d.name}`)).toEqual(['B1 getifaddrs', 'B1 getifaddrs-mechanism', 'B2 uevent', 'B3 dump-read', 'B4 dump-buffer', 'B4 dump-buffer-peek', 'B5 dump-hang', 'B5 dump-hang-enobufs']);
    expect(defs.filter((d) => !('code' in d.judge)).map((d) => d.name)).toEqual(['getifaddrs-mechanism', 'dump-read', 'dump-buffer', 'dump-buffer-peek']);
    // Each becomes the same Scenario shape a user's does.
    for (const d of defs) expect(scenarioFromDefinition(d).fabric(scenarioFromDefinition(d).defaults)).toBeTypeOf('object');
  });

  it("a user's YAML definition loads with its probes, defaults and fabric", async () => {
    const root = await userDir(GOOD);
    const [d] = loadScenarioDir(root, false);
    expect(d).toMatchObject({ name: 'my-bug', bug: 'B9', variants: 'reader', probes: ['my-probe'], builtin: false });
    const s = scenarioFromDefinition(d!);
    expect(s.fabric({ ...s.defaults, sockets: 7 })).toEqual({ sockets: [{ kind: 'tcp', count: 7 }] });
  });

  it('kernel options a scenario needs are read from kernelOptions (none: any kernel)', async () => {
    expect(loadScenarioDir(await userDir(GOOD), false)[0]!.kernelOptions).toEqual([]);
    expect(loadScenarioDir(await userDir(`${GOOD}kernelOptions: [CONFIG_FAILSLAB]\n`), false)[0]!.kernelOptions).toEqual(['CONFIG_FAILSLAB']);
    expect(loadScenarioDir(BUILTIN_SCENARIO_DIR, true).find((d) => d.name === 'dump-hang-enobufs')!.kernelOptions).toEqual(['CONFIG_FAILSLAB', 'CONFIG_FAULT_INJECTION_DEBUG_FS']);
  });

  it('a broken definition is an error naming the file and the field', async () => {
    expect(loadError(await userDir(GOOD.replace('title: a reader', 'title: a reader\ncolour: red')))).toMatch(/my-bug\/scenario.yaml: colour must be absent \(unknown field/);
    expect(loadError(await userDir(GOOD, { probes: ['other'] }))).toMatch(/scenario.yaml: probe.program must be the name of a C file in .*my-bug\/probes \(found: other.c\)/);
    expect(loadError(await userDir(GOOD.replace('defaults: { sockets: 20 }\n', '')))).toMatch(/defaults.sockets must be a default value \(a template names \{sockets\}\)/);
    expect(loadError(await userDir(GOOD.replace('tcp }', 'links }')))).toMatch(/judge.equal.sockets must be one of tcp, tcp6, udp, udp6, unix \(got "links"\)/);
    expect(loadError(await userDir(GOOD.replace('[new]', '["{nope}"]')))).toMatch(/probe.args.patched\[0\] must be a text whose \{…\} name parameters/);
    expect(loadError(await userDir(GOOD.replace('tcp:{sockets}', 'tcp:zero')))).toMatch(/scenario.yaml: defaults\/fabric: bad socket spec "tcp:zero"/);
    expect(loadError(await userDir('name: [unclosed'))).toMatch(/scenario.yaml: not valid YAML/);
    expect(loadError(await userDir(GOOD, { name: 'other-folder' }))).toMatch(/name must be the folder's name "other-folder"/);
    expect(loadError(await userDir('{"name": "my-bug",}', { file: 'scenario.json' }))).toMatch(/scenario.json: not valid JSON/);
  });

  it('what would load silently and misbehave later is refused on load', async () => {
    expect(loadError(await userDir(''))).toMatch(/scenario.yaml: must hold one object .* it holds nothing/);
    expect(loadError(await userDir('- a\n- b\n'))).toMatch(/scenario.yaml: must hold one object .* it holds a list/);
    expect(loadError(await userDir(GOOD.replace('fabric: { sockets: "tcp:{sockets}" }', 'fabric: { interfaces: forty }')))).toMatch(/fabric.interfaces must be a string matching/);
    expect(loadError(await userDir(GOOD.replace('[old]', '["a\\u0004b"]')))).toMatch(/probe.args.unpatched\[0\] must be printable text/);
    expect(loadError(await userDir(`${GOOD}key: { x: truth.bogus }\n`))).toMatch(/key.x must be truth.</);
    expect(loadError(await userDir(`${GOOD}key: { x: param.nothing }\n`))).toMatch(/key.x must be param.</);
    expect(loadError(await userDir(`${GOOD}sweep: interfaces\n`))).toMatch(/defaults.interfaces must be a default value/);
    expect(loadError(await userDir(`${GOOD.replace('defaults: { sockets: 20 }', 'defaults: { sockets: 20, interfaces: 4 }')}sweep: interfaces\n`))).toMatch(/sweep must be a parameter the fabric or the probe's arguments use/);
    expect(loadError(await userDir(GOOD.replace(/judge: .*\n/, 'judge: { code: uevent }\n')))).toMatch(/judge.code must be one of getifaddrs, dump-hang \(uevent drives the lab's own listener/);
    expect(loadError(await userDir(GOOD.replace(/probe: .*\n/, '').replace(/judge: .*\n/, 'judge: { code: getifaddrs }\n')))).toMatch(/probe must be an object \{program, args\}/);
    expect(loadError(await userDir(`${GOOD.replace(/judge: .*\n/, 'judge: { code: getifaddrs }\n')}key: { a: truth.links }\n`))).toMatch(/key must be absent \(a code judge reports its own numbers\)/);
    expect(loadError(await userDir(GOOD.replace('equal: { sockets: tcp } }', 'equal: { sockets: tcp }, failSymptom: "{truth.links}" }')))).toMatch(/judge.failSymptom must be a text whose \{…\} name result-line fields or truth.<tcp/);
    expect(loadError(await userDir(`${GOOD}kernelOptions: [FAILSLAB]\n`))).toMatch(/kernelOptions\[0\] must be a string matching .*CONFIG_/);
    expect(loadError(await userDir(`${GOOD}kernelOptions: [CONFIG_FAILSLAB, CONFIG_FAILSLAB]\n`))).toMatch(/kernelOptions must be each option once \(got "CONFIG_FAILSLAB"\)/);
    expect(loadError(await userDir(`${GOOD}kernelOptions: [${Array.from({ length: 17 }, (_, i) => `CONFIG_X${i}`).join(', ')}]\n`))).toMatch(/kernelOptions must be at most 16 option names/);
    expect(loadError(await userDir(`${GOOD}kernelOptions: []\n`))).toMatch(/kernelOptions must be a non-empty list of strings/);
    // A checkout's .git folder is not a scenario.
    const root = await userDir(GOOD);
    await fs.mkdir(path.join(root, '.git'));
    expect(loadScenarioDir(root, false).map((d) => d.name)).toEqual(['my-bug']);
  });

  it('a folder without a definition, or with two, is an error naming the folder', async () => {
    const root = await userDir(GOOD);
    await fs.writeFile(path.join(root, 'my-bug', 'scenario.json'), '{}');
    expect(loadError(root)).toMatch(/my-bug: more than one definition \(scenario.json, scenario.yaml\)/);
    await fs.mkdir(path.join(root, 'empty'));
    await fs.rm(path.join(root, 'my-bug'), { recursive: true });
    expect(loadError(root)).toMatch(/empty: no scenario definition/);
  });
});

describe('the declarative counts rule: a PASS needs a non-empty truth and every field equal to it', () => {
  const rule: CountsJudge = { truth: 'net', equal: { count: 'links' }, failSymptom: 'errno={error}', countsOnFail: false };
  it('PASS, FAIL and ERROR', () => {
    expect(judgeCounts(rule, { probe: 'p', ok: true, count: 52 }, { links: 52 })).toEqual({ outcome: 'PASS', symptom: 'count 52/52' });
    expect(judgeCounts(rule, { probe: 'p', ok: true, count: 51 }, { links: 52 })).toEqual({ outcome: 'FAIL', symptom: 'incomplete: count 51/52' });
    expect(judgeCounts(rule, { probe: 'p', ok: false, error: 'EBUSY' }, { links: 52 })).toEqual({ outcome: 'FAIL', symptom: 'errno=EBUSY' });
    // Nothing to compare with, or no number to compare: the lab cannot judge.
    expect(judgeCounts(rule, { probe: 'p', ok: true, count: 0 }, { links: 0 }).outcome).toBe('ERROR');
    expect(judgeCounts(rule, { probe: 'p', ok: true }, { links: 52 }).outcome).toBe('ERROR');
    expect(judgeCounts(rule, { probe: 'p', ok: true, count: '52' }, { links: 52 }).outcome).toBe('ERROR');
    expect(judgeCounts(rule, { probe: 'p', ok: true, count: 5 }, {}).outcome).toBe('ERROR');
  });
});
