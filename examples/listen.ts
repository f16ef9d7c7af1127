import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningExample } from './kaltura.js';

/**
 * Serves a Node request listener on 127.0.0.1 (port 0: any free one); `close` stops the
 * server, then runs `release` (the middleware's `engine.close()`).
 */
export async function listen(
  listener: RequestListener,
  port: number,
  release: () => Promise<void>,
): Promise<RunningExample> {
  const server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await release();
    },
  };
}
