import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { loadAllTargets } from '../catalog/targets.ts';
import { installExitHandlers } from '../util/lifetime.ts';
import { registerBuildCommand } from './build-command.ts';
import { registerBisectCommand } from './bisect-command.ts';
import { registerReproCommands } from './repro-command.ts';
import { registerLavaCommands } from './lava-command.ts';
import { registerGuestCommands } from './guest-commands.ts';
import { registerFabricCommand } from './fabric-command.ts';
import { registerMatrixCommand, registerReportCommands } from './matrix-command.ts';
import { registerBuildrootCommands } from './buildroot-commands.ts';
import { registerSourcesCommand, sourceLines, sourceState } from './sources-command.ts';
import { checkSharedOptions, collect, inputDirOption } from './input.ts';
import { scenarioNames, useScenarioDirs } from '../scenarios/registry.ts';
import { registerScenarioCommands, registerSweepCommand, registerValidatePatchCommand } from './scenario-commands.ts';
import { registerSoakCommand } from './soak-command.ts';
import { diagnose, fixCommand, healthy, install } from '../doctor/doctor.ts';
import { targetAvailability, targetSources } from '../sources/availability.ts';
import { describeError, LabError, UsageError } from '../util/errors.ts';
import { terminalText } from '../util/safe-text.ts';
import { mirrorList, progressPrinter } from '../sources/download.ts';
import type { SourceOptions } from '../sources/resolve.ts';
import { labDirs, type LabDirs } from '../util/paths.ts';


function parseOverrides(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new UsageError(`--source ${pair}: expected PACKAGE=DIR`, { fix: 'e.g. --source linux-3.10.108=/path/to/linux-3.10.108' });
    out[pair.slice(0, i)] = path.resolve(pair.slice(i + 1));
  }
  return out;
}

/** A --source for a package no target builds would be ignored, and the build would use upstream instead. */
async function checkOverridePackages({ dirs, overrides }: { dirs: LabDirs; overrides: Record<string, string> }): Promise<void> {
  const named = Object.keys(overrides);
  if (!named.length) return;
  const known = new Set<string>();
  for (const t of await loadAllTargets(dirs.imported)) for (const s of await targetSources(t)) known.add(s.package);
  const unknown = named.filter((p) => !known.has(p));
  if (unknown.length) {
    throw new UsageError(`--source ${unknown[0]}=…: no target builds a package named ${unknown[0]}`, {
      fix: `name one of: ${[...known].sort().join(', ')}`,
    });
  }
}

/** The options every command shares, the users' scenario folders and the --source names. */
async function checkGlobalInput(program: Command, action: Command, global: { dirs: LabDirs; overrides: Record<string, string> }): Promise<void> {
  const scenarioDirs = program.opts<{ scenarioDir: string[] }>().scenarioDir;
  for (const d of scenarioDirs) inputDirOption('--scenario-dir', d);
  if (scenarioDirs.length) useScenarioDirs(scenarioDirs);
  // A broken definition is reported before any build or boot, naming its file.
  if (scenarioDirs.length || process.env['REPROLAB_SCENARIOS']) scenarioNames();
  await checkSharedOptions({ ...program.opts(), ...action.opts() }, async () => (await loadAllTargets(global.dirs.imported)).map((t) => t.name));
  await checkOverridePackages(global);
}

/** `reprolab doctor`: the host's packages, and their fix. */
function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check host packages (qemu, cross compilers, kernel build tools) and print the exact fix')
    .option('--install', 'install what is missing (root; runs apt-get update first)')
    .option('--tests', 'also what the test suite needs (a headless browser for the HTML report, the LAVA dispatcher)')
    .option('--lava', "also what reprolab lava needs (Debian's lava-dispatcher, about 1 GB)")
    .action(async (opts: { install?: boolean; tests?: boolean; lava?: boolean }) => {
      let report = await diagnose(opts);
      if (healthy(report)) {
        console.log('doctor: every host requirement is present');
        return;
      }
      console.log(`doctor: missing: ${[...report.missingWhat, ...report.missingArches.map((a) => `dpkg architecture ${a}`), ...(report.missingDebSrc ? ["an apt deb-src entry (for apt-get source)"] : [])].join(', ')}`);
      if (!opts.install) {
        // The same checks again, installing: --tests and --lava carry over.
        console.log(`fix: ${fixCommand(report)}   (or: reprolab doctor${opts.tests ? ' --tests' : ''}${opts.lava ? ' --lava' : ''} --install)`);
        process.exitCode = 1;
        return;
      }
      await install(report, (l) => console.log(`doctor: ${l}`));
      report = await diagnose(opts);
      if (!healthy(report)) throw new LabError(`still missing after install: ${report.missingWhat.join(', ')}`, { fix: fixCommand(report) });
      console.log('doctor: every host requirement is present');
    });
}

/** The whole command tree; a test walks it to try every option with a bad value. */
export function buildProgram(): Command {
  const program = new Command('reprolab')
    .exitOverride()
    .description('QEMU-based embedded reproduction lab: build, boot and judge netlink field bugs on emulated ARM and MIPS')
    .addOption(new Option('--cache-dir <dir>', 'where builds, sources and logs live').env('REPROLAB_CACHE'))
    .addOption(new Option('--downloads-dir <dir>', 'where pinned source archives are looked for').env('REPROLAB_DOWNLOADS'))
    .option('--source <package=dir>', 'use an unpacked source tree instead of the archive (repeatable)', collect, [] as string[])
    .option('--offline', 'never download a missing source archive (env: REPROLAB_OFFLINE=1)')
    .option('--mirror <url>', 'a mirror tried before upstream for source archives, <url>/<archive> (repeatable; env: REPROLAB_MIRRORS)', collect, [] as string[])
    .option('--scenario-dir <dir>', "a directory of your own scenarios, one folder each (repeatable; env: REPROLAB_SCENARIOS=DIR1:DIR2); see docs/scenarios.md, 'A scenario of your own'", collect, [] as string[])
    .addOption(new Option('--timeout-multiplier <x>', 'scale every timeout of the lab (boot, SSH, QMP, USB, probes) by x on a loaded machine; recorded in every result').env('REPROLAB_TIMEOUT_MULTIPLIER'));

  function globalDirs() {
    const o = program.opts<{ cacheDir?: string; downloadsDir?: string; source: string[]; offline?: boolean; mirror: string[] }>();
    const dirs = labDirs({ cacheDir: o.cacheDir, downloadsDir: o.downloadsDir });
    const overrides = parseOverrides(o.source);
    const sources: SourceOptions = { dirs, overrides, mirrors: mirrorList(o.mirror), progress: progressPrinter(), ...(o.offline ? { download: false } : {}) };
    return { dirs, overrides, sources };
  }

  // Shared option values are checked before any action: a bad one never starts a build or a boot.
  program.hook('preAction', (_self, action) => checkGlobalInput(program, action, globalDirs()));

  program
    .command('targets')
    .description('list targets and whether their sources are available')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { dirs, overrides } = globalDirs();
      const targets = await loadAllTargets(dirs.imported);
      const rows = await Promise.all(targets.map((t) => targetAvailability(t, { dirs, overrides, download: false })));
      if (opts.json) {
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      for (const r of rows) {
        console.log(`${sourceState(r).padEnd(8)} ${r.target.padEnd(28)} ${r.description}`);
        for (const line of sourceLines(r)) console.log(`         ${line}`);
      }
    });

  registerBuildCommand(program, globalDirs);
  registerGuestCommands(program, globalDirs);
  registerFabricCommand(program, globalDirs);
  registerScenarioCommands(program, globalDirs);
  registerSweepCommand(program, globalDirs);
  registerSoakCommand(program, globalDirs);
  registerValidatePatchCommand(program, globalDirs);
  registerBisectCommand(program, globalDirs);
  registerReproCommands(program);
  registerLavaCommands(program, globalDirs);
  registerMatrixCommand(program, globalDirs);
  registerReportCommands(program, globalDirs);
  registerBuildrootCommands(program, globalDirs);
  registerSourcesCommand(program, globalDirs);

  registerDoctorCommand(program);

  return program;
}

/** Exit codes: 0 as expected; 1 not as expected or the lab failed; 2 bad input (usage); 3 a regression. */
export async function main(argv: string[]): Promise<void> {
  installExitHandlers();
  // `reprolab targets | head`: a reader that has seen enough is not a failure (and no stack trace).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its one line (unknown option, missing argument).
      // --help and --version exit 0; no command at all (commander shows the help and says 1) is a usage error.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof UsageError) {
      // One line: a name or value from the user's input is shown escaped, never interpreted by the terminal.
      console.error(terminalText(`reprolab: ${err.message}${err.fix ? ` (${err.fix})` : ''}`));
      process.exitCode = 2;
      return;
    }
    // An error can carry guest stderr or a console line: control characters are shown, not sent.
    console.error(terminalText(`reprolab: ${describeError(err)}`, { multiline: true }));
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv);
