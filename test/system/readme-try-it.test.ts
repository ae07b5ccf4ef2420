// The README's "Try it" script works as written: taken from README.md between its markers (so the
// README and this test cannot drift), run by bash against a server started as `npm start` starts it
// (the sources through tsx, in development) on a fresh database, it succeeds, prints what the
// README promises and leaves what it says in the database. scripts/try-it.sh is the same script.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort, ROOT, startServer, type ServerProcess } from '../helpers/processes.js';

const TRY_IT = /<!-- try-it:start -->\n```bash\n([\s\S]*?)```\n<!-- try-it:end -->/;

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The script between the README's markers. */
function readmeTryIt(): string {
  const script = TRY_IT.exec(README)?.[1];
  if (script === undefined) throw new Error('README.md has no ```bash block between <!-- try-it:start --> and <!-- try-it:end -->');
  return script;
}

const hasJq = spawnSync('jq', ['--version']).status === 0;
// CI installs jq (.ci/run); on a workstation without it the run is skipped, saying why.
const skipReason = hasJq || process.env.CI ? undefined : 'skipped: no jq (apt-get install jq)';

function runBash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    // -e and pipefail: any failed curl (-f) or jq stops the run with its exit code.
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => done({ code, output }));
  });
}

describe('the README', () => {
  it('starts with npm install && npm start, then npm test', () => {
    const blocks = [...README.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]?.trim());
    expect(blocks.slice(0, 2)).toEqual(['npm install && npm start', 'npm test']);
  });

  it('shows the Try-it script that scripts/try-it.sh runs', () => {
    const script = readmeTryIt();
    expect(readFileSync(join(ROOT, 'scripts/try-it.sh'), 'utf8').endsWith(script)).toBe(true);
    // The cookie jar lives outside the repository.
    expect(script).toMatch(/JAR="\$\(mktemp -d\)\//);
  });
});

describe.skipIf(skipReason !== undefined)(`the README's Try-it script against a started server${skipReason ? ` (${skipReason})` : ''}`, () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let env: NodeJS.ProcessEnv;
  // The script's mktemp (the cookie jar) goes here, removed afterwards.
  let scratch = '';

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ctms-try-it-'));
    database = await createTestDatabase({ migrate: false });
    const port = await freePort();
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ENVIRONMENT: 'development',
      DATABASE_URL: database.url,
      // Given, so that nothing is written under ./data.
      SECRET_KEY: randomBytes(32).toString('hex'),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      BCRYPT_ROUNDS: '4',
      JOBS_ENABLED: 'false',
    };
    // As `npm start` does: the sources through tsx.
    server = await startServer({ ...env, NODE_OPTIONS: '--import tsx' }, 120_000, join(ROOT, 'src/server.ts'));
  }, 150_000);
  afterAll(async () => {
    await server?.stop();
    await database?.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('runs as written: log in, refresh, create a task, notifications, register', async () => {
    const { code, output } = await runBash(readmeTryIt(), { ...env, BASE: server.url, TMPDIR: scratch });
    expect(code, output).toBe(0);
    expect(output).toContain('username: demo_manager');
    expect(output).toContain('{"username":"demo_manager","role":"manager"}');
    expect(output).toMatch(/\{"id":\d+,"title":"Try the API","assigned_to_user":"demo_dev","deadline":"\d{4}-[^"]+Z"\}/);
    expect(output).toContain('{"notification_type":"task_assigned","message":"You have been assigned to task \\"Try the API\\""}');
    expect(output).toContain('Email verified successfully');
    expect(output).toContain('{"token_type":"bearer","expires_in":1200}');

    const db = database.handle.db;
    const task = await db
      .selectFrom('tasks')
      .innerJoin('users', 'users.id', 'tasks.assigned_to')
      .select(['tasks.id', 'tasks.priority', 'users.username'])
      .where('tasks.title', '=', 'Try the API')
      .executeTakeFirstOrThrow();
    expect(task).toMatchObject({ priority: 'high', username: 'demo_dev' });
    const notified = await db.selectFrom('notifications').select('notification_type').where('task_id', '=', task.id).execute();
    expect(notified).toEqual([{ notification_type: 'task_assigned' }]);
    const newcomer = await db.selectFrom('users').select(['role', 'email_verified']).where('username', 'like', 'newcomer%').execute();
    expect(newcomer).toHaveLength(1);
    expect(newcomer[0]?.role).toBe('developer');
    expect(Boolean(newcomer[0]?.email_verified)).toBe(true);
    // One login of the manager: the refresh kept its session (rotating the token), it made no other.
    const sessions = await db
      .selectFrom('user_sessions')
      .innerJoin('users', 'users.id', 'user_sessions.user_id')
      .select('user_sessions.id')
      .where('users.username', '=', 'demo_manager')
      .execute();
    expect(sessions).toHaveLength(1);
  }, 240_000);
});
