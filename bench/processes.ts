// Processes the benchmark starts: the production server (`node <build>/server.js`) and the bare
// node:http ceilings, each in its own process with its output in a log file; and their memory,
// read from /proc (VmRSS), summed over cluster workers.
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

function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid … — comm may hold spaces and parentheses: read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
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
