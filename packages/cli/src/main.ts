#!/usr/bin/env node
/**
 * `nst`: the operator CLI and the composition root of the pipeline. Every command reads the
 * environment once (env.ts), opens only the connections it needs, and closes them before exit.
 * Any failure ends as one line on stderr and a non-zero exit code.
 */
import { Command, CommanderError } from 'commander';
import { NstError } from '@nst/shared/errors';
import { readCliEnv } from './env';
import { CliContext } from './context';
import { registerMigrate } from './commands/migrate';
import { registerSources } from './commands/sources';
import { registerStatus } from './commands/status';
import { registerRun } from './commands/run';
import { registerParse } from './commands/parse';
import { registerProgress } from './commands/progress';
import { registerFetch } from './commands/fetch';
import { registerReprocess } from './commands/reprocess';
import { registerJobs } from './commands/jobs';
import { registerOpsUi } from './commands/ops-ui';
import { describeError } from './describe-error';

export type Register = (program: Command, context: () => CliContext) => void;

export function buildProgram(context: () => CliContext): Command {
  const program = new Command('nst')
    .description('North–South Transformation Tracker: operator CLI')
    .showHelpAfterError()
    .exitOverride();
  for (const register of [
    registerMigrate,
    registerSources,
    registerStatus,
    registerRun,
    registerFetch,
    registerParse,
    registerReprocess,
    registerProgress,
    registerJobs,
    registerOpsUi,
  ]) register(program, context);
  return program;
}

async function main(argv: string[]): Promise<number> {
  let ctx: CliContext | undefined;
  const context = () => {
    // The environment is read on first use, so `nst --help` works with a broken environment.
    ctx ??= new CliContext(readCliEnv());
    return ctx;
  };
  try {
    await buildProgram(context).parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`nst: ${describeError(error)}\n`);
    return error instanceof NstError && error.code === 'usage' ? 2 : 1;
  } finally {
    await ctx?.close();
  }
}

process.exitCode = await main(process.argv);
