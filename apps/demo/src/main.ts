import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { buildPageAssets } from './assets.js';
import { ConfigError, loadConfig } from './config.js';
import { prepareKaltura } from './kaltura.js';
import { createDemoApp } from './server.js';

/** Settings: the environment, then .env where `pnpm demo` was run, then apps/demo/.env. */
function environment(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  const dirs = [process.env.INIT_CWD, process.cwd()].filter((d): d is string => d !== undefined);
  for (const dir of [...new Set(dirs)].reverse()) {
    const file = join(dir, '.env');
    if (existsSync(file)) Object.assign(env, parseEnv(readFileSync(file, 'utf8')));
  }
  return { ...env, ...process.env };
}

function fail(message: string): never {
  process.stderr.write(`kaltura-ks demo: ${message}\n`);
  process.exit(1);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(environment());
} catch (error) {
  if (error instanceof ConfigError) fail(`${error.message}. See apps/demo/.env.example.`);
  throw error;
}

const [assets, kaltura] = await Promise.all([
  buildPageAssets(),
  prepareKaltura(config).catch((error: unknown) =>
    fail(`cannot reach Kaltura: ${(error as Error).message}`),
  ),
]);
const demo = createDemoApp({
  config,
  kaltura: kaltura.setup,
  assets,
  log: (line) => process.stderr.write(`kaltura-ks demo: ${line}\n`),
});

const server = demo.app.listen(config.port, '127.0.0.1');
server.on('error', (error: NodeJS.ErrnoException) =>
  fail(
    error.code === 'EADDRINUSE'
      ? `port ${config.port} is in use: set PORT to another one`
      : error.message,
  ),
);
server.on('listening', () => {
  const { port } = server.address() as AddressInfo;
  const { backend, partnerId, strategy, serviceUrl } = kaltura.setup.description;
  const where =
    backend === 'emulator' ? `the embedded Kaltura emulator (${serviceUrl})` : serviceUrl;
  process.stdout.write(
    [
      '',
      `  kaltura-ks demo: http://127.0.0.1:${port}/`,
      '',
      `  Kaltura:   partner ${partnerId} on ${where}`,
      `  Minting:   ${strategy}, KS lifetime ${config.expiresInSeconds} s`,
      backend === 'emulator' && config.entryId !== undefined
        ? `  Playing:   entry ${config.entryId} with the Kaltura Player from npm; each KS may view it only`
        : '',
      backend === 'emulator' ? '  Point it at your account: see apps/demo/.env.example' : '',
      '  Stop it with Ctrl+C.',
      '',
    ]
      .filter((line, i, all) => line !== '' || all[i - 1] !== '')
      .join('\n'),
  );
  process.stdout.write('\n');
});

async function shutdown(): Promise<void> {
  server.close();
  server.closeAllConnections();
  await demo.close();
  await kaltura.close();
  process.exit(0);
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
