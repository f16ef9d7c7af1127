/**
 * An Express app minting through an app token at a (benchmark) emulator:
 * `app-token-app.ts '<json: { url, partnerId, appToken, maxConnections }>'`. Prints `{ port }`;
 * answers `cpu` on its IPC channel.
 */
import type { AddressInfo } from 'node:net';
import { kalturaKs } from '@kaltura-ks/express';
import express from 'express';
import { answerCpuUsage } from '../processes.js';

const setup = JSON.parse(process.argv[2] ?? '{}') as {
  url: string;
  partnerId: number;
  appToken: { id: string; token: string; hashType: 'SHA256' };
  maxConnections: number;
};
const app = express();
app.use(
  kalturaKs({
    partnerId: setup.partnerId,
    serviceUrl: setup.url,
    appToken: setup.appToken,
    max: 100_000,
    getUser: (req) => {
      const id = req.headers['x-user'];
      return typeof id === 'string' ? { id } : null;
    },
    clientOptions: { maxConnections: setup.maxConnections },
  }),
);
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
server.maxRequestsPerSocket = 0;
answerCpuUsage();
process.on('SIGTERM', () => process.exit(0));
