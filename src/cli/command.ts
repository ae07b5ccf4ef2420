// What a `ctms` command is (its options, its help, how its input is checked) and the strict
// parsing of its arguments. Nothing here touches the configuration or the database: a command's
// `--help`, an unknown option or a bad value is answered before either is opened.
//
// Parsing uses node:util parseArgs rather than commander: it is built in (no dependency, nothing
// to load, so `ctms --help` starts at once), strict mode already rejects unknown options and
// positionals, and the help text is ours to write in the tone of the rest of the CLI.
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';

/** A failure meant for the person at the terminal: printed as one line, exit code 1. */
export class CliError extends Error {}

export type Output = (line: string) => void;

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The placeholder in the help (`U` in `--username U`); string options only. */
  value?: string;
  description: string;
}

export type Values = Record<string, string | boolean | undefined>;

export interface Invocation {
  values: Values;
  positionals: string[];
}

export interface CommandContext {
  config: Config;
  database: DatabaseHandle;
  out: Output;
  /** The password from --password, --password-stdin or the prompt (commands with `password`). */
  password(): Promise<string>;
  /**
   * After a committed change to these users or their sessions: resolves once no running instance
   * answers a session check from what it read of them before (the session cache, with Redis).
   */
  forgetSessions(userIds: readonly number[]): Promise<void>;
}

/** The work of one invocation whose arguments were found valid. */
export type Runner = (ctx: CommandContext) => Promise<void>;

export interface CommandSpec {
  name: string;
  /** Everything after `ctms ` in the usage line. */
  synopsis: string;
  /** One line for `ctms --help`. */
  summary: string;
  /** More lines for `ctms <command> --help`. */
  details?: string[];
  options: Record<string, OptionSpec>;
  /** Whether the command takes positional arguments (checked by `prepare`); otherwise they are errors. */
  positionals?: boolean;
  /** Adds --password and --password-stdin; without either the password is asked at a prompt. */
  password?: { prompt: string };
  /** Checks the arguments (no I/O but loading modules) and returns the work, or throws a CliError. */
  prepare(invocation: Invocation): Runner | Promise<Runner>;
}

export const PASSWORD_OPTIONS: Record<string, OptionSpec> = {
  'password-stdin': { type: 'boolean', description: 'read the password from the first line of standard input' },
  password: { type: 'string', value: 'P', description: 'the password itself (warns: it may leak into shell history and process lists)' },
};

const HELP_OPTION: OptionSpec = { type: 'boolean', description: 'show this help and do nothing else' };

function allOptions(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, ...(spec.password ? PASSWORD_OPTIONS : {}), help: HELP_OPTION };
}

export type Parsed = { help: true } | { help: false; invocation: Invocation };

/**
 * Parses a command's arguments strictly: unknown options, missing values, repeated options and
 * (unless the command takes them) positionals are CliErrors. `--help` or `-h` anywhere before a
 * `--` wins over everything else, even over arguments that would be errors.
 */
export function parseCommandArgs(spec: CommandSpec, args: string[]): Parsed {
  const terminator = args.indexOf('--');
  const beforeTerminator = terminator === -1 ? args : args.slice(0, terminator);
  const asksHelp = beforeTerminator.some((arg) => arg === '--help' || arg === '-h');
  const options = Object.fromEntries(
    Object.entries(allOptions(spec)).map(([name, option]) => [name, name === 'help' ? { type: option.type, short: 'h' } : { type: option.type }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: spec.positionals === true, tokens: true });
  } catch (error) {
    if (asksHelp) return { help: true };
    // parseArgs' first sentence says it all; its hints (about '--' and positionals) would confuse here.
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new CliError(message.replace(/\. (?:To specify|This command does not).*$/, ''));
  }
  if (asksHelp || parsed.values.help) return { help: true };
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) throw new CliError(`Option '--${token.name}' given more than once`);
    seen.add(token.name);
  }
  const { help: _help, ...values } = parsed.values;
  return { help: false, invocation: { values, positionals: parsed.positionals } };
}

const column = (rows: [string, string][]): string[] => {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`);
};

/** `ctms <command> --help`. */
export function commandHelp(spec: CommandSpec): string {
  const options = Object.entries(allOptions(spec)).map(([name, option]): [string, string] => [
    `${name === 'help' ? '-h, ' : ''}--${name}${option.value ? ` ${option.value}` : ''}`,
    option.description,
  ]);
  const lines = [`Usage: ctms ${spec.synopsis}`, '', `${spec.summary[0]?.toUpperCase()}${spec.summary.slice(1)}.`];
  if (spec.details) lines.push(...spec.details);
  if (spec.password) lines.push('', 'Without --password or --password-stdin the password is asked at a prompt, without echo (twice).');
  lines.push('', 'Options:', ...column(options));
  return lines.join('\n');
}

/** `ctms --help`: every command. */
export function overviewHelp(specs: readonly CommandSpec[]): string {
  return [
    'Usage: ctms <command> [options]',
    '',
    'Commands:',
    ...column(specs.map((spec) => [spec.name, spec.summary])),
    '',
    "Run 'ctms <command> --help' (or 'ctms help <command>') for a command's options. The command reads",
    'the same configuration as the server (environment variables, then .env).',
  ].join('\n');
}
