import { parse as parseYaml } from 'yaml';
import { untrustedYaml } from './yaml-input.ts';
import type { Outcome, Verdict } from '../../model/verdict.ts';
import { pairVerdict } from '../../scenarios/verdict.ts';
import { UsageError } from '../../util/errors.ts';

/** One lava-test-case result, from a dispatcher log or a server's results YAML. */
export interface LavaCase {
  /** The definition as LAVA names it ("0_<scenario>", or "lava" for the dispatcher's own). */
  definition: string;
  name: string;
  result: string;
  measurement?: number;
  units?: string;
}

/** How the job itself ended; `errorType` is LAVA's class (Infrastructure, Job, Test, Bug, Configuration). */
export interface LavaJobEnd {
  result: string;
  errorType?: string;
  errorMessage?: string;
}

export interface LavaResults {
  cases: LavaCase[];
  job?: LavaJobEnd;
  /** Lines the test shell printed as "REPROLAB-LAVA <scenario> <line>" (a dispatcher log only), by scenario. */
  judgement: Map<string, string[]>;
  /** The log's length in lines, for messages. */
  lines: number;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

function caseOf(m: Record<string, unknown>, definitionKey: string, nameKey: string, unitsKey: string): LavaCase | undefined {
  const definition = text(m[definitionKey]);
  const name = text(m[nameKey]);
  const result = text(m['result']);
  if (!definition || !name || !result) return undefined;
  const measurement = Number(m['measurement']);
  const units = text(m[unitsKey]);
  return { definition, name, result, ...(m['measurement'] !== undefined && m['measurement'] !== null && Number.isFinite(measurement) ? { measurement } : {}), ...(units ? { units } : {}) };
}

/** Where a result keeps its definition, case name and units: the dispatcher's log and a server name them differently. */
interface ResultKeys {
  definition: string;
  name: string;
  units: string;
}
const LOG_KEYS: ResultKeys = { definition: 'definition', name: 'case', units: 'units' };
const SERVER_KEYS: ResultKeys = { definition: 'suite', name: 'name', units: 'unit' };

/** One result: the dispatcher's own "job" case says how the job ended; any other is a test case. */
function addResult(out: LavaResults, m: Record<string, unknown>, k: ResultKeys): void {
  if (m[k.definition] === 'lava' && m[k.name] === 'job') out.job = jobEnd(m);
  else {
    const c = caseOf(m, k.definition, k.name, k.units);
    if (c) out.cases.push(c);
  }
}

/** The job's own end, from the dispatcher's "job" case (its error_type and error_msg, or a server's metadata). */
function jobEnd(m: Record<string, unknown>): LavaJobEnd {
  const meta = asRecord(m['metadata']) ?? m;
  const errorType = text(meta['error_type']);
  const errorMessage = text(meta['error_msg']);
  return { result: text(m['result']) ?? 'unknown', ...(errorType ? { errorType } : {}), ...(errorMessage ? { errorMessage } : {}) };
}

/**
 * A dispatcher's log (lava-run's stdout): one YAML flow mapping a line ({dt, lvl, msg}). Lines that are
 * not one (a header the lab wrote, a line cut short) are passed over; the YAML parser reads the tags
 * some results carry, which a JSON parser refuses.
 */
export function parseDispatcherLog(log: string): LavaResults {
  const out: LavaResults = { cases: [], judgement: new Map(), lines: 0 };
  for (const line of log.split('\n')) {
    out.lines++;
    if (!line.startsWith('{') && !line.startsWith('- {')) continue;
    let entry: Record<string, unknown> | undefined;
    try {
      entry = asRecord(parseYaml(line.replace(/^- /, ''), { logLevel: 'error', maxAliasCount: 10 }));
    } catch {
      continue;
    }
    if (!entry) continue;
    const msg = entry['msg'];
    if (entry['lvl'] === 'target' && typeof msg === 'string') {
      const m = /^REPROLAB-LAVA ([a-z][a-z0-9-]*) (.*)$/.exec(msg.replace(/\r$/, ''));
      if (m) out.judgement.set(m[1]!, [...(out.judgement.get(m[1]!) ?? []), m[2]!]);
    }
    const r = entry['lvl'] === 'results' ? asRecord(msg) : undefined;
    if (r) addResult(out, r, LOG_KEYS);
  }
  return out;
}

/** A server's results (`lavacli results JOB --yaml`, or the REST API's list): suite, name, result, measurement, unit. */
export function parseServerResults(file: string, yamlText: string): LavaResults {
  const list = untrustedYaml(file, yamlText, 'pass the dispatcher log (lava-run\'s output) or lavacli results <job> --yaml');
  const items = Array.isArray(list) ? list : asRecord(list)?.['results'];
  if (!Array.isArray(items)) throw new UsageError(`${file}: not a LAVA results list (expected a YAML list of test cases, as lavacli results JOB --yaml prints)`, { fix: 'pass the dispatcher log (lava-run\'s output) or the server\'s results YAML' });
  // The REST API's test list names each suite by its number: the scenario cannot be told from it.
  if (items.some((i) => typeof asRecord(i)?.['suite'] === 'number')) throw new UsageError(`${file}: its suites are numbers (the REST API's test list), not names`, { fix: 'save lavacli results <job> --yaml instead and pass that' });
  const out: LavaResults = { cases: [], judgement: new Map(), lines: yamlText.split('\n').length };
  for (const item of items) {
    const m = asRecord(item);
    if (m) addResult(out, m, SERVER_KEYS);
  }
  return out;
}

/** A file the user named: a dispatcher log when its lines are {dt, lvl, msg} mappings, a server's results otherwise. */
export function parseLavaResults(file: string, content: string): LavaResults {
  return /^\s*-?\s*\{\s*"?dt"?\s*:/m.test(content) ? parseDispatcherLog(content) : parseServerResults(file, content);
}

/** One cell as LAVA ran it: each role's outcome and symptom, and the verdict the lab gives them. */
export interface LavaCell {
  target: string;
  scenario: string;
  verdict: Verdict;
  variants: { role: 'unpatched' | 'patched'; outcome: Outcome; symptom: string; withSymptom: number }[];
  rate: { reproduced: number; repeats: number; errors: number };
  /** The scenario's key numbers, each measured by a case of its own (cases.awk's KEYS). */
  key: Record<string, number>;
  /** Set when the lab could not judge it: LAVA's error class and message, or what was missing. */
  error?: string;
}

const OUTCOME: Record<string, Outcome> = { pass: 'PASS', fail: 'FAIL' };

/** "0_getifaddrs" → the scenario (LAVA allows only [\w-] in a definition's name; a job runs on one target). */
export function scenarioOfDefinition(definition: string): string | undefined {
  return /^\d+_([a-z][a-z0-9-]*)$/.exec(definition)?.[1];
}

/** Why the job could not judge a cell: LAVA's class first ("lava Infrastructure error: …"). */
export function jobError(job: LavaJobEnd | undefined): string {
  if (!job) return 'the dispatcher log has no end of job: the dispatcher itself stopped (see its log)';
  if (job.result === 'pass') return 'the job ended without this test definition reporting';
  return `lava ${job.errorType ?? 'unknown'} error: ${job.errorMessage ?? 'no message'}`;
}

/** The judgement lines of a scenario: each role's symptom (its first FAIL or ERROR) and the log's own verdict. */
function judged(lines: string[]): { symptom: Map<string, string>; erroredRepeats: number; verdict?: string; repeats?: number } {
  const [first, firstBad] = [new Map<string, string>(), new Map<string, string>()];
  const errored = new Set<string>();
  let verdict: string | undefined;
  let repeats: number | undefined;
  for (const l of lines) {
    const j = /^REPROLAB-PACK-JUDGED r\d+ (\S+) (PASS|FAIL|ERROR) ?(.*)$/.exec(l);
    if (j && !first.has(j[1]!)) first.set(j[1]!, j[3]!);
    if (j && j[2] !== 'PASS' && !firstBad.has(j[1]!)) firstBad.set(j[1]!, j[3]!);
    if (j && j[2] === 'ERROR') errored.add(/^REPROLAB-PACK-JUDGED (r\d+)/.exec(l)![1]!);
    const v = /^VERDICT ([A-Z_]+) \(unpatched showed the symptom in \d+\/(\d+) repeats\)/.exec(l);
    if (v) [verdict, repeats] = [v[1], Number(v[2])];
  }
  const symptom = new Map([...first, ...firstBad]);
  return { symptom, erroredRepeats: errored.size, ...(verdict ? { verdict } : {}), ...(repeats ? { repeats } : {}) };
}

/** Case names cases.awk gives the cell itself; any other measured case is a key number. */
export const CELL_CASES = ['unpatched', 'patched', 'verdict', 'repeats'];

/** Why a cell's cases cannot be trusted as they are: a case twice (two runs in one log), or no verdict case (the shell never finished). */
function casesProblem(mine: LavaCase[], r: LavaResults): string | undefined {
  const twice = mine.find((c, i) => mine.findIndex((x) => x.name === c.name) !== i);
  if (twice) return `LAVA reported the case ${twice.name} twice: the log holds more than one run of this test`;
  if (!mine.some((c) => c.name === 'verdict')) return `its test shell did not finish (no verdict case): ${jobError(r.job)}`;
  return undefined;
}

/** The verdict the guest printed (the log's line, or the verdict-<name> case a server keeps); undefined when neither is there. */
function guestVerdict(mine: LavaCase[], fromLog: string | undefined): string | undefined {
  const named = mine.find((c) => c.name.startsWith('verdict-'))?.name.slice('verdict-'.length).toUpperCase().replace(/-/g, '_');
  return fromLog ?? named;
}

/**
 * A cell's verdict from its cases: each role's case (unknown, skip or missing: ERROR), paired as the lab
 * pairs them. The verdict case must be there (the test shell finished), and the guest's own verdict,
 * when the log or the cases carry it, must agree.
 */
export function lavaCell(r: LavaResults, cell: { target: string; scenario: string; roles: string[]; repeats: number }): LavaCell {
  const mine = r.cases.filter((c) => scenarioOfDefinition(c.definition) === cell.scenario);
  const j = judged(r.judgement.get(cell.scenario) ?? []);
  const problem = casesProblem(mine, r);
  const variants = cell.roles.map((role) => {
    const c = mine.find((x) => x.name === role);
    const outcome: Outcome = c ? (OUTCOME[c.result] ?? 'ERROR') : 'ERROR';
    const symptom = j.symptom.get(role) || (c ? `lava-test-case ${role}: ${c.result}` : `no ${role} case: ${jobError(r.job)}`);
    return { role: role as 'unpatched' | 'patched', outcome, symptom, withSymptom: c?.measurement ?? 0 };
  });
  // A case LAVA recorded stays as it was; the cell has no verdict unless the shell finished, once.
  let verdict = problem ? 'ERROR' : pairVerdict(variants.find((v) => v.role === 'unpatched')?.outcome ?? 'ERROR', variants.find((v) => v.role === 'patched')?.outcome);
  let error = problem ?? (verdict === 'ERROR' ? (r.job && r.job.result !== 'pass' ? jobError(r.job) : 'a variant could not be judged (see its symptom)') : undefined);
  const said = guestVerdict(mine, j.verdict);
  if (said && said !== verdict && verdict !== 'ERROR') {
    error = `the guest's verdict (${said}) and the variants' test cases (${verdict}) disagree`;
    verdict = 'ERROR';
  }
  const repeats = mine.find((c) => c.name === 'repeats')?.measurement ?? j.repeats ?? cell.repeats;
  const reproduced = variants.find((v) => v.role === 'unpatched')?.withSymptom ?? 0;
  const errors = verdict !== 'ERROR' ? 0 : j.erroredRepeats || repeats;
  const key = Object.fromEntries(mine.filter((c) => !CELL_CASES.includes(c.name) && !c.name.startsWith('verdict-') && c.measurement !== undefined).map((c) => [c.name, c.measurement!]));
  return { target: cell.target, scenario: cell.scenario, verdict, variants, rate: { reproduced, repeats, errors }, key, ...(error ? { error } : {}) };
}

/** Every scenario a job's results name, with the roles its cases show (no job definition at hand); the job ran on `target`. */
export function cellsInResults(r: LavaResults, target: string): { target: string; scenario: string; roles: string[] }[] {
  const cells = new Map<string, { target: string; scenario: string; roles: string[] }>();
  for (const c of r.cases) {
    const scenario = scenarioOfDefinition(c.definition);
    if (!scenario || (c.name !== 'unpatched' && c.name !== 'patched')) continue;
    const got = cells.get(scenario) ?? { target, scenario, roles: [] };
    if (!got.roles.includes(c.name)) got.roles.push(c.name);
    got.roles.sort((a, b) => (a === 'unpatched' ? -1 : b === 'unpatched' ? 1 : 0));
    cells.set(scenario, got);
  }
  return [...cells.values()];
}
