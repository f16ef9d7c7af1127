import { describe, expect, it } from 'vitest';
import { createKs } from './create.js';
import { verifyKs } from './verify.js';

const SECRET = 'bom-test-admin-secret-0123456789abc';
const PARTNER = 4646;
const NOW = () => 1_700_000_000_000;

// A TextDecoder drops a leading U+FEFF by default; Kaltura (PHP, bytes) keeps it. In a KS v2
// every field is decoded on its own, so each could lose it.
describe('verifyKs reads KS v2 fields byte for byte', () => {
  it('a user id starting with U+FEFF is not the user without it', () => {
    const ks = createKs({ secret: SECRET, partnerId: PARTNER, userId: '\uFEFFalice', now: NOW });
    const fields = verifyKs(ks, { secrets: SECRET, partnerId: PARTNER, now: NOW });
    expect(fields.userId).toBe('\uFEFFalice');
  });

  it('a privilege value starting with U+FEFF keeps it', () => {
    const ks = createKs({
      secret: SECRET,
      partnerId: PARTNER,
      userId: 'bob',
      privileges: 'sview:\uFEFF1_entry',
      now: NOW,
    });
    expect(verifyKs(ks, { secrets: SECRET, partnerId: PARTNER, now: NOW }).privileges).toBe(
      'sview:\uFEFF1_entry',
    );
  });
});
