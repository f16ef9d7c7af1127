import type { ExampleKaltura, RunningExample } from './kaltura.js';

type Start = (kaltura: ExampleKaltura, port?: number) => Promise<RunningExample>;

/** Every example, by name: each module's `start` runs it on the given Kaltura. */
export const EXAMPLES: Record<string, () => Promise<{ start: Start }>> = {
  express: () => import('./express/app.js'),
  koa: () => import('./koa/app.js'),
  fastify: () => import('./fastify/app.js'),
  hono: () => import('./hono/app.js'),
  nextjs: () => import('./nextjs/app.js'),
  react: () => import('./react/app.js'),
};
