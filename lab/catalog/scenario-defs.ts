import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../util/paths.ts';
import { LabError, UsageError } from '../util/errors.ts';
import { Fields, parseJson } from '../model/fields.ts';
import { sha256 } from '../util/digest.ts';

/**
 * Scenario definitions: the declarative half of every scenario, built-in or a user's.
 * A scenario directory holds one folder per scenario:
 *   <name>/scenario.json | scenario.yaml | scenario.yml   the definition (this file's reader)
 *   <name>/probes/*.c                                      its probes (a user's scenario; built-ins use images/probes)
 *   <name>/expect.json                                     the verdict measured per target, and why
 *   <name>/patches/*.patch                                 its own libc fix, if any (listed by `reprolab scenarios`; validate-patch takes them)
 * images/scenarios is the built-in directory, read the same way.
 */
export const BUILTIN_SCENARIO_DIR = path.join(repoRoot, 'images', 'scenarios');

export const ROLES = ['unpatched', 'patched'] as const;
/** What a sweep can vary: the interface count, held sockets, the USB burst's device count. */
export const SWEEP_AXES = ['interfaces', 'sockets', 'burst'] as const;
export type SweepAxis = (typeof SWEEP_AXES)[number];
export type Role = (typeof ROLES)[number];

/** Knobs a definition may default and a user may turn (--interfaces, --sockets…). */
export const PARAM_NAMES = ['interfaces', 'sockets', 'buffer', 'iterations', 'budgetMs', 'delayUs', 'trigger', 'burst'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

export const NET_QUANTITIES = ['links', 'addrs', 'inet', 'inet6'] as const;
export const SOCKET_QUANTITIES = ['tcp', 'tcp6', 'udp', 'udp6', 'unix'] as const;
export const TRUTHS = { net: NET_QUANTITIES, sockets: SOCKET_QUANTITIES } as const;
export type TruthKind = keyof typeof TRUTHS;

/** The code judges a definition may name: what needs code (a USB burst, a loader trace) stays code. */
export const CODE_JUDGES = ['getifaddrs', 'uevent', 'dump-hang'] as const;
export type CodeJudge = (typeof CODE_JUDGES)[number];

/**
 * What a code judge needs and where it can run, said once: the loader, the pack, the
 * matrix and the report ask this table, never the judge's name.
 */
export interface JudgeCapabilities {
  /** It judges a probe's result line: the definition must name a probe. */
  needsProbe: boolean;
  /** It drives the host's QMP (USB device_add/device_del): a guest alone cannot run it. */
  needsHostQmp: boolean;
  /** Why a user's own scenario may not name it (it runs the lab's own program from the image); undefined: it may. */
  notForUsers?: string;
  /** It sweeps its own parameters (a burst plan), so the sweep axis need not appear in a template. */
  sweepsItself: boolean;
  /** Why a repro pack (sh and QEMU, no lab) cannot judge it; undefined: it can, with `packRule`. */
  notInPack?: string;
  /** Why a LAVA job (the pack's guest.sh and judge.awk in a test shell, no host QMP, no watchdog) cannot judge it; undefined: it can when a pack can. */
  notOnLava?: string;
  /**
   * How a pack judges it: judge.awk's RULE, the ground truth its probe is read between (its
   * repetition is a run plan: scenarios/run-plan.ts) and the README's sentence of what PASS means.
   */
  packRule?: { awk: 'getifaddrs'; truth: 'net'; judged: string };
  /** The lab failures it may raise besides the usual ones (util/errors.ts kinds): counted per target. */
  raises: ('usb-stall')[];
  /**
   * Its probe counts dumps and hangs within a time budget (judges/dumps.ts's judgeHang reads one), so
   * `reprolab soak` can run its unpatched reader under the fabric's churn for a duration, round by round.
   */
  soaks: boolean;
}

export const JUDGE_CAPABILITIES: Record<CodeJudge, JudgeCapabilities> = {
  getifaddrs: {
    needsProbe: true,
    needsHostQmp: false,
    sweepsItself: false,
    packRule: { awk: 'getifaddrs', truth: 'net', judged: "every link has an entry and every IPv4/IPv6 address the kernel lists (the lab's own netlink dump, read before and after the probe) was returned" },
    raises: [],
    soaks: false,
  },
  uevent: {
    needsProbe: false,
    needsHostQmp: true,
    notForUsers: "uevent drives the lab's own listener; a scenario of your own cannot replace it",
    sweepsItself: true,
    notInPack: 'its USB hotplug burst is driven over QMP by the lab (device_add/device_del and the enumeration wait); run.sh has no QMP client',
    // The in-guest trigger (fabric uevent-trigger) replays events without a device: not B2's field condition, so no substitute.
    notOnLava: "its USB hotplug burst is QEMU's device_add/device_del over QMP, driven from the host; a LAVA job has no QMP channel to its QEMU, and the in-guest uevent trigger (events replayed without a USB device) is not B2's field condition",
    raises: ['usb-stall'],
    soaks: false,
  },
  'dump-hang': { needsProbe: true, needsHostQmp: false, sweepsItself: false, notInPack: "its judge needs the host's own watchdog on a hung reader; run.sh has none yet", notOnLava: "its judge needs the host's own watchdog on a hung reader; a LAVA test shell has only the job's timeout, which ends the job instead of judging the hang", raises: [], soaks: true },
};

/** The capabilities of a definition's judge; a counts judge needs a probe and nothing of the host. */
export function judgeCapabilities(judge: ScenarioDefinition['judge']): JudgeCapabilities {
  return 'code' in judge ? JUDGE_CAPABILITIES[judge.code] : { needsProbe: true, needsHostQmp: false, sweepsItself: false, raises: [], soaks: false };
}

/**
 * The declarative rule: ERROR when a truth quantity compared is 0 (nothing to compare with)
 * or a compared field is not a whole number; FAIL when the probe says ok=false (failSymptom)
 * or a field differs from the truth; PASS when every field equals its truth quantity.
 */
export interface CountsJudge {
  truth: TruthKind;
  /** result-line field → truth quantity it must equal. */
  equal: Record<string, string>;
  /** The symptom of ok=false: {field} is replaced by the result line's field, {truth.quantity} by the truth's. */
  failSymptom: string;
  /** The compared fields must be whole numbers even when the probe says ok=false (a reader that failed still says how far it got). */
  countsOnFail: boolean;
}

export interface ScenarioDefinition {
  name: string;
  bug: string;
  title: string;
  /** libc: the variants are libc builds (validate-patch, bisect run these); reader: the legacy and fixed algorithm. */
  variants: 'libc' | 'reader';
  defaults: Partial<Record<ParamName, number | string>>;
  fabric: { interfaces?: string; sockets?: string; churn?: { sockets: number; links: number; periodMs: number } };
  /** The probe program each role runs, and its arguments ({param} is a parameter's value). */
  probe?: { program: string; args: Record<Role, string[]> };
  judge: { code: CodeJudge } | CountsJudge;
  /** The parameter `reprolab sweep` and the matrix's --sweep vary (it must have a default). */
  sweep?: SweepAxis;
  /** Kernel options the scenario needs set to y (B5's failslab); empty: any kernel. */
  kernelOptions: string[];
  /** "name=role.field" | "name=truth.quantity" | "name=param.name": the numbers that explain a verdict. */
  key: Record<string, string>;
  /** Where it came from, for messages (relative to the repository for built-ins). */
  file: string;
  /** The definition file's sha256: a repro pack refuses a definition changed since its cell ran. */
  sha256: string;
  dir: string;
  builtin: boolean;
  /** A user's scenario: its probe sources (built for every target and libc variant). */
  probesDir?: string;
  probes: string[];
  expectFile: string;
  patches: string[];
}

const NAME = /^[a-z][a-z0-9-]{0,39}$/;
const DEFINITION_FILES = ['scenario.json', 'scenario.yaml', 'scenario.yml'];

function displayPath(file: string): string {
  return file.startsWith(`${repoRoot}/`) ? path.relative(repoRoot, file) : file;
}

function parseText(file: string, text: string): unknown {
  if (file.endsWith('.json')) return parseJson(file, text);
  try {
    return parseYaml(text);
  } catch (err) {
    throw new LabError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, { fix: `correct the YAML syntax in ${file}` });
  }
}

/** "{interfaces}" → the parameters a template names; an unknown one is an error naming the field. */
function paramRefs(f: Fields, key: string, text: string): void {
  for (const m of text.matchAll(/\{([^}]*)\}/g)) {
    if (!(PARAM_NAMES as readonly string[]).includes(m[1]!)) f.fail(key, `a text whose {…} name parameters (${PARAM_NAMES.join(', ')})`, text);
  }
}

function readArgs(f: Fields, key: string, variants: 'libc' | 'reader'): Record<Role, string[]> {
  const a = f.object(key);
  a.only(ROLES);
  const out = {} as Record<Role, string[]>;
  for (const role of ROLES) {
    if (!a.has(role)) a.fail(role, `a list of arguments (the ${role} role${variants === 'reader' ? role === 'unpatched' ? ', the legacy reader' : ', the fixed reader' : ''})`, undefined);
    out[role] = a.strings(role);
    out[role].forEach((arg, i) => {
      // Arguments travel to the guest as text over a serial console (a repro pack): printable and short.
      if (/[\x00-\x1f\x7f]/.test(arg) || arg.length > 256) a.fail(`${role}[${i}]`, 'printable text of at most 256 characters', arg);
      paramRefs(a, `${role}[${i}]`, arg);
    });
  }
  return out;
}

function readJudge(f: Fields): ScenarioDefinition['judge'] {
  const j = f.object('judge');
  if (j.has('code')) {
    j.only(['code']);
    return { code: j.oneOf('code', CODE_JUDGES) };
  }
  j.only(['truth', 'equal', 'failSymptom', 'countsOnFail']);
  const truth = j.oneOf('truth', Object.keys(TRUTHS) as TruthKind[]);
  const eq = j.object('equal');
  const equal: Record<string, string> = {};
  if (!eq.keys().length) j.fail('equal', 'an object of result-line field → truth quantity (at least one)', {});
  for (const field of eq.keys()) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(field)) eq.fail(field, 'named like a result-line field (letters, digits, _)', field);
    equal[field] = eq.oneOf(field, TRUTHS[truth]);
  }
  const failSymptom = j.optionalString('failSymptom', 'errno={error}');
  for (const m of failSymptom.matchAll(/\{([^}]*)\}/g)) {
    const ok = /^[A-Za-z][A-Za-z0-9_]*$/.test(m[1]!) || (m[1]!.startsWith('truth.') && (TRUTHS[truth] as readonly string[]).includes(m[1]!.slice(6)));
    if (!ok) j.fail('failSymptom', `a text whose {…} name result-line fields or truth.<${TRUTHS[truth].join('|')}>`, failSymptom);
  }
  if (/[\x00-\x1f\x7f]/.test(failSymptom)) j.fail('failSymptom', 'a text without control characters', failSymptom);
  return { truth, equal, failSymptom, countsOnFail: j.boolean('countsOnFail', false) };
}

function readKey(f: Fields, truth: TruthKind | undefined): Record<string, string> {
  if (!f.has('key')) return {};
  const k = f.object('key');
  const out: Record<string, string> = {};
  for (const name of k.keys()) {
    const ref = k.string(name, /^(unpatched|patched|truth|param)\.[A-Za-z][A-Za-z0-9_]*$/);
    const [from, what] = ref.split('.') as [string, string];
    const truthNames: readonly string[] = truth === 'sockets' ? SOCKET_QUANTITIES : [...NET_QUANTITIES, 'firstLinkChunkBytes'];
    if (from === 'truth' && !truthNames.includes(what)) k.fail(name, `truth.<${truthNames.join('|')}>`, ref);
    if (from === 'param' && !(PARAM_NAMES as readonly string[]).includes(what)) k.fail(name, `param.<${PARAM_NAMES.join('|')}>`, ref);
    out[name] = ref;
  }
  return out;
}

function readDefaults(f: Fields): ScenarioDefinition['defaults'] {
  if (!f.has('defaults')) return {};
  const d = f.object('defaults');
  d.only(PARAM_NAMES);
  const out: ScenarioDefinition['defaults'] = {};
  for (const name of d.keys() as ParamName[]) out[name] = name === 'burst' ? d.string(name) : d.integer(name, 0, 1_000_000);
  return out;
}

/** At most 16 distinct kernel option names, each CONFIG_ and capitals, digits and underscores. */
function readKernelOptions(f: Fields): string[] {
  if (!f.has('kernelOptions')) return [];
  const names = f.stringList('kernelOptions', /^CONFIG_[A-Z0-9_]{1,80}$/);
  if (names.length > 16) f.fail('kernelOptions', 'at most 16 option names', `${names.length} names`);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) f.fail('kernelOptions', 'each option once', twice);
  return names;
}

function readFabric(f: Fields): ScenarioDefinition['fabric'] {
  if (!f.has('fabric')) return {};
  const fab = f.object('fabric');
  fab.only(['interfaces', 'sockets', 'churn']);
  const out: ScenarioDefinition['fabric'] = {};
  if (fab.has('interfaces')) {
    out.interfaces = fab.typeOf('interfaces') === 'number' ? String(fab.integer('interfaces', 0, 1024)) : fab.string('interfaces', /^\{interfaces\}$/);
  }
  if (fab.has('sockets')) {
    out.sockets = fab.string('sockets');
    paramRefs(fab, 'sockets', out.sockets);
  }
  if (fab.has('churn')) {
    const c = fab.object('churn');
    c.only(['sockets', 'links', 'periodMs']);
    out.churn = { sockets: c.integer('sockets', 0, 10_000), links: c.integer('links', 0, 256), periodMs: c.integer('periodMs', 1, 60_000) };
  }
  return out;
}

/** Reads and validates one definition; `dir` is the scenario's folder. */
export function parseScenarioDefinition(file: string, text: string, dir: string, builtin: boolean): ScenarioDefinition {
  const shown = displayPath(file);
  const doc = parseText(shown, text);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new LabError(`${shown}: must hold one object (name, bug, title, variants, probe, judge…); it holds ${doc === null || doc === undefined ? 'nothing' : Array.isArray(doc) ? 'a list' : `a ${typeof doc}`}`, { fix: `see docs/scenarios.md ("A scenario of your own") for an example of ${path.basename(shown)}` });
  const f = new Fields(shown, doc);
  f.only(['name', 'bug', 'title', 'variants', 'defaults', 'fabric', 'probe', 'judge', 'key', 'sweep', 'kernelOptions']);
  const name = f.string('name', NAME);
  if (name !== path.basename(dir)) f.fail('name', `the folder's name "${path.basename(dir)}"`, name, `rename the folder or set "name": "${path.basename(dir)}" in ${shown}`);
  const variants = f.oneOf('variants', ['libc', 'reader'] as const);
  let probe: ScenarioDefinition['probe'];
  if (f.has('probe')) {
    const p = f.object('probe');
    p.only(['program', 'args']);
    probe = { program: p.string('program', /^[a-z][a-z0-9_-]*$/), args: readArgs(p, 'args', variants) };
  }
  const judge = readJudge(f);
  const defaults = readDefaults(f);
  const fabric = readFabric(f);
  // Every {param} a template names needs a default, so a run without options is complete.
  const templates = [...(probe ? ROLES.flatMap((r) => probe.args[r]) : []), fabric.interfaces ?? '', fabric.sockets ?? ''];
  for (const m of templates.join(' ').matchAll(/\{([^}]*)\}/g)) {
    if (!(m[1]! in defaults)) f.fail(`defaults.${m[1]}`, `a default value (a template names {${m[1]}})`, undefined);
    // A burst is a USB hotplug plan, driven by B2's judge: as an argument it would be text nothing replays.
    if (m[1] === 'burst') f.fail('probe.args', 'arguments without {burst} (a USB burst is not an argument)', m[0]);
  }
  const can = judgeCapabilities(judge);
  if (!probe && can.needsProbe) f.fail('probe', 'an object {program, args} (the judge judges a probe)', undefined);
  // A judge that runs the lab's own program from the image (B2's uevent-listener): a user's folder cannot supply it.
  if (!builtin && can.notForUsers) f.fail('judge.code', `one of ${CODE_JUDGES.filter((c) => !JUDGE_CAPABILITIES[c].notForUsers).join(', ')} (${can.notForUsers})`, 'code' in judge ? judge.code : undefined);
  if ('code' in judge && f.has('key')) f.fail('key', 'absent (a code judge reports its own numbers)', 'present');
  const sweep = f.has('sweep') ? f.oneOf('sweep', SWEEP_AXES) : undefined;
  if (sweep && !(sweep in defaults)) f.fail(`defaults.${sweep}`, `a default value (the scenario sweeps ${sweep})`, undefined);
  if (sweep && !can.sweepsItself && !templates.some((t) => t.includes(`{${sweep}}`))) f.fail('sweep', `a parameter the fabric or the probe's arguments use ({${sweep}} appears in none)`, sweep);
  const probesDir = builtin ? undefined : path.join(dir, 'probes');
  const probes = probesDir ? cFiles(probesDir) : [];
  // A built-in scenario's probe is one of the lab's own (images/probes, in every image).
  if (probe && builtin && !fs.existsSync(path.join(repoRoot, 'images', 'probes', `${probe.program}.c`))) f.fail('probe.program', 'the name of a C file in images/probes', probe.program);
  if (probe && probesDir && !probes.includes(probe.program)) {
    f.fail('probe.program', `the name of a C file in ${displayPath(probesDir)} (found: ${probes.length ? probes.map((p) => `${p}.c`).join(', ') : 'none'})`, probe.program, `write ${displayPath(path.join(probesDir, `${probe.program}.c`))}`);
  }
  const patchesDir = path.join(dir, 'patches');
  return {
    name,
    bug: f.string('bug', /^[A-Z][A-Z0-9-]{0,15}$/),
    title: f.string('title', /^[^\x00-\x1f\x7f]{1,200}$/),
    variants,
    defaults,
    fabric,
    ...(probe ? { probe } : {}),
    judge,
    key: readKey(f, 'code' in judge ? undefined : judge.truth),
    ...(sweep ? { sweep } : {}),
    kernelOptions: readKernelOptions(f),
    file: shown,
    sha256: sha256(text),
    dir,
    builtin,
    ...(probesDir ? { probesDir } : {}),
    probes,
    expectFile: path.join(dir, 'expect.json'),
    patches: fs.existsSync(patchesDir) ? fs.readdirSync(patchesDir).filter((n) => n.endsWith('.patch')).sort().map((n) => path.join(patchesDir, n)) : [],
  };
}

function cFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => n.endsWith('.c')).map((n) => n.slice(0, -2)).sort();
}

/** Every scenario folder of one directory; a folder without a definition file is an error naming it. */
export function loadScenarioDir(dir: string, builtin: boolean): ScenarioDefinition[] {
  const shown = displayPath(dir);
  let names: string[];
  try {
    // Hidden folders (.git of a checkout) are not scenarios.
    names = fs.readdirSync(dir).filter((n) => !n.startsWith('.') && fs.statSync(path.join(dir, n), { throwIfNoEntry: false })?.isDirectory()).sort();
  } catch {
    throw new UsageError(`scenario directory ${shown} does not exist or cannot be read`, { fix: 'pass an existing directory to --scenario-dir (or REPROLAB_SCENARIOS)' });
  }
  const defs = names.map((name) => {
    const sub = path.join(dir, name);
    const found = DEFINITION_FILES.map((f) => path.join(sub, f)).filter((f) => fs.existsSync(f));
    if (found.length !== 1) {
      throw new UsageError(`${displayPath(sub)}: ${found.length ? `more than one definition (${found.map((f) => path.basename(f)).join(', ')})` : 'no scenario definition'}`, { fix: `keep exactly one of ${DEFINITION_FILES.join(', ')} in ${displayPath(sub)}` });
    }
    return parseScenarioDefinition(found[0]!, fs.readFileSync(found[0]!, 'utf8'), sub, builtin);
  });
  // By bug, then name: B1's scenarios first, as BUGS.md lists them.
  return defs.sort((a, b) => a.bug.localeCompare(b.bug) || a.name.localeCompare(b.name));
}
