// A small built single-page client in a temporary directory, laid out as a build tool would write
// it (index.html, hashed files under assets/), for the STATIC_DIR tests. The directory sits inside
// a parent that also holds a file outside it, so that tests can prove nothing outside is served.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Marks the file beside STATIC_DIR that must never be served. */
export const OUTSIDE_SECRET = 'OUTSIDE-STATIC-DIR-SECRET';

export const CLIENT_INDEX = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>CTMS client</title>
    <link rel="icon" href="/favicon.svg">
    <script type="module" src="/assets/app-3f2a1c9e.js"></script>
  </head>
  <body>
    <main id="app">Loading the CTMS client</main>
  </body>
</html>
`;

/**
 * Renders the route it was loaded on, then calls the API through a relative URL (same origin) with
 * the access token passed in the URL fragment and shows the answer; with a token it also pings the
 * notification socket on the same origin.
 */
export const CLIENT_SCRIPT = `const app = document.getElementById('app');
app.textContent = 'route ' + location.pathname;
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const result = document.createElement('p');
result.id = 'api-result';
fetch('/api/auth/users/me', { headers: token ? { authorization: 'Bearer ' + token } : {} })
  .then(async (response) => {
    const body = await response.json();
    result.textContent = 'api ' + response.status + ' ' + (body.username ?? body.detail);
  })
  .catch((error) => {
    result.textContent = 'api failed ' + error;
  })
  .finally(() => document.body.append(result));
if (token) {
  const state = document.createElement('p');
  state.id = 'socket';
  document.body.append(state);
  const socket = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws/notifications?token=' + token);
  socket.onopen = () => socket.send(JSON.stringify({ action: 'ping' }));
  socket.onmessage = (event) => {
    if (JSON.parse(event.data).type === 'pong') state.textContent = 'socket pong';
  };
  socket.onerror = () => (state.textContent = 'socket failed');
}
`;

export interface ClientBuild {
  /** The STATIC_DIR. */
  dir: string;
  cleanup(): void;
}

export function createClientBuild(extraFiles: Record<string, string> = {}): ClientBuild {
  const parent = mkdtempSync(join(tmpdir(), 'ctms-client-'));
  const dir = join(parent, 'dist');
  const files: Record<string, string> = {
    'index.html': CLIENT_INDEX,
    'assets/app-3f2a1c9e.js': CLIENT_SCRIPT,
    'favicon.svg': '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>',
    ...extraFiles,
  };
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  writeFileSync(join(parent, 'secret.txt'), OUTSIDE_SECRET);
  return { dir, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
}
