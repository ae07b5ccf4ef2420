// The results: one table (scenarios and ceilings), the targets of issue 10 as PASS/FAIL, printed
// as a markdown table and written to bench/results/<date>-<db>.md with the command and machine.
import { cpus, freemem, loadavg, totalmem } from 'node:os';

/** CPU seconds used during a measured run (all its slices), by whom. */
export interface CpuUse {
  /** Wall-clock seconds the slices lasted. */
  seconds: number;
  /** The server (all its workers). */
  server: number;
  /** This process: autocannon and the bench around it. */
  loadGenerator: number;
  /** Every PostgreSQL process; null on SQLite (in the server process). */
  database: number | null;
}

export interface Row {
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Highest server RSS sampled during the scenario, bytes. */
  rss: number;
  cpu?: CpuUse;
  /** Throughput of this scenario's ceiling in the same run. */
  ceilingRps?: number;
  /** This scenario's throughput over its ceiling's: the median of the ratios of slices measured back to back. */
  ceilingRatio?: number;
  /** The ceiling's server CPU per answer over this scenario's, the same way. */
  ceilingRatioByCpu?: number;
  bytes?: number;
  note?: string;
}

export interface Target {
  name: string;
  measured: string;
  /** null: not measured in this run. */
  pass: boolean | null;
}

const MiB = 1024 * 1024;
const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const size = (bytes: number | undefined) =>
  bytes === undefined || bytes === 0 ? '' : bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} kB` : `${bytes.toFixed(0)} B`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Server CPU time per answered request (µs below 10 ms). */
function cpuPerRequest(r: Row): string {
  if (r.cpu === undefined || !Number.isFinite(r.rps) || r.rps <= 0) return '';
  const seconds = r.cpu.server / (r.rps * r.cpu.seconds);
  return seconds < 0.01 ? `${(seconds * 1e6).toFixed(0)} µs` : `${(seconds * 1000).toFixed(1)} ms`;
}

/** Cores kept busy during the run: server + load generator (+ PostgreSQL), of the machine's cores. */
function coresBusy(cpu: CpuUse | undefined): string {
  if (cpu === undefined || cpu.seconds <= 0) return '';
  const cores = (s: number) => (s / cpu.seconds).toFixed(2);
  return [cores(cpu.server), cores(cpu.loadGenerator), ...(cpu.database === null ? [] : [cores(cpu.database)])].join(' + ');
}

export function resultsTable(rows: Row[]): string {
  return table(
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'server RSS', 'ceiling req/s', 'ratio', 'answer size', 'server CPU/req', 'cores busy', 'notes'],
    rows.map((r) => [
      r.scenario,
      fixed(r.rps, 0),
      fixed(r.p50, 2),
      fixed(r.p99, 2),
      String(r.errors),
      r.rss > 0 ? `${(r.rss / MiB).toFixed(0)} MiB` : '',
      r.ceilingRps === undefined ? '' : fixed(r.ceilingRps, 0),
      r.ceilingRatio === undefined || !Number.isFinite(r.ceilingRatio) ? '' : `${(r.ceilingRatio * 100).toFixed(0)} %`,
      size(r.bytes),
      cpuPerRequest(r),
      coresBusy(r.cpu),
      r.note ?? '',
    ]),
  );
}

export function targetsTable(targets: Target[]): string {
  return table(
    ['target', 'measured', 'verdict'],
    targets.map((t) => [t.name, t.measured, t.pass === null ? 'not measured' : t.pass ? 'PASS' : 'FAIL']),
  );
}

export function machine(): string {
  const cpu = cpus();
  return [
    `- cores: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`,
    `- memory: ${(totalmem() / 1024 ** 3).toFixed(1)} GiB (${(freemem() / 1024 ** 3).toFixed(1)} GiB free at the start)`,
    `- node ${process.version}, ${process.platform}-${process.arch}`,
    `- load average at the start: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(', ')} (the machine is shared: absolute figures are noisy, ratios within one run much less)`,
  ].join('\n');
}
