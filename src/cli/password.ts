// Where a command's password comes from: a prompt that does not echo (on a terminal), the first line
// of standard input (--password-stdin, for scripts), or --password (kept for compatibility; it warns,
// since the value lands in shell history and in every process listing).
import { CliError, type Output, type Values } from './command.js';

/** Standard input as the CLI needs it; a terminal also offers raw mode (no echo, key by key). */
export interface PasswordInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface PasswordTerminal {
  stdin: PasswordInput;
  /** Writes prompt text (standard error, so standard output keeps only results). */
  prompt(text: string): void;
}

/**
 * The API's rule for new passwords (PasswordSchema, whose limits a test compares with these: the
 * schema module is not loaded here, as it would slow every call of the CLI down).
 */
export const PASSWORD_LENGTH = { min: 8, max: 100 } as const;

/** Characters counted as the API's validator counts them (code points). */
export function passwordProblem(password: string, label: string): string | undefined {
  const { min, max } = PASSWORD_LENGTH;
  const length = [...password].length;
  return length < min || length > max ? `${label} must be ${min}-${max} characters` : undefined;
}

export const PASSWORD_FLAG_WARNING =
  'Warning: --password may leak into shell history and process lists; prefer the prompt or --password-stdin.';

/**
 * Decides where the password comes from, before any database work: conflicting options, or no
 * terminal to prompt on, are errors now rather than after the database was opened.
 * Returns the function that obtains (and checks) it.
 */
export function passwordSource(values: Values, terminal: PasswordTerminal, err: Output, prompt: string): () => Promise<string> {
  const flag = values.password;
  const fromStdin = values['password-stdin'] === true;
  if (typeof flag === 'string' && fromStdin) throw new CliError('Use either --password or --password-stdin, not both');
  if (typeof flag === 'string') {
    err(PASSWORD_FLAG_WARNING);
    const password = checked(flag, '--password');
    return async () => password;
  }
  // On a terminal, "standard input" is the person typing: asked without echo rather than read
  // as a line the terminal would show.
  if (fromStdin && !terminal.stdin.isTTY) {
    return async () => {
      const line = await readLine(terminal.stdin);
      if (line === undefined) throw new CliError('--password-stdin: standard input is empty');
      return checked(line, 'The password from standard input');
    };
  }
  if (!terminal.stdin.isTTY || !terminal.stdin.setRawMode) {
    // Nobody could answer a prompt: refused now, not after the database was opened.
    throw new CliError('No password given: run this in a terminal to be asked for it, or pipe it with --password-stdin');
  }
  return async () => {
    const first = checked(await promptHidden(terminal, prompt), 'The password');
    const again = await promptHidden(terminal, 'Repeat it: ');
    if (again !== first) throw new CliError('The passwords do not match');
    return first;
  };
}

function checked(password: string, label: string): string {
  const problem = passwordProblem(password, label);
  if (problem) throw new CliError(problem);
  return password;
}

/**
 * The first line of the stream, without its line ending (undefined when the stream ends empty).
 * Only that line is consumed: the rest stays unread.
 */
export function readLine(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (line: string | undefined) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      resolve(line?.replace(/\r$/, ''));
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const end = text.indexOf('\n');
      if (end !== -1) finish(text.slice(0, end));
    };
    const onEnd = () => finish(text === '' ? undefined : text);
    const onError = (error: Error) => {
      stream.pause();
      reject(new CliError(`Cannot read standard input: ${error.message}`));
    };
    stream.setEncoding('utf8');
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}

// Escape sequences (arrow keys and the like) are no part of a password: ignored.
// eslint-disable-next-line no-control-regex -- matching the escape character is the point
const CONTROL_SEQUENCE = /\u001b(?:\[[0-9;?]*[ -/]*[@-~]|O.|.)?/gu;

/** Asks on the terminal with echo off; Enter ends, Backspace erases, Ctrl-U clears, Ctrl-C or Ctrl-D cancels. */
function promptHidden(terminal: PasswordTerminal, question: string): Promise<string> {
  const { stdin } = terminal;
  // Echo off before the question shows: whatever is typed once it is visible never echoes.
  stdin.setRawMode?.(true);
  terminal.prompt(question);
  return new Promise((resolve, reject) => {
    let typed: string[] = [];
    const stop = () => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      terminal.prompt('\n');
    };
    const onData = (chunk: Buffer | string) => {
      for (const key of chunk.toString().replace(CONTROL_SEQUENCE, '')) {
        if (key === '\r' || key === '\n') {
          stop();
          resolve(typed.join(''));
          return;
        }
        if (key === '\u0003' || (key === '\u0004' && typed.length === 0)) {
          stop();
          reject(new CliError('Cancelled'));
          return;
        }
        if (key === '\u007f' || key === '\b') typed = typed.slice(0, -1);
        else if (key === '\u0015') typed = [];
        else if (key >= ' ') typed.push(key);
      }
    };
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.resume();
  });
}
