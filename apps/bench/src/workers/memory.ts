/**
 * Runs with --expose-gc: fills an issuer with N users and reports heap bytes
 * per cached session, beyond the KS string itself, plus whether `max` held.
 */
import { createKs } from '@kaltura-ks/core';
import { createKsIssuer } from '@kaltura-ks/core/issuer';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const users = Number(process.argv[2] ?? 100_000);
const max = Number(process.argv[3] ?? users);
// `map`: the baseline, a hand-rolled Map of user id → { ks, expiresAt } signed locally.
const mode = process.argv[4] ?? 'issuer';

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const secret = 'memory-bench-admin-secret-0123456789';
const privileges = 'sview:*,appid:bench.example.com';
const issuer = createKsIssuer({
  partnerId: 12345,
  adminSecret: secret,
  max,
  expiresInSeconds: 3600,
});
const map = new Map<string, { ks: string; expiresAt: number }>();
async function get(userId: string): Promise<string> {
  if (mode === 'map') {
    let entry = map.get(userId);
    if (entry === undefined) {
      const ks = createKs({ secret, partnerId: 12345, userId, privileges, expiresInSeconds: 3600 });
      entry = { ks, expiresAt: Date.now() + 3_600_000 };
      map.set(userId, entry);
    }
    return entry.ks;
  }
  return (await issuer.getKs({ userId, privileges })).ks;
}
// Warm the code paths and the privilege memo before the baseline.
await get('warm-up');
await issuer.clear();
map.clear();

const before = heap();
let ksBytes = 0;
for (let i = 0; i < users; i++) {
  // A V8 one-byte string costs about its length plus a small header.
  ksBytes += (await get(`user-${i}@example.com`)).length;
}
const after = heap();
const cached = mode === 'map' ? map.size : issuer.size;
const perSession = (after - before) / cached;
const ksPerSession = ksBytes / users;
process.stdout.write(
  `${JSON.stringify({ users, max, cached, heapDelta: after - before, perSession, ksPerSession, beyondKs: perSession - ksPerSession })}\n`,
);
