#!/usr/bin/env node
// The `ctms` command. It runs the compiled dist/cli.js when that is present and at least as new as
// every file under src/ (a build, or an image without sources), which starts in a fraction of the
// time; otherwise the TypeScript sources through tsx, so a fresh clone, or sources edited since the
// last build, never run stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = join(root, 'src');
const compiled = join(root, 'dist', 'cli.js');

/** The newest modification time of the files under `dir` (recursively). */
function newestChange(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const useCompiled = existsSync(compiled) && (!existsSync(sources) || statSync(compiled).mtimeMs >= newestChange(sources));
let cli;
if (useCompiled) {
  cli = await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(pathToFileURL(join(sources, 'cli.ts')).href);
}
await cli.main(process.argv.slice(2));
