import type { RequestListener } from 'node:http';
import { kalturaKs } from '@kaltura-ks/fastify';
import Fastify, { type FastifyRequest } from 'fastify';
import { type AdapterHarness, adapterContract } from '../index.js';

const harness: AdapterHarness<FastifyRequest> = {
  name: 'fastify',
  async kalturaKs(options) {
    const app = Fastify();
    try {
      await app.register(kalturaKs, options).ready();
    } finally {
      await app.close().catch(() => {});
    }
  },
  createApp(options) {
    const app = Fastify();
    app.get('/static', async () => 'static');
    app.register(async (scope) => {
      scope.register(kalturaKs, options);
      scope.get('/api/ks', (request) => request.kaltura!.getKs());
      scope.get('/api/user', async (request) => ({ user: request.kaltura!.user }));
    });
    app.setErrorHandler((error: { code?: string }, _request, reply) => {
      reply.code(500).send({ error: error.code ?? 'unknown' });
    });
    // Fastify's own request handler, served once the app has booted (as app.listen would).
    const [handler] = app.server.listeners('request') as RequestListener[];
    const ready = app.ready();
    return {
      target: ((req, res) => void ready.then(() => handler!(req, res))) satisfies RequestListener,
      close: () => app.close(),
    };
  },
};

adapterContract(harness);
