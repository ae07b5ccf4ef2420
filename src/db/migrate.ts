// Applies pending migrations (at server start and through `ctms migrate`).
import { Migrator, type MigrationResult } from 'kysely';
import type { Database } from './database.js';
import { migrations } from './migrations/index.js';

export async function migrateToLatest(db: Database): Promise<MigrationResult[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${message}`, { cause: error });
  }
  return results ?? [];
}
