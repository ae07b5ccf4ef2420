// The webhook settings: defaults, parsing, and every bad value reported at once.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { problemsOf } from '../helpers/config.js';

describe('webhook settings', () => {
  it('default to private targets refused, 5 s attempts, 8 attempts from 15 s, and a worker outside tests', () => {
    const config = loadConfig({ ENVIRONMENT: 'development' }, { dataDir: null });
    expect(config).toMatchObject({
      webhookAllowPrivate: false,
      webhookTimeoutMs: 5000,
      webhookMaxAttempts: 8,
      webhookBackoffBaseMs: 15_000,
      webhookPollIntervalMs: 2000,
      webhookWorkerEnabled: true,
    });
    expect(loadConfig({ ENVIRONMENT: 'test' }, { dataDir: null }).webhookWorkerEnabled).toBe(false);
  });

  it('reads every setting', () => {
    const config = loadConfig(
      {
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_TIMEOUT_MS: '1500',
        WEBHOOK_MAX_ATTEMPTS: '3',
        WEBHOOK_BACKOFF_BASE_MS: '100',
        WEBHOOK_POLL_INTERVAL_MS: '250',
        WEBHOOK_WORKER_ENABLED: 'false',
      },
      { dataDir: null },
    );
    expect(config).toMatchObject({
      webhookAllowPrivate: true,
      webhookTimeoutMs: 1500,
      webhookMaxAttempts: 3,
      webhookBackoffBaseMs: 100,
      webhookPollIntervalMs: 250,
      webhookWorkerEnabled: false,
    });
  });

  it('lists every bad value', () => {
    const problems = problemsOf({
      WEBHOOK_ALLOW_PRIVATE: 'maybe',
      WEBHOOK_TIMEOUT_MS: '0',
      WEBHOOK_MAX_ATTEMPTS: '100',
      WEBHOOK_BACKOFF_BASE_MS: 'soon',
      WEBHOOK_POLL_INTERVAL_MS: '5',
    });
    for (const name of ['WEBHOOK_ALLOW_PRIVATE', 'WEBHOOK_TIMEOUT_MS', 'WEBHOOK_MAX_ATTEMPTS', 'WEBHOOK_BACKOFF_BASE_MS', 'WEBHOOK_POLL_INTERVAL_MS']) {
      expect(problems.some((problem) => problem.startsWith(name)), name).toBe(true);
    }
  });
});
