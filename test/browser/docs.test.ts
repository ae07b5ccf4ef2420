// /docs in a real browser: Swagger UI loads under its own CSP, takes a bearer token through
// Authorize, and "Try it out" → Execute runs a request from the page whose answer the page shows.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { describeInBrowser, launchBrowser, type Browser } from '../helpers/browser.js';
import { createUserWithSession } from '../helpers/factories.js';

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
    await dialog.locator('input#auth-bearer-value').fill(accessToken);
    await dialog.locator('button[type="submit"]').click();
    await expect.poll(() => dialog.locator('button.btn-done').isVisible()).toBe(true);
    await dialog.locator('button.btn-done').click();

    const operation = page.locator('.opblock-get').filter({ has: page.locator('.opblock-summary-path[data-path="/api/auth/users/me"]') });
    await operation.locator('.opblock-summary').first().click();
    await operation.locator('button.try-out__btn').click();
    await operation.locator('button.execute').click();

    const response = operation.locator('.live-responses-table .response');
    await response.locator('.response-col_status').waitFor();
    expect((await response.locator('.response-col_status').innerText()).trim()).toBe('200');
    const shown = await response.locator('.response-col_description pre').first().innerText();
    expect(JSON.parse(shown)).toMatchObject({ id: user.id, username: user.username, role: 'developer' });
    // The request the page made carried the token (the curl shown is what it sent).
    expect(await operation.locator('.curl-command').innerText()).toContain(`Bearer ${accessToken}`);
    expect(pageErrors).toEqual([]);
  });
});
