// A ceiling: what the platform allows for one scenario's job, measured beside the service in the
// same run. A bare node:http server (no framework, no auth, no validation, no logging) in its own
// process, on the service's database file or URL, running the SQL the service runs (prepared once,
// reused) and JSON.stringify:
//   CEILING=small      a fixed small JSON (the bytes of GET /health, without its database ping)
//   CEILING=list       a manager's page of 100 (GET /api/tasks?limit=100): the total (from the kept
//                      counts) while the page with both usernames by join is read, then the page's
//                      tags while which of them have subtasks is read
//   CEILING=analytics  a manager's analytics (GET /api/analytics): the two statements over the kept counts
// Environment: CEILING, DATABASE_URL, PORT, CEILING_USER_ID (the manager).
import { createServer, type ServerResponse } from 'node:http';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';

type Row = Record<string, unknown>;
type Query = (name: string, text: string, params: unknown[]) => Promise<Row[]>;

function sqliteQuery(path: string): Query {
  const db = new SqliteDatabase(path);
  db.pragma('busy_timeout = 5000');
  const statements = new Map<string, SqliteDatabase.Statement>();
  return async (name, text, params) => {
    let statement = statements.get(name);
    if (statement === undefined) {
      // As the service writes a parameter on SQLite (src/db/sqlite-dialect.ts): `+?`, which the
      // planner does not probe, so an analysed database does not recompile the statement per run.
      statement = db.prepare(text.replace(/\$\d+/g, '+?'));
      statements.set(name, statement);
    }
    return statement.all(...params) as Row[];
  };
}

function postgresQuery(url: string): Query {
  // The service's own type handling (db/database.ts): timestamps as ISO strings, NUMERIC/INT8 as numbers.
  const parseTimestamp = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ);
  const types = {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === pg.types.builtins.TIMESTAMPTZ) return (value: string) => (parseTimestamp(value) as Date).toISOString();
      if (oid === pg.types.builtins.NUMERIC || oid === pg.types.builtins.INT8) return (value: string) => Number(value);
      return pg.types.getTypeParser(oid, format);
    },
  };
  const pool = new pg.Pool({ connectionString: url, max: 10, types: types as pg.CustomTypesConfig });
  pool.on('error', () => undefined);
  return async (name, text, values) => (await pool.query({ name, text, values })).rows as Row[];
}

const placeholders = (from: number, count: number) => Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');

const TASK_COLUMNS =
  '"tasks"."id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."estimated_hours", ' +
  '"tasks"."actual_hours", "tasks"."deadline", "tasks"."priority_escalated", "tasks"."deadline_warning_sent_for", ' +
  '"tasks"."assigned_to", "tasks"."created_by", "tasks"."parent_task_id", "tasks"."created_at", "tasks"."updated_at"';

async function listPage(query: Query): Promise<{ total: number; body: string }> {
  // As the service does: the total from the counts migrations 0011 and 0013 keep, read while the page is.
  const counted = query(
    'count',
    'select sum(tasks) as total from (select status, tasks, estimated_cents, actual_cents from task_status_totals ' +
      'union all select status, tasks, estimated_cents, actual_cents from task_status_count_deltas) as counts',
    [],
  );
  const rows = await query(
    'page',
    `select ${TASK_COLUMNS}, "assignee"."username" as "assigned_to_user", "creator"."username" as "created_by_user" ` +
      'from "tasks" inner join "users" as "assignee" on "assignee"."id" = "tasks"."assigned_to" ' +
      'inner join "users" as "creator" on "creator"."id" = "tasks"."created_by" ' +
      'order by "tasks"."created_at" desc, "tasks"."id" desc limit $1 offset $2',
    [100, 0],
  );
  const ids = rows.map((row) => row.id);
  const tags = new Map<unknown, number[]>();
  const parents = new Set<unknown>();
  if (ids.length > 0) {
    const [tagRows, parentRows] = await Promise.all([
      query(
        `tags-${ids.length}`,
        `select "task_tags"."task_id", "task_tags"."tag_id" from "task_tags" where "task_tags"."task_id" in (${placeholders(1, ids.length)}) ` +
          'order by "task_tags"."task_id", "task_tags"."tag_id"',
        ids,
      ),
      query(
        `parents-${ids.length}`,
        `select distinct "tasks"."parent_task_id" from "tasks" where "tasks"."parent_task_id" in (${placeholders(1, ids.length)})`,
        ids,
      ),
    ]);
    for (const row of tagRows) {
      const list = tags.get(row.task_id);
      if (list) list.push(row.tag_id as number);
      else tags.set(row.task_id, [row.tag_id as number]);
    }
    for (const row of parentRows) parents.add(row.parent_task_id);
  }
  const tasks = rows.map((row) => ({
    id: row.id,
    title: row.title,
    description: row.description ?? '',
    status: row.status,
    priority: row.priority,
    estimated_hours: Number(row.estimated_hours),
    actual_hours: row.actual_hours === null ? null : Number(row.actual_hours),
    deadline: row.deadline,
    priority_escalated: Boolean(row.priority_escalated),
    assigned_to: row.assigned_to,
    assigned_to_user: row.assigned_to_user,
    created_by: row.created_by,
    created_by_user: row.created_by_user,
    parent_task: row.parent_task_id,
    is_parent: parents.has(row.id),
    tags: tags.get(row.id) ?? [],
    created_at: row.created_at,
    updated_at: row.updated_at,
  }));
  const [count] = await counted;
  return { total: Number(count?.total ?? 0), body: JSON.stringify(tasks) };
}

// The statement analytics.repository.ts runs per scope: the counts kept by migration 0011's
// triggers (the caller's own; for the team, migration 0013's totals over every assignee), with their
// deltas, in one row, and overdue from the per-day counts plus today's tasks before now. (On SQLite
// every parameter is written `+?`, as the service writes it.)
function statsQuery(scope: 'mine' | 'team', userId: number, now: string): { name: string; text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  const at = (instant: string) => param(instant);
  const where = (...conditions: string[]) => (conditions.length === 0 ? '' : `where ${conditions.join(' and ')}`);
  const own = () => (scope === 'mine' ? [`assigned_to = ${param(userId)}`] : []);
  const today = `${now.slice(0, 10)}T00:00:00.000Z`;
  const of = (status: string, column = 'tasks') => `sum(case when status = '${status}' then ${column} else 0 end)`;
  const columns = 'status, tasks, estimated_cents, actual_cents';
  const text =
    `select sum(tasks) as total, ${of('completed')} as completed, ${of('pending')} as pending, ` +
    `${of('in_progress')} as in_progress, ${of('blocked')} as blocked, ` +
    `${of('completed', 'estimated_cents')} as completed_estimated_cents, ${of('completed', 'actual_cents')} as completed_actual_cents, ` +
    '(select coalesce(sum(tasks), 0) from (' +
    `select tasks from ${scope === 'mine' ? 'task_deadline_counts' : 'task_deadline_totals'} ${where(...own(), `deadline_day < ${at(today)}`)} ` +
    `union all select tasks from task_deadline_count_deltas ${where(...own(), `deadline_day < ${at(today)}`)}) as past_days) + (` +
    `select count(*) from tasks ${where(...own(), "status in ('pending', 'in_progress', 'blocked')", `deadline >= ${at(today)}`, `deadline < ${at(now)}`)}) as overdue ` +
    `from (select ${columns} from ${scope === 'mine' ? 'task_status_counts' : 'task_status_totals'} ${where(...own())} ` +
    `union all select ${columns} from task_status_count_deltas ${where(...own())}) as counts`;
  return { name: `stats-${scope}`, text, values };
}

/** The statement's one row with every column as a number (sums over no rows are null). */
const stats = (row: Row = {}): Record<string, number> => Object.fromEntries(Object.entries(row).map(([column, value]) => [column, Number(value ?? 0)]));

const COUNTS = ['total', 'completed', 'pending', 'in_progress', 'blocked', 'overdue'];
const counts = (row: Record<string, number>) => Object.fromEntries(COUNTS.map((column) => [column, row[column] ?? 0]));

async function analytics(query: Query, userId: number): Promise<string> {
  const now = new Date().toISOString();
  const run = async (scope: 'mine' | 'team') => {
    const { name, text, values } = statsQuery(scope, userId, now);
    return stats((await query(name, text, values))[0]);
  };
  const mine = await run('mine');
  const team = await run('team');
  const { total = 0, completed = 0, completed_estimated_cents: estimated = 0, completed_actual_cents: actual = 0 } = mine;
  const completion = total === 0 ? 0 : (completed / total) * 100;
  const score = total === 0 ? 0 : actual <= 0 ? completion : 0.6 * completion + 0.4 * Math.min((estimated / actual) * 100, 100);
  return JSON.stringify({ my_tasks: counts(mine), team_tasks: counts(team), efficiency_score: Math.round(score * 100) / 100 });
}

function send(res: ServerResponse, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function main(): void {
  const kind = process.env.CEILING ?? 'small';
  const userId = Number(process.env.CEILING_USER_ID ?? 1);
  // The bench passes sqlite:///<absolute path> or postgresql://…
  const url = process.env.DATABASE_URL ?? '';
  const postgres = !url.startsWith('sqlite:///');
  const query = postgres ? postgresQuery(url) : sqliteQuery(url.slice('sqlite:///'.length));
  const health = { status: 'healthy', app: 'CTMS', version: '1.0.0', environment: 'production', database: 'ok' };
  const server = createServer((req, res) => {
    const fail = (error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    };
    if (req.url === '/health' || kind === 'small') return send(res, JSON.stringify(health));
    if (kind === 'list') listPage(query).then(({ total, body }) => send(res, body, { 'x-total-count': String(total) }), fail);
    else analytics(query, userId).then((body) => send(res, body), fail);
  });
  server.keepAliveTimeout = 72_000;
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));
}

main();
