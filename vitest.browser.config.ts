import { defineConfig } from 'vitest/config';
import unit from './vitest.config.js';

// The real-browser suite (`pnpm test:browser`): Debian's Chromium driven by playwright-core,
// against source like the unit suite (the same `@kaltura-ks/source` resolution), one file at a
// time (each starts a browser and servers on loopback), with timeouts that fit a browser.
export default defineConfig({
  resolve: unit.resolve,
  ssr: unit.ssr,
  test: {
    include: ['packages/*/src/**/*.browser.test.ts', 'apps/*/src/**/*.browser.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
