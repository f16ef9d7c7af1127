import { build } from 'esbuild';
import { expect, it } from 'vitest';

const BUDGET = 1024;

it(`adds under ${BUDGET} bytes minified and gzipped to @kaltura-ks/browser and React`, async () => {
  const result = await build({
    entryPoints: [decodeURIComponent(new URL('./index.ts', import.meta.url).pathname)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    // What an app has anyway: React, and the client this package binds.
    external: ['react', '@kaltura-ks/browser'],
    write: false,
    logLevel: 'silent',
  });
  // node:zlib through a dynamic import: the package's types are the DOM's, not Node's.
  const { gzipSync } = (await import('node:zlib' as string)) as {
    gzipSync(data: Uint8Array, options: { level: number }): Uint8Array;
  };
  const code = result.outputFiles[0]!.contents;
  const size = gzipSync(code, { level: 9 }).length;
  console.log(
    `@kaltura-ks/react: ${code.length} B minified, ${size} B min+gzip (budget ${BUDGET})`,
  );
  expect(size).toBeLessThan(BUDGET);
});
