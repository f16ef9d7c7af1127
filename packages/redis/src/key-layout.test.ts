import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { escapeGlob, redisKeyLayout } from './keys.js';

/**
 * The key layout documented in the README ("What is in Redis"): every instance of a fleet must
 * compute the same names, whatever version it runs, or an upgrade splits the fleet in two.
 */

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url');

describe('the Redis key layout, as documented', () => {
  const layout = redisKeyLayout('app:1:');

  it('names each key {prefix}{kind}:{hash}', () => {
    expect(layout.hash('1\n0\nalice\nsview:*')).toBe(sha256('1\n0\nalice\nsview:*'));
    expect(layout.session('h')).toBe('app:1:ks:h');
    expect(layout.lock('h')).toBe('app:1:lock:h');
    expect(layout.user('alice@example.com')).toBe(`app:1:user:${sha256('alice@example.com')}`);
    expect(layout.revoked('alice@example.com')).toBe(
      `app:1:revoked:${sha256('alice@example.com')}`,
    );
  });

  it('names the shared keys and channels after the prefix alone', () => {
    expect(layout).toMatchObject({
      cleared: 'app:1:cleared',
      revocations: 'app:1:revocations',
      sessionPrefix: 'app:1:ks:',
      revokeChannel: 'app:1:revoke',
      mintedChannel: 'app:1:minted',
    });
  });

  it('hashes user ids as UTF-8, so no user id appears in a key', () => {
    expect(layout.user('ü')).toBe(`app:1:user:${sha256('ü')}`);
    expect(layout.user('ü')).not.toContain('ü');
    expect(layout.user('a')).not.toBe(layout.user('b'));
  });

  it('scans the user indexes first, then the sessions, each under the escaped prefix only', () => {
    expect(redisKeyLayout('a*[x]?\\:').patterns).toEqual([
      'a\\*\\[x\\]\\?\\\\:user:*',
      'a\\*\\[x\\]\\?\\\\:ks:*',
    ]);
    expect(layout.patterns).toEqual(['app:1:user:*', 'app:1:ks:*']);
  });
});

describe('escapeGlob', () => {
  it('escapes every character SCAN MATCH reads as a pattern, and nothing else', () => {
    expect(escapeGlob('*?[]\\')).toBe('\\*\\?\\[\\]\\\\');
    expect(escapeGlob('a*b*c')).toBe('a\\*b\\*c');
    expect(escapeGlob('plain:-_.{}^!')).toBe('plain:-_.{}^!');
  });
});
