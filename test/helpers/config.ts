// The problems loadConfig reports for an environment (none when it loads), for configuration tests.
import { ConfigError, loadConfig } from '../../src/config.js';

export function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, { dataDir: null });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
