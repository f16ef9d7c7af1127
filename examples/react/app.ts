import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jwtUser, kalturaKs } from '@kaltura-ks/express';
import { build } from 'esbuild';
import express from 'express';
import type { ExampleKaltura, RunningExample } from '../kaltura.js';
import { listen } from '../listen.js';

const HTML = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>kaltura-ks with React</title>
<div id="root"></div>
<script type="module" src="/app.js"></script>
</html>`;

/** page.tsx, bundled by esbuild (React, @kaltura-ks/react and @kaltura-ks/browser included). */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'page.tsx')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    conditions: ['@kaltura-ks/source'],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export async function start(kaltura: ExampleKaltura, port = 0): Promise<RunningExample> {
  const js = await bundlePage();
  const app = express();
  // Your sign-in goes here: this example signs every visitor in as "alice".
  app.get('/', async (req, res) => {
    if (!req.headers.cookie?.includes('session=')) {
      res.cookie('session', await kaltura.signIn('alice'), { httpOnly: true, sameSite: 'lax' });
    }
    res.type('html').send(HTML);
  });
  app.get('/app.js', (_req, res) => void res.type('js').send(js));
  const ks = kalturaKs({
    ...kaltura.options,
    getUser: jwtUser(kaltura.session),
    privileges: { sview: '*' },
  });
  app.use(ks); // GET/DELETE /kaltura/ks for the page's KsProvider

  return listen(app, port, () => ks.engine.close());
}
