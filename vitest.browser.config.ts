import { defineConfig } from 'vitest/config';

// The real-browser suite (`pnpm test:browser`): Debian's Chromium driven by playwright-core,
// against source like the unit suite (the `@kaltura-ks/source` condition), one file at a
// time (each starts a browser and servers on loopback), with timeouts that fit a browser.
export default defineConfig({
  resolve: {
    conditions: ['@kaltura-ks/source'],
  },
  ssr: {
    resolve: {
      conditions: ['@kaltura-ks/source'],
      externalConditions: ['@kaltura-ks/source'],
    },
  },
  test: {
    include: ['packages/*/src/**/*.browser.test.ts', 'apps/*/src/**/*.browser.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
