import { Command, Option } from 'commander';
import { BACKEND_NAMES } from '@farmer/core';
import { CliContext, type GlobalOptions } from './context.js';
import { describeError, EXIT_OK, EXIT_USAGE, isCommanderExit } from './errors.js';
import { classifyCommand } from './commands/classify.js';
import { demoCommand } from './commands/demo.js';
import { distillCommand } from './commands/distill.js';
import { serveCommand } from './commands/serve.js';
import { evalCommand } from './commands/eval.js';
import { addJacobiEvalCommand } from './commands/eval-jacobi.js';
import { addLikelihoodEvalCommands } from './commands/eval-likelihood.js';
import { addSampleMetricCommands } from './commands/eval-samples.js';
import { exploreCommand } from './commands/explore.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { inspectCommand } from './commands/inspect.js';
import { decodeCommand, encodeCommand } from './commands/latents.js';
import { sampleCommand } from './commands/sample.js';
import { trainCommand } from './commands/train.js';
import { workerCommand } from './commands/worker.js';

/** The `farmer` program. Commands parse and validate, call the library, and format. */
export function buildProgram(): Command {
  const program = new Command('farmer')
    .description('FARMER: a pixel-space flow + autoregressive image generator with exact likelihoods')
    .addOption(new Option('--backend <name>', 'tfjs backend (default: best available, or env FARMER_BACKEND)').choices(['auto', ...BACKEND_NAMES]))
    .option('--json', 'print the result as JSON on stdout')
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'print stack traces with errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const ctx = () => new CliContext(program.opts<GlobalOptions>());
  // No command imports another: `eval`'s subcommand groups are composed here.
  const evalWithGroups = (c: () => CliContext) => evalCommand(c, [addSampleMetricCommands, addLikelihoodEvalCommands, addJacobiEvalCommand]);
  for (const cmd of [demoCommand, trainCommand, sampleCommand, classifyCommand, evalWithGroups, inspectCommand, importCommand, encodeCommand, decodeCommand, exploreCommand, exportCommand, distillCommand, serveCommand, workerCommand]) {
    program.addCommand(cmd(ctx));
  }
  // Subcommands share the error handling of the root.
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Runs the CLI with `argv` (as process.argv); resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (e) {
    if (isCommanderExit(e)) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const { code, message } = describeError(e, Boolean(program.opts<GlobalOptions>().verbose));
    process.stderr.write(`${message}\n`);
    return code;
  }
}
