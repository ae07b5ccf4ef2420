// Processes the benchmark starts: the production server (`node <build>/server.js`) and the bare
// node:http ceilings, each in its own process with its output in a log file; and their memory and
// CPU time, read from /proc (VmRSS; utime + stime), summed over cluster workers.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { freePort, ROOT, waitUntilServing } from '../test/helpers/processes.js';

export interface Served {
  child: ChildProcess;
  pid: number;
  url: string;
  port: number;
  logFile: string;
  /** Resident memory in bytes: the process, or with workers the sum of its child processes. */
  rss(): number;
  /** CPU seconds used so far (user + system): the process and, with workers, its child processes. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export function vmRss(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** /proc/<pid>/stat's fields after `comm` (which may hold spaces and parentheses), or null when gone. */
function statFields(pid: number | string): { comm: string; fields: string[] } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
  } catch {
    return null;
  }
}

function processIds(): string[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
}

function childPids(pid: number): number[] {
  // fields: state ppid …
  return processIds().flatMap((entry) => (Number(statFields(entry)?.fields[1]) === pid ? [Number(entry)] : []));
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux for every architecture we run on). */
const TICKS_PER_SECOND = 100;

/** CPU seconds a process has used (utime + stime, fields 14 and 15 of /proc/<pid>/stat); 0 when it is gone. */
export function cpuSeconds(pid: number | string): number {
  const stat = statFields(pid);
  if (stat === null) return 0;
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(stat.fields[11]) + Number(stat.fields[12])) / TICKS_PER_SECOND;
}

/**
 * CPU seconds used so far by every PostgreSQL process on the machine (the postmaster's children:
 * backends, the WAL writer, …), and by those that have exited: a backend that ends during a slice
 * (a pool closing a connection) takes its own times with it, but the postmaster, having reaped it,
 * carries them in its children's times (cutime + cstime, fields 16 and 17). Other clients' work is
 * counted too: on a quiet machine it is ours.
 */
export function postgresCpuSeconds(): number {
  return processIds().reduce((sum, pid) => {
    const stat = statFields(pid);
    if (stat?.comm !== 'postgres') return sum;
    const [user, system, reapedUser, reapedSystem] = stat.fields.slice(11, 15).map(Number);
    return sum + ((user ?? 0) + (system ?? 0) + (reapedUser ?? 0) + (reapedSystem ?? 0)) / TICKS_PER_SECOND;
  }, 0);
}

export interface SpawnOptions {
  args: string[];
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Sum the RSS of the child processes (cluster workers) instead of the process's own. */
  workers: boolean;
  port?: number;
  readyPath?: string;
  timeoutMs?: number;
}

export async function spawnServer(options: SpawnOptions): Promise<Served> {
  const port = options.port ?? (await freePort());
  const log = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, options.args, {
    cwd: ROOT,
    env: { ...options.env, PORT: String(port) },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const tail = () => readFileSync(options.logFile, 'utf8').split('\n').slice(-30).join('\n');
  try {
    await waitUntilServing(`${url}${options.readyPath ?? '/health'}`, () => child.exitCode !== null, options.timeoutMs ?? 60_000, tail);
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  }
  const pid = child.pid ?? 0;
  return {
    child,
    pid,
    url,
    port,
    logFile: options.logFile,
    rss: () => (options.workers ? childPids(pid).reduce((sum, p) => sum + vmRss(p), 0) : vmRss(pid)),
    cpuSeconds: () => cpuSeconds(pid) + (options.workers ? childPids(pid).reduce((sum, p) => sum + cpuSeconds(p), 0) : 0),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Samples `read` every `everyMs` until stopped; `max()` is the highest sample. */
export function sampler(read: () => number, everyMs = 200) {
  let max = read();
  const timer = setInterval(() => (max = Math.max(max, read())), everyMs);
  return {
    stop(): number {
      clearInterval(timer);
      max = Math.max(max, read());
      return max;
    },
  };
}
