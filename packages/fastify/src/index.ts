import {
  createKsEngine,
  type KalturaContext,
  type KalturaKsOptions,
  type KsEngine,
  type KsHttpResponse,
  routeRequest,
} from '@kaltura-ks/core/http';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export { isKsError, KalturaApiError, KsError, type KsErrorCode, KsType } from '@kaltura-ks/core';
export {
  type JwtUserOptions,
  jwtUser,
  type KalturaContext,
  type KsRouteBody,
  type KsUser,
} from '@kaltura-ks/core/http';
export {
  createKsIssuer,
  type GetKsOptions,
  type KsIssuer,
  type KsIssuerEvent,
  type KsSession,
} from '@kaltura-ks/core/issuer';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `kalturaKs` plugin in its scope: the signed-in user and a lazy `getKs()`. */
    kaltura?: KalturaContext;
  }
  interface FastifyInstance {
    /** Set by the `kalturaKs` plugin: its engine (issuer, route), closed with the app. */
    kalturaKs: KsEngine<FastifyRequest>;
  }
}

export type FastifyKalturaKsOptions = KalturaKsOptions<FastifyRequest>;

const error = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

/** The route's schema: documentation (e.g. for @fastify/swagger); the engine writes the body. */
const schema = {
  querystring: { type: 'object', properties: { renew: { type: 'string' } } },
  response: {
    200: {
      type: 'object',
      properties: {
        ks: { type: 'string' },
        partnerId: { type: 'integer' },
        userId: { type: 'string' },
        type: { type: 'integer' },
        privileges: { type: 'string' },
        expiresAt: { type: 'integer' },
        serverTime: { type: 'integer' },
      },
    },
    204: { type: 'null' },
    // The engine's own errors only: a 500 from the app's error handler is left as it is.
    400: error,
    401: error,
    403: error,
    405: error,
    503: error,
  },
} as const;

const plugin: FastifyPluginCallback<FastifyKalturaKsOptions> = (fastify, options, done) => {
  let engine: KsEngine<FastifyRequest>;
  try {
    engine = createKsEngine(options);
  } catch (error) {
    return done(error as Error);
  }
  fastify.decorate('kalturaKs', engine);
  if (!fastify.hasRequestDecorator('kaltura')) fastify.decorateRequest('kaltura', undefined);
  // preClose, not onClose: Fastify waits for the requests under way before onClose, and a
  // request waiting for a mint would hold the shutdown for up to mintTimeoutMs; closing the
  // engine first answers it (503) at once.
  fastify.addHook('preClose', () => engine.close());
  // No async function on purpose: a warm cache answers without a single promise.
  fastify.addHook('preHandler', (request, _reply, next) => {
    const done = engine.handle(request, undefined, (context) => {
      request.kaltura = context;
      next();
    });
    if (done instanceof Promise) done.catch(next);
  });
  if (engine.route !== false) {
    const send = (reply: FastifyReply, answer: KsHttpResponse) =>
      reply
        .code(answer.status)
        .headers(answer.headers)
        .send(answer.status === 204 ? undefined : answer.body);
    fastify.route({
      method: ['GET', 'DELETE', 'HEAD', 'POST', 'PUT', 'PATCH', 'OPTIONS'],
      url: engine.route,
      schema,
      exposeHeadRoute: false,
      handler(request, reply) {
        const answer = engine.respond(
          request,
          request.kaltura!,
          routeRequest(request.method, request.headers, request.url),
        );
        return answer instanceof Promise ? answer.then((a) => send(reply, a)) : send(reply, answer);
      },
    });
  }
  done();
};

/**
 * `app.register(kalturaKs, options)`: gives every request of the scope it is registered in
 * `request.kaltura` (the user and a lazy `getKs()`), and adds the browser route (`GET` and
 * `DELETE /kaltura/ks` by default) as a Fastify route. Options are validated at registration;
 * errors go through Fastify's error handling; the engine closes with the app.
 */
export const kalturaKs = fp(plugin, { name: '@kaltura-ks/fastify', fastify: '5.x' });
