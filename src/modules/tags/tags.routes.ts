// tags routes (not yet implemented).
import type { FastifyInstance } from 'fastify';

export async function tagsRoutes(_app: FastifyInstance): Promise<void> {}
