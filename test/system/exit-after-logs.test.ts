// exitAfterLogs (runtime/log-output.ts) in a process of its own, logging through pino's default
// destination (asynchronous, as the server's in production): a line logged behind a large one still
// being written reaches the pipe after it, whole, and the process exits with the code asked for.
// With a plain process.exit, pino's flush at exit wrote the last line first (or into the middle of
// the large one).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.js';

const script = (exit: 'exitAfterLogs' | 'plain', code: number) => `
import { pino } from 'pino';
import { exitAfterLogs } from ${JSON.stringify(join(ROOT, 'src/runtime/log-output.ts'))};
const log = pino();
log.info({ filler: 'x'.repeat(4_000_000) }, 'large');
log.info('last');
${exit === 'plain' ? `process.exit(${code})` : `exitAfterLogs(log, ${code})`};
`;

/** Runs the script, reading its output slowly enough that the large line is still in flight at the end. */
function run(source: string): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 1);
    });
    child.once('close', (code) => done({ code, lines: output.split('\n').filter((line) => line !== '') }));
  });
}

const messages = (lines: string[]) =>
  lines.map((line) => {
    try {
      return (JSON.parse(line) as { msg: string }).msg;
    } catch {
      return 'not a JSON line';
    }
  });

describe('exitAfterLogs', () => {
  it('exits after the lines logged before it, written whole and in order', async () => {
    const { code, lines } = await run(script('exitAfterLogs', 0));
    expect(messages(lines)).toEqual(['large', 'last']);
    expect(code).toBe(0);
  }, 30_000);

  it('exits with the code asked for', async () => {
    const { code, lines } = await run(script('exitAfterLogs', 3));
    expect(messages(lines)).toEqual(['large', 'last']);
    expect(code).toBe(3);
  }, 30_000);
});
