import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { escapeGlob, KEY_LAYOUT_VERSION, redisKeyLayout } from './keys.js';

/**
 * The key layout documented in the README ("What is in Redis", layout 2): every instance of a
 * fleet must compute the same names, whatever version it runs, or an upgrade splits the fleet
 * in two; every key of a partner carries its hash tag, so a cluster keeps them in one slot.
 */

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url');

describe('the Redis key layout, as documented', () => {
  const layout = redisKeyLayout('app:1:');
  const partner = layout.partner(1234);

  it('is layout 2', () => {
    expect(KEY_LAYOUT_VERSION).toBe(2);
  });

  it('names each key {prefix}v2:{partnerId}:{kind}:{hash}', () => {
    expect(layout.hash('1\n0\nalice\nsview:*')).toBe(sha256('1\n0\nalice\nsview:*'));
    expect(partner.session('h')).toBe('app:1:v2:{1234}:ks:h');
    expect(partner.lock('h')).toBe('app:1:v2:{1234}:lock:h');
    expect(partner.user('alice@example.com')).toBe(
      `app:1:v2:{1234}:user:${sha256('alice@example.com')}`,
    );
    expect(partner.revoked('alice@example.com')).toBe(
      `app:1:v2:{1234}:revoked:${sha256('alice@example.com')}`,
    );
  });

  it('names the partner’s marks after its tag, and the channels after the prefix alone', () => {
    expect(partner).toMatchObject({
      cleared: 'app:1:v2:{1234}:cleared',
      revocations: 'app:1:v2:{1234}:revocations',
      sessionPrefix: 'app:1:v2:{1234}:ks:',
    });
    expect(layout).toMatchObject({
      revokeChannel: 'app:1:v2:revoke',
      mintedChannel: 'app:1:v2:minted',
    });
  });

  it('keeps partners apart: no key of one partner is a key of another', () => {
    const other = layout.partner(12345);
    expect(other.session('h')).not.toBe(partner.session('h'));
    expect(other.user('alice')).not.toBe(partner.user('alice'));
    expect(other.sessionPrefix.startsWith(partner.sessionPrefix)).toBe(false);
    expect(layout.partner(1234)).toBe(partner);
  });

  it('hashes user ids as UTF-8, so no user id appears in a key', () => {
    expect(partner.user('ü')).toBe(`app:1:v2:{1234}:user:${sha256('ü')}`);
    expect(partner.user('ü')).not.toContain('ü');
    expect(partner.user('a')).not.toBe(partner.user('b'));
  });

  it('scans the user indexes first, then the sessions, each under the escaped prefix only', () => {
    expect(redisKeyLayout('a*[x]?\\:').partner(1).patterns).toEqual([
      'a\\*\\[x\\]\\?\\\\:v2:{1}:user:*',
      'a\\*\\[x\\]\\?\\\\:v2:{1}:ks:*',
    ]);
    expect(partner.patterns).toEqual(['app:1:v2:{1234}:user:*', 'app:1:v2:{1234}:ks:*']);
  });
});

describe('escapeGlob', () => {
  it('escapes every character SCAN MATCH reads as a pattern, and nothing else', () => {
    expect(escapeGlob('*?[]\\')).toBe('\\*\\?\\[\\]\\\\');
    expect(escapeGlob('a*b*c')).toBe('a\\*b\\*c');
    expect(escapeGlob('plain:-_.{}^!')).toBe('plain:-_.{}^!');
  });
});
