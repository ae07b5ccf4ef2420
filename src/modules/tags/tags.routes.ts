// /api/tags: list (any verified user), create (manager, developer; a case-insensitive duplicate
// answers 200 with the existing tag), delete (manager; task links go with it).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { isUniqueViolation } from '../../db/database.js';
import { invalid, notFound } from '../../errors.js';
import { errorResponses, IdParamsSchema } from '../../schemas/common.js';
import { deleteTag, findTagByName, insertTag, listTags } from './tags.repository.js';

const TAGS = ['tags'];
const security = [{ bearerAuth: [] }];
export const TAG_NAME_MAX = 50;

export const TagSchema = Type.Object({ id: Type.Integer(), name: Type.String() });
export const TagCreateSchema = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200, description: '1–50 characters after trimming surrounding spaces' }) },
  { examples: [{ name: 'release' }] },
);

function normalizeTagName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0) throw invalid(['body', 'name'], 'must not be blank');
  // Characters as PostgreSQL counts them (code points), not UTF-16 units.
  if ([...name].length > TAG_NAME_MAX) throw invalid(['body', 'name'], `must be at most ${TAG_NAME_MAX} characters`);
  return name;
}

export async function tagsRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'List tags',
        description: 'Every tag, ordered by name (case-insensitive).',
        response: { 200: Type.Array(TagSchema), ...errorResponses(401, 403) },
      },
      onRequest: app.requireUser,
    },
    async () => listTags(app.db),
  );

  app.post(
    '',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Create a tag',
        description:
          'Managers and developers. Names are unique case-insensitively: an existing name answers 200 with the ' +
          'existing tag; a new one answers 201.',
        body: TagCreateSchema,
        response: { 200: TagSchema, 201: TagSchema, ...errorResponses(401, 403, 422) },
      },
      onRequest: app.requireRole('manager', 'developer'),
    },
    async (request, reply) => {
      const name = normalizeTagName(request.body.name);
      const existing = await findTagByName(app.db, name);
      if (existing) return reply.status(200).send(existing);
      try {
        return reply.status(201).send(await insertTag(app.db, name, app.clock.now().toISOString()));
      } catch (error) {
        // A concurrent request created the same name between our lookup and insert.
        const raced = isUniqueViolation(error) ? await findTagByName(app.db, name) : undefined;
        if (!raced) throw error;
        return reply.status(200).send(raced);
      }
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Delete a tag',
        description: 'Managers only. The tag is removed from every task carrying it.',
        params: IdParamsSchema,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: app.requireRole('manager'),
    },
    async (request, reply) => {
      const deleted = await app.db.transaction().execute((trx) => deleteTag(trx, request.params.id));
      if (!deleted) throw notFound('Tag not found');
      return reply.status(204).send(null);
    },
  );
}
