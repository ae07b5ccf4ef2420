// Headless Chromium for the browser tests: Debian's chromium (installed by .ci/run when missing)
// driven by playwright-core, never a browser downloaded by Playwright. Without chromium the tests
// are skipped on a workstation, but run (and fail) in CI, where CI is set.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { describe } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests are skipped here, or undefined when they run. */
export const browserSkipReason: string | undefined =
  existsSync(CHROMIUM) || process.env.CI
    ? undefined
    : `skipped: no ${CHROMIUM} (apt-get install chromium; with CI set these tests run and fail without it)`;

/** A suite that needs the browser: skipped, with the reason in its name, where it cannot run. */
export function describeInBrowser(name: string, suite: () => void): void {
  if (browserSkipReason !== undefined) console.warn(`${name}: ${browserSkipReason}`);
  describe.skipIf(browserSkipReason !== undefined)(browserSkipReason ? `${name} (${browserSkipReason})` : name, suite);
}

// The flags this machine needs: no sandbox as root, no GPU, and none of Chromium's own traffic,
// which a closed network refuses many times a start.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export interface WatchedPage {
  page: Page;
  /** Uncaught exceptions and console errors of the page (a failed load, a CSP refusal …). */
  errors: string[];
}

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<WatchedPage>;
  close(): Promise<void>;
}

/** One browser per test file, on a fresh profile that is removed on close. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'ctms-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 30_000,
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    newPage: async () => {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      return { page, errors };
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
