// The production build for tests that run `node server.js` as a real process: the sources compiled
// with the project's tsconfig.json (what `npm run build` does) into a directory named after a hash of
// the sources. Test files running side by side share one build (the first compiles, the others wait
// for it), a rerun on unchanged sources compiles nothing, and dist/ — which other tests and people
// use — is never rewritten under them.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './processes.js';

export interface ProductionBuild {
  dir: string;
  server: string;
  cli: string;
}

// Inside node_modules so that the compiled files resolve the project's packages.
const CACHE = join(ROOT, 'node_modules', '.cache', 'ctms-production-build');
const KEEP_BUILDS = 3;
const LOCK_STALE_MS = 10 * 60_000;
const WAIT_MS = 8 * 60_000;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of [join(ROOT, 'tsconfig.json'), ...filesUnder(join(ROOT, 'src')).sort()]) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function compile(outDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const tsc = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', outDir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    tsc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    tsc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    tsc.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc failed (${code}):\n${output}`))));
  });
}

/** Removes all but the newest builds. */
function prune(): void {
  const builds = readdirSync(CACHE)
    .filter((name) => /^[0-9a-f]{16}$/.test(name))
    .map((name) => ({ name, time: statSync(join(CACHE, name)).mtimeMs }))
    .sort((a, b) => b.time - a.time);
  for (const old of builds.slice(KEEP_BUILDS)) rmSync(join(CACHE, old.name), { recursive: true, force: true });
}

function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch {
    if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
    return false;
  }
}

export async function productionBuild(): Promise<ProductionBuild> {
  mkdirSync(CACHE, { recursive: true });
  const dir = join(CACHE, sourceHash());
  const lock = `${dir}.lock`;
  const deadline = Date.now() + WAIT_MS;
  while (!existsSync(dir)) {
    if (tryLock(lock)) {
      try {
        if (!existsSync(dir)) {
          const staging = `${dir}.${process.pid}`;
          rmSync(staging, { recursive: true, force: true });
          await compile(staging);
          // Beside node_modules nothing says the files are ES modules: the project's package.json does.
          writeFileSync(join(staging, 'package.json'), '{"type":"module"}\n');
          renameSync(staging, dir);
          prune();
        }
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    } else {
      if (Date.now() > deadline) throw new Error(`gave up waiting for another test file's build (${lock})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return { dir, server: join(dir, 'server.js'), cli: join(dir, 'cli.js') };
}
