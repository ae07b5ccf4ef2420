// The run's own temporary directory (test/temp-dir-check.ts): what tests and the processes they
// start create there is checked, and removed, when the run ends.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('temporary directories', () => {
  it('are made in a directory of this test run, which processes started by the tests use too', () => {
    expect(basename(tmpdir())).toMatch(/^ctms-test-run-/);
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("node:os").tmpdir())'], { encoding: 'utf8' });
    expect(child.stdout).toBe(tmpdir());
    expect(dirname(tmpdir())).not.toBe(tmpdir());
  });
});
