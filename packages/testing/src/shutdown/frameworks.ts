/** The servers the SIGTERM test runs (`server.ts`), one per adapter that runs a Node server. */
export const FRAMEWORKS = ['express', 'koa', 'fastify', 'hono', 'fetch'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
