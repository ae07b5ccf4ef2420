// The `ctms` command line: database migrations, maintenance and user administration, reading the
// same configuration as the server. Arguments are checked before anything else happens: `--help`,
// an unknown command or option, or a bad value never loads the configuration nor opens the
// database. Every failure prints one clear line and exits with code 1.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError, commandHelp, overviewHelp, parseCommandArgs, type Output } from './cli/command.js';
import { COMMANDS, findCommand } from './cli/commands.js';
import { passwordSource, type PasswordTerminal } from './cli/password.js';
import type { SessionCache } from './modules/auth/session-cache.js';

export { CliError } from './cli/command.js';

const seeHelp = (name?: string) => `run 'ctms ${name ? `${name} ` : ''}--help' for usage`;

// process.stdin is only touched (and so created) by a command that reads a password.
const processTerminal = (): PasswordTerminal => ({
  get stdin() {
    return process.stdin;
  },
  prompt: (text) => void process.stderr.write(text),
});

/**
 * Runs one CLI invocation; returns the exit code. `env` defaults to the process environment over
 * `.env`; `terminal` (standard input and the prompt) is injectable for tests.
 */
export async function runCli(
  argv: string[],
  env?: Record<string, string | undefined>,
  out: Output = (l) => console.log(l),
  err: Output = (l) => console.error(l),
  terminal: PasswordTerminal = processTerminal(),
): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    err(overviewHelp(COMMANDS));
    return 1;
  }
  if (name === '--help' || name === '-h' || name === 'help') return help(args, out, err);
  const spec = findCommand(name);
  if (!spec) {
    err(`Error: ${name.startsWith('-') ? `Unknown option '${name}'` : `Unknown command '${name}'`}; ${seeHelp()}`);
    return 1;
  }

  let run;
  let password: () => Promise<string> = () => Promise.reject(new CliError(`${spec.name} takes no password`));
  try {
    const parsed = parseCommandArgs(spec, args);
    if (parsed.help) {
      out(commandHelp(spec));
      return 0;
    }
    run = await spec.prepare(parsed.invocation);
    if (spec.password) password = passwordSource(parsed.invocation.values, terminal, err, spec.password.prompt);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    err(`Error: ${error.message}; ${seeHelp(spec.name)}`);
    return 1;
  }

  // Loaded only now: the configuration module and the database drivers are not needed before.
  const { ConfigError, loadConfig, readEnvironment } = await import('./config.js');
  let config;
  try {
    config = loadConfig(env ?? readEnvironment());
  } catch (error) {
    err(error instanceof ConfigError ? error.message : String(error));
    return 1;
  }
  const { createDatabase } = await import('./db/database.js');
  const { redisUrl, redisKeyPrefix, sessionCacheMs } = config;
  let database;
  let sessionCache: SessionCache | undefined;
  const forgetSessions = async (userIds: readonly number[]) => {
    if (redisUrl === null || sessionCacheMs === 0 || userIds.length === 0) return;
    const { redisSessionCache } = await import('./modules/auth/session-cache.js');
    const log = { warn: (_fields: object, message: string) => err(`Warning: ${message}`), info: () => undefined };
    sessionCache ??= redisSessionCache({ redisUrl, keyPrefix: redisKeyPrefix, lifetimeMs: sessionCacheMs, log, holdEntries: false });
    await sessionCache.forget(userIds);
  };
  try {
    database = createDatabase(config.databaseUrl);
    await run({ config, database, out, password, forgetSessions });
    return 0;
  } catch (error) {
    err(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await sessionCache?.close();
    await database?.close();
  }
}

/** `ctms help [command]`, `ctms --help`. */
function help(args: string[], out: Output, err: Output): number {
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h') {
    out(overviewHelp(COMMANDS));
    return 0;
  }
  const [name, ...extra] = args;
  const spec = name === undefined ? undefined : findCommand(name);
  if (!spec || extra.length > 0) {
    err(`Error: ${spec ? `Unexpected argument '${extra[0]}'` : `Unknown command '${name}'`}; ${seeHelp()}`);
    return 1;
  }
  out(commandHelp(spec));
  return 0;
}

/** Runs the command line of this process and exits with its code (bin/ctms.js, `node dist/cli.js`). */
export async function main(argv: string[] = process.argv.slice(2)): Promise<never> {
  const code = await runCli(argv);
  process.exit(code);
}

const entry = process.argv[1];
const isEntryPoint = entry !== undefined && realpathSafe(entry) === fileURLToPath(import.meta.url);
if (isEntryPoint) void main();

function realpathSafe(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
