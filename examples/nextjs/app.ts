/**
 * Runs the Next.js files the way Next.js calls them, without Next.js: `app/kaltura/ks/route.ts`
 * gets the requests for `/kaltura/ks` (405 for a method it does not export), and `/` stands for
 * the server component (`getKs(headers)`). The environment is set first, as `.env.local` would.
 */
import { getRequestListener } from '@hono/node-server';
import type { ExampleKaltura, RunningExample } from '../kaltura.js';
import { listen } from '../listen.js';

/** What `.env.local` would hold, for the emulator. Before lib/kaltura.ts is first imported. */
export function setEnvironment(kaltura: ExampleKaltura): void {
  const { partnerId, serviceUrl, appToken } = kaltura.options;
  Object.assign(process.env, {
    KALTURA_PARTNER_ID: String(partnerId),
    KALTURA_SERVICE_URL: serviceUrl,
    KALTURA_APP_TOKEN_ID: appToken.id,
    KALTURA_APP_TOKEN: appToken.token,
    SESSION_SECRET: kaltura.session.secret,
  });
}

export async function start(kaltura: ExampleKaltura, port = 0): Promise<RunningExample> {
  setEnvironment(kaltura);
  const route: Record<string, unknown> = await import('./app/kaltura/ks/route.js');
  const { getKs, kaltura: handler } = await import('./lib/kaltura.js');

  return listen(
    getRequestListener(async (request) => {
      const { pathname } = new URL(request.url);
      if (pathname === '/kaltura/ks') {
        const method = route[request.method];
        if (typeof method !== 'function') return new Response(null, { status: 405 });
        return (method as (request: Request) => Promise<Response>)(request);
      }
      if (pathname === '/') {
        const { ks, expiresAt } = await getKs(request.headers);
        return Response.json({ ksLength: ks.length, expiresAt });
      }
      return new Response(null, { status: 404 });
    }),
    port,
    () => handler.engine.close(),
  );
}
