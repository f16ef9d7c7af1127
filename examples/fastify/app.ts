import { jwtUser, kalturaKs } from '@kaltura-ks/fastify';
import Fastify from 'fastify';
import type { ExampleKaltura, RunningExample } from '../kaltura.js';

export async function start(kaltura: ExampleKaltura, port = 0): Promise<RunningExample> {
  const app = Fastify();
  // GET/DELETE /kaltura/ks, and request.kaltura on every route of this scope.
  app.register(kalturaKs, {
    ...kaltura.options,
    getUser: jwtUser(kaltura.session),
    privileges: { sview: '*' },
  });

  app.get('/', async (request, reply) => {
    if (!request.kaltura?.user) return reply.code(401).send('Sign in first');
    const { ks, expiresAt } = await request.kaltura.getKs();
    return { user: request.kaltura.user.id, ksLength: ks.length, expiresAt };
  });

  const url = await app.listen({ port, host: '127.0.0.1' });
  return { url, close: () => app.close() }; // closing the app closes the plugin's engine
}
