import { getRequestListener } from '@hono/node-server';
import { createKsHandler } from '@kaltura-ks/fetch';
import { type AdapterHarness, adapterContract } from '../index.js';

const json = (body: unknown, status = 200) => Response.json(body, { status });

/**
 * The web-standard handler behind a plain Fetch-API server (what `Bun.serve`, `Deno.serve`
 * or a Next.js app router would call), on real HTTP through @hono/node-server's bridge.
 */
const harness: AdapterHarness<Request> = {
  name: 'fetch',
  kalturaKs: (options) => createKsHandler(options),
  createApp(options) {
    const kaltura = createKsHandler(options);
    const app = async (request: Request): Promise<Response> => {
      try {
        const { pathname } = new URL(request.url);
        if (pathname === '/static') return new Response('static');
        if (pathname === '/api/ks') return json(await (await kaltura.context(request)).getKs());
        if (pathname === '/api/user') return json({ user: (await kaltura.context(request)).user });
        return await kaltura(request);
      } catch (error) {
        return json({ error: (error as { code?: string }).code ?? 'unknown' }, 500);
      }
    };
    return { target: getRequestListener(app), close: () => kaltura.engine.close() };
  },
};

adapterContract(harness);
