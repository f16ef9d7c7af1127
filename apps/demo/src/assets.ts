import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import type { PageAssets } from './server.js';

/** Builds the page's script from source with esbuild, in memory: no CDN, no build step to remember. */
export async function buildPageAssets(): Promise<PageAssets> {
  const result = await build({
    entryPoints: [new URL('./page/app.ts', import.meta.url).pathname],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    conditions: ['@kaltura-ks/source'],
    write: false,
    logLevel: 'silent',
  });
  return {
    html: readFileSync(new URL('./page/index.html', import.meta.url), 'utf8'),
    js: result.outputFiles[0]!.text,
    css: readFileSync(new URL('./page/app.css', import.meta.url), 'utf8'),
  };
}
