import type { KsSession } from '@kaltura-ks/core/issuer';
import { describe, expect, it } from 'vitest';
import { decodeSession, encodeSession } from './codec.js';

/** What the store writes to Redis, and what it accepts back: Redis is input, not memory. */

const session: KsSession = {
  ks: 'djJ8a3M',
  partnerId: 12345,
  userId: 'alice',
  type: 0,
  privileges: 'sview:*',
  expiresAt: 1_700_003_600_000,
  issuedAt: 1_700_000_000_000,
};

describe('encodeSession', () => {
  it('writes the session fields, in order, and nothing else', () => {
    const withExtra = { ...session, secret: 'never-stored', hash: 'x' } as KsSession;
    expect(encodeSession(withExtra)).toBe(
      '{"ks":"djJ8a3M","partnerId":12345,"userId":"alice","type":0,"privileges":"sview:*","expiresAt":1700003600000,"issuedAt":1700000000000}',
    );
  });
});

describe('decodeSession', () => {
  it('reads back what was written, from a string or a Buffer, without extra fields', () => {
    expect(decodeSession(encodeSession(session))).toStrictEqual(session);
    expect(decodeSession(Buffer.from(encodeSession(session)))).toStrictEqual(session);
    expect(decodeSession(JSON.stringify({ ...session, extra: 1 }))).toStrictEqual(session);
  });

  it('takes an empty user id, empty privileges, a negative partner and an ADMIN type', () => {
    const other = { ...session, userId: '', privileges: '', partnerId: -1, type: 2 };
    expect(decodeSession(JSON.stringify(other))).toStrictEqual(other);
  });

  it.each<[string, unknown]>([
    ['nothing', null],
    ['a number', 42],
    ['an array of strings', ['{}']],
    // JSON.parse would read it as its one string: only a string or a Buffer is text.
    ['an array holding a session', [JSON.stringify(session)]],
    ['text that is not JSON', '{'],
    ['JSON null', 'null'],
    ['a JSON string', '"ks"'],
    ['a JSON number', '7'],
  ])('reads %s as a miss', (_, raw) => {
    expect(decodeSession(raw)).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>]>([
    ['no ks', { ks: undefined }],
    ['an empty ks', { ks: '' }],
    ['a ks that is not a string', { ks: 1 }],
    ['a fractional partner id', { partnerId: 1.5 }],
    ['a partner id as text', { partnerId: '12345' }],
    ['an unsafe partner id', { partnerId: 2 ** 53 }],
    ['a user id that is not a string', { userId: null }],
    ['a fractional type', { type: 0.5 }],
    ['a type as text', { type: '0' }],
    ['privileges that are not a string', { privileges: ['sview:*'] }],
    ['an expiry of 0', { expiresAt: 0 }],
    ['a negative expiry', { expiresAt: -1 }],
    ['an expiry as text', { expiresAt: '1700003600000' }],
    ['an issue time of 0', { issuedAt: 0 }],
    ['an issue time as text', { issuedAt: '1700000000000' }],
  ])('reads a session with %s as a miss', (_, change) => {
    expect(decodeSession(JSON.stringify({ ...session, ...change }))).toBeUndefined();
  });

  it('refuses infinite times', () => {
    // JSON cannot carry Infinity; a huge exponent parses to it.
    expect(decodeSession(encodeSession(session).replace('1700003600000', '1e999'))).toBeUndefined();
    expect(decodeSession(encodeSession(session).replace('1700000000000', '1e999'))).toBeUndefined();
  });
});
