// A built client served through STATIC_DIR, in a real browser: a client-side route loads the page,
// its script runs under the client CSP (which refuses inline script), its API call and its
// notification socket go to the same origin and succeed, and its hashed script is cached for good.
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { captureLogs } from '../helpers/auth.js';
import { describeInBrowser, launchBrowser, type Browser } from '../helpers/browser.js';
import { createClientBuild, type ClientBuild } from '../helpers/client-build.js';
import { createUserWithSession } from '../helpers/factories.js';

describeInBrowser('a client served through STATIC_DIR in Chromium', () => {
  let build: ClientBuild;
  let t: TestApp;
  let browser: Browser;
  let origin: string;
  let page: Page;
  const requests: Request[] = [];
  let pageErrors: string[];
  const logs = captureLogs();

  beforeAll(async () => {
    build = createClientBuild({
      // Not part of the client: a page that tries an inline script, which the client CSP refuses.
      'csp-probe.html': '<!doctype html><title>untouched</title><script>document.title = "inline script ran"</script>',
    });
    t = await buildTestApp({ staticDir: build.dir }, { logger: logs.logger });
    origin = new URL(await t.app.listen({ port: 0, host: '127.0.0.1' })).origin;
    browser = await launchBrowser();
    ({ page, errors: pageErrors } = await browser.newPage());
    page.on('request', (request) => requests.push(request));
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    build?.cleanup();
  });

  it('renders a deep link to a client route and reaches the API and its socket on the same origin', async () => {
    const { user, accessToken } = await createUserWithSession(t.app);

    const navigation = await page.goto(`${origin}/board/42#token=${accessToken}`);
    expect(navigation?.status()).toBe(200);
    expect(await navigation?.headerValue('cache-control')).toBe('no-cache');

    await expect.poll(() => page.locator('#app').innerText()).toBe('route /board/42');
    await expect.poll(() => page.locator('#api-result').innerText()).toBe(`api 200 ${user.username}`);
    // The client CSP lets the page reach its own notification socket.
    await expect.poll(() => page.locator('#socket').innerText()).toBe('socket pong');

    const apiCall = requests.find((request) => new URL(request.url()).pathname === '/api/auth/users/me');
    expect(apiCall && new URL(apiCall.url()).origin).toBe(origin);
    // A same-origin fetch needs no CORS: no preflight, and the answer was readable.
    expect(requests.filter((request) => request.method() === 'OPTIONS')).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('takes the hashed script from its cache on the next page: immutable, never asked for again', async () => {
    const asked = () => logs.lines.filter((line) => line.includes('"url":"/assets/app-3f2a1c9e.js"') && line.includes('"statusCode"')).length;
    expect(asked()).toBe(1);
    await page.goto(`${origin}/tasks/7`);
    await expect.poll(() => page.locator('#app').innerText()).toBe('route /tasks/7');
    expect(asked()).toBe(1);
  });

  it('enforces the client CSP in the browser: an inline script is refused', async () => {
    const probe = await browser.newPage();
    await probe.page.goto(`${origin}/csp-probe.html`);
    expect(await probe.page.title()).toBe('untouched');
    expect(probe.errors.join('\n')).toMatch(/Content Security Policy/);
    await probe.page.close();
  });
});
