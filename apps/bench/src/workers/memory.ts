/**
 * Runs with --expose-gc: fills an issuer with N users and reports heap bytes
 * per cached session, beyond the KS string itself, plus whether `max` held.
 */
import { createKsIssuer } from '@kaltura-ks/core/issuer';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const users = Number(process.argv[2] ?? 100_000);
const max = Number(process.argv[3] ?? users);

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const issuer = createKsIssuer({
  partnerId: 12345,
  adminSecret: 'memory-bench-admin-secret-0123456789',
  max,
  expiresInSeconds: 3600,
});
// Warm the code paths and the privilege memo before the baseline.
await issuer.getKs({ userId: 'warm-up', privileges: 'sview:*,appid:bench.example.com' });
await issuer.clear();

const before = heap();
let ksBytes = 0;
for (let i = 0; i < users; i++) {
  const session = await issuer.getKs({
    userId: `user-${i}@example.com`,
    privileges: 'sview:*,appid:bench.example.com',
  });
  // A V8 one-byte string costs about its length plus a small header.
  ksBytes += session.ks.length;
}
const after = heap();
const cached = issuer.size;
const perSession = (after - before) / cached;
const ksPerSession = ksBytes / users;
process.stdout.write(
  `${JSON.stringify({ users, max, cached, heapDelta: after - before, perSession, ksPerSession, beyondKs: perSession - ksPerSession })}\n`,
);
