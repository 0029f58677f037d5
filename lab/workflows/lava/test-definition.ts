import type { Scenario } from '../../scenarios/types.ts';
import { shellQuote } from '../../util/shell-quote.ts';
import { CELL_CASES } from './results.ts';

/** Where the LAVA ramdisk carries each scenario's guest.sh, judge.awk and cases.awk. */
export const GUEST_LAVA_DIR = '/opt/reprolab/lava';

/** What one scenario's test shell needs: the pack's judge settings, its roles and the verdict to expect. */
export interface TestDefinitionInput {
  scenario: Scenario;
  /** The definition's name: LAVA reports each case under it ("0_<name>"). */
  name: string;
  /** judge.awk's `-v` settings (workflows/repro/pack.ts judgeVars) and the symptom template. */
  judge: { vars: string[]; failSymptom: string };
  roles: string[];
  /** The verdict expect.json records for this target ("" when none). */
  expected: string;
  repeats: number;
}

/** The files the steps read and write in the guest, by scenario name (one path segment). */
export function guestFiles(scenario: string): { script: string; log: string; verdict: string; cases: string } {
  const tmp = `/tmp/reprolab-${scenario}`;
  return { script: `${GUEST_LAVA_DIR}/${scenario}.sh`, log: `${tmp}.log`, verdict: `${tmp}.verdict`, cases: `${tmp}.cases` };
}

/**
 * The test shell's steps: the scenario's run plan (guest.sh, the repro pack's renderer), judge.awk over
 * its output, the judgement printed with a prefix the lab's reader finds in the job log, and
 * cases.awk turning it into lava-test-case calls. Every step goes on whatever the one before it did:
 * a run that broke is judged ERROR (unknown), never skipped.
 */
export function testSteps(i: TestDefinitionInput): string[] {
  const name = i.scenario.name;
  const f = guestFiles(name);
  const awk = (vars: string[], program: string, input: string) => `LC_ALL=C awk ${vars.map(shellQuote).join(' ')} -f ${GUEST_LAVA_DIR}/${program} ${input}`;
  return [
    `sh ${f.script} > ${f.log} 2>&1 || echo "REPROLAB-PACK-ERROR guest.sh exited $?" >> ${f.log}`,
    `REPRO_FAILSYM=${shellQuote(i.judge.failSymptom)} ${awk(i.judge.vars, 'judge.awk', f.log)} > ${f.verdict} || true`,
    `sed 's/^/REPROLAB-LAVA ${name} /' ${f.verdict}`,
    `${awk(['-v', `ROLES=${i.roles.join(' ')}`, '-v', `EXPECTED=${i.expected}`, '-v', `REPEATS=${i.repeats}`, '-v', `KEYS=${variantKeys(i.scenario, i.roles).join(' ')}`], 'cases.awk', f.verdict)} > ${f.cases} || true`,
    `. ${f.cases}`,
  ];
}

/** The scenario's key numbers a variant's result line carries ("name=role.field"), as cases.awk measures them. */
export function variantKeys(s: Scenario, roles: string[]): string[] {
  const key = s.definition?.key ?? {};
  // A key name becomes a test case's name: LAVA allows [-_.a-zA-Z0-9] there.
  // The cell's own case names are not key names.
  return Object.entries(key).filter(([name, from]) => /^[A-Za-z][A-Za-z0-9_]*$/.test(name) && !CELL_CASES.includes(name) && roles.some((r) => from.startsWith(`${r}.`))).map(([name, from]) => `${name}=${from}`);
}

/** The inline test definition LAVA runs for one scenario. */
export function testDefinition(i: TestDefinitionInput): Record<string, unknown> {
  const s = i.scenario;
  return {
    repository: {
      metadata: { format: 'Lava-Test Test Definition 1.0', name: i.name, description: `${s.bug}: ${s.title}` },
      run: { steps: testSteps(i) },
    },
    from: 'inline',
    name: i.name,
    path: `inline/${i.name}.yaml`,
  };
}
