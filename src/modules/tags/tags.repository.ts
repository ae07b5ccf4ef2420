// Tags table access. Names are unique case-insensitively (a lower(name) index), so lookups compare
// lowercased values.
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';

export interface Tag {
  id: number;
  name: string;
}

export async function listTags(db: Database): Promise<Tag[]> {
  return db.selectFrom('tags').select(['id', 'name']).orderBy(sql`lower(name)`).orderBy('id').execute();
}

export async function findTagByName(db: Database, name: string): Promise<Tag | undefined> {
  return db
    .selectFrom('tags')
    .select(['id', 'name'])
    .where(sql`lower(name)`, '=', sql`lower(${name})`)
    .executeTakeFirst();
}

export async function insertTag(db: Database, name: string, now: string): Promise<Tag> {
  return db.insertInto('tags').values({ name, created_at: now }).returning(['id', 'name']).executeTakeFirstOrThrow();
}

/** Deletes a tag and its task links (explicitly, not only by cascade); false when it did not exist. */
/** Deletes a tag; its task links go with it (ON DELETE CASCADE). */
export async function deleteTag(db: Database, id: number): Promise<boolean> {
  const result = await db.deleteFrom('tags').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

