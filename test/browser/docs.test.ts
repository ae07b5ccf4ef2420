// /docs in a real browser: Swagger UI loads under its own CSP, takes a bearer token through
// Authorize — or a username and password (the OAuth2 password flow, POST /api/auth/token), kept
// across a reload — and "Try it out" → Execute runs a request from the page whose answer the page shows.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { describeInBrowser, launchBrowser, type Browser } from '../helpers/browser.js';
import { liveSessions } from '../helpers/auth.js';
import { createUser, createUserWithSession } from '../helpers/factories.js';

/** "Try it out" → Execute on GET /api/auth/users/me: the status, body and curl command the page shows. */
async function tryUsersMe(page: Page) {
  const operation = page.locator('.opblock-get').filter({ has: page.locator('.opblock-summary-path[data-path="/api/auth/users/me"]') });
  await operation.locator('.opblock-summary').first().click();
  await operation.locator('button.try-out__btn').click();
  await operation.locator('button.execute').click();
  const response = operation.locator('.live-responses-table .response');
  await response.locator('.response-col_status').waitFor();
  return {
    status: (await response.locator('.response-col_status').innerText()).trim(),
    body: await response.locator('.response-col_description pre').first().innerText(),
    curl: await operation.locator('.curl-command').innerText(),
  };
}

// A real browser on a shared, busy machine: minutes of CPU contention must not fail the test.
const BROWSER_TEST_MS = 90_000;

describeInBrowser('the interactive documentation in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let origin: string;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    t = await buildTestApp();
    origin = await t.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchBrowser();
    ({ page, errors: pageErrors } = await browser.newPage());
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('authorises with a bearer token and runs GET /api/auth/users/me from the page', async () => {
    const { user, accessToken } = await createUserWithSession(t.app, { role: 'developer' });

    await page.goto(`${origin}/docs`);
    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    // The dialog offers the bearer scheme and the password flow, each with its own buttons.
    const bearerForm = dialog.locator('.auth-container').filter({ hasText: 'bearerAuth' });
    await bearerForm.locator('input#auth-bearer-value').fill(accessToken);
    await bearerForm.locator('button[type="submit"]').click();
    await expect.poll(() => bearerForm.locator('button.btn-done').isVisible()).toBe(true);
    await bearerForm.locator('button.btn-done').click();

    const shown = await tryUsersMe(page);
    expect(shown.status).toBe('200');
    expect(JSON.parse(shown.body)).toMatchObject({ id: user.id, username: user.username, role: 'developer' });
    // The request the page made carried the token (the curl shown is what it sent).
    expect(shown.curl).toContain(`Bearer ${accessToken}`);
    expect(pageErrors).toEqual([]);
  }, BROWSER_TEST_MS);

  it('logs in through Authorize with a username and password, and keeps the token across a reload', async () => {
    const user = await createUser(t.app, { role: 'manager' });
    await page.goto(`${origin}/docs`);
    // Start signed out: the previous test's token is persisted in this browser.
    await page.evaluate('localStorage.clear()');
    await page.reload();
    expect(await page.title()).toBe('CTMS API — interactive documentation');

    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    const oauth = dialog.locator('.auth-container').filter({ hasText: 'oauth2Password' });
    await oauth.locator('input#oauth_username').fill(user.username);
    await oauth.locator('input#oauth_password').fill(user.password);
    await oauth.locator('button.authorize').click();
    // Signed in: the form gives way to a Logout button, and a device session exists.
    await oauth.locator('button.authorize', { hasText: 'Logout' }).waitFor();
    expect(await liveSessions(t.db, user.id)).toHaveLength(1);
    await oauth.locator('button.btn-done').click();
    // What survives the reload is the token, never the password.
    const stored = await page.evaluate<string | null>("localStorage.getItem('authorized')");
    expect(stored).toContain('"access_token"');
    expect(stored).not.toContain(user.password);

    await page.reload();
    const shown = await tryUsersMe(page);
    expect(shown.status).toBe('200');
    expect(JSON.parse(shown.body)).toMatchObject({ id: user.id, username: user.username, role: 'manager' });
    expect(shown.curl).toMatch(/Authorization: Bearer [\w-]+\.[\w-]+\.[\w-]+/);
    expect(pageErrors).toEqual([]);
  }, BROWSER_TEST_MS);
});
