// lowerHelperThreadPriority (runtime/thread-priority.ts) in a process of its own, started with
// `nice`: every helper thread ends up below the event loop's priority, never above it, and a second
// call changes nothing. (production.test.ts checks the server process as it starts: loop 0, helpers 10.)
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.js';

const run = promisify(execFile);
/** `nice -n N` adds to the niceness this test runs at; 19 is the lowest priority there is. */
const niceAfter = (added: number, base = getPriority()) => Math.min(19, base + added);

const SCRIPT = `
import { readdirSync, readFileSync } from 'node:fs';
import { lowerHelperThreadPriority } from ${JSON.stringify(join(ROOT, 'src/runtime/thread-priority.ts'))};
// Field 19 of /proc/self/task/<tid>/stat is the thread's nice value (after the command in parentheses).
const nice = (tid) => Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]);
const first = lowerHelperThreadPriority();
const second = lowerHelperThreadPriority();
const helpers = readdirSync('/proc/self/task').filter((tid) => tid !== String(process.pid)).map(nice);
console.log(JSON.stringify({ first, second, main: nice(String(process.pid)), helpers }));
`;

async function underNice(niceness: number) {
  const { stdout } = await run('nice', ['-n', String(niceness), process.execPath, '--import', 'tsx', '--input-type=module', '-e', SCRIPT], { cwd: ROOT });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { first: { lowered: number }; second: { lowered: number }; main: number; helpers: number[] };
}

describe.runIf(existsSync('/proc/self/task') && existsSync('/usr/bin/nice'))('helper threads below the event loop', () => {
  it('puts them 10 below a process started 5 below this one, and changes nothing the second time', async () => {
    const seen = await underNice(5);
    expect(seen.main).toBe(niceAfter(5));
    expect(seen.helpers.length).toBeGreaterThanOrEqual(4);
    expect(new Set(seen.helpers)).toEqual(new Set([niceAfter(10, seen.main)]));
    expect(seen.first.lowered).toBe(seen.helpers.length);
    expect(seen.second.lowered).toBe(0);
  });

  it('never above the loop of a process started 15 below this one: the helpers go to the lowest priority, 19', async () => {
    const seen = await underNice(15);
    expect(seen.main).toBe(niceAfter(15));
    expect(new Set(seen.helpers)).toEqual(new Set([19]));
  });
});
