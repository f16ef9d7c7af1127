import { build } from 'esbuild';
import { expect, it } from 'vitest';

const BUDGET = 3 * 1024;

it(`bundles under ${BUDGET} bytes minified and gzipped`, async () => {
  // node:zlib through a dynamic import: the package's types are the DOM's, not Node's.
  const { gzipSync } = (await import('node:zlib' as string)) as {
    gzipSync(data: Uint8Array, options: { level: number }): Uint8Array;
  };
  const result = await build({
    entryPoints: [decodeURIComponent(new URL('./index.ts', import.meta.url).pathname)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  const size = gzipSync(code, { level: 9 }).length;
  console.log(
    `@kaltura-ks/browser: ${code.length} B minified, ${size} B min+gzip (budget ${BUDGET})`,
  );
  expect(size).toBeLessThan(BUDGET);
});
