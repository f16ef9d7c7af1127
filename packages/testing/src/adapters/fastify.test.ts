import { kalturaKs } from '@kaltura-ks/fastify';
import Fastify from 'fastify';
import { type AdapterHarness, adapterContract } from '../index.js';

const harness: AdapterHarness = {
  name: 'fastify',
  async kalturaKs(options) {
    const app = Fastify();
    try {
      await app.register(kalturaKs, options as never).ready();
    } finally {
      await app.close().catch(() => {});
    }
  },
  createApp(options) {
    const app = Fastify();
    app.get('/static', async () => 'static');
    app.register(async (scope) => {
      scope.register(kalturaKs, options as never);
      scope.get('/api/ks', (request) => request.kaltura!.getKs());
      scope.get('/api/user', async (request) => ({ user: request.kaltura!.user }));
    });
    app.setErrorHandler((error: { code?: string }, _request, reply) => {
      reply.code(500).send({ error: error.code ?? 'unknown' });
    });
    // Fastify's own request handler, served once the app has booted (as app.listen would).
    const [handler] = app.server.listeners('request') as ((...args: unknown[]) => void)[];
    const ready = app.ready();
    return {
      target: ((...args: unknown[]) => void ready.then(() => handler!(...args))) as never,
      close: () => app.close(),
    };
  },
};

adapterContract(harness);
