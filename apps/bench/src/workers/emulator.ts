/**
 * An emulator in its own process for the benchmarks: one known partner, an app
 * token made at start, and optional added latency on every call; answers `cpu`
 * on its IPC channel. Prints
 * `{ url, adminUrl, partnerId, adminSecret, appToken }` (benchmark-only values).
 */
import { KsType } from '@kaltura-ks/core';
import { createKalturaClient } from '@kaltura-ks/core/client';
import { startEmulator } from '@kaltura-ks/emulator';
import { answerCpuUsage } from '../processes.js';

const latencyMs = Number(process.argv[2] ?? 0);
const partner = {
  id: 9001,
  adminSecret: 'bench-emulator-admin-secret-0000000',
  userSecret: 'bench-emulator-user-secret-00000000',
};
const emulator = await startEmulator({ partners: [partner] });
const client = createKalturaClient({ serviceUrl: emulator.url, partnerId: partner.id });
client.ks = await client.session.start({
  secret: partner.adminSecret,
  type: KsType.ADMIN,
  userId: 'bench',
});
const token = await client.appToken.add({ hashType: 'SHA256' });
await client.close();
if (latencyMs > 0) emulator.faults.set({ mode: 'delay', latencyMs });
emulator.resetStats();
process.stdout.write(
  `${JSON.stringify({
    url: emulator.url,
    adminUrl: emulator.adminUrl,
    partnerId: partner.id,
    adminSecret: partner.adminSecret,
    appToken: { id: token.id, token: token.token, hashType: 'SHA256' },
  })}\n`,
);
answerCpuUsage();
process.on('SIGTERM', () => {
  void emulator.close().then(() => process.exit(0));
});
