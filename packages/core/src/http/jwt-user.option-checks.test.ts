import { describe, expect, it } from 'vitest';
import { jwtUser } from './jwt-user.js';

/**
 * The options jwtUser refuses when it is made: anything but an options object, a list of
 * algorithms with one entry that is no name, and a key set fetched in the clear from anything
 * but the loopback interface.
 */

const base = { issuer: 'https://app.example', audience: 'kaltura-ks' };
const SECRET = 'jwt-option-checks-secret-32-bytes!';
const INVALID = 'ERR_KS_INVALID_OPTION';

describe('jwtUser options that are not an object', () => {
  it.each([
    ['a string', SECRET],
    ['a number', 32],
    ['a function', () => null],
  ])('refuses %s, with "jwtUser needs options"', (_, options) => {
    expect(() => jwtUser(options as never)).toThrow(
      expect.objectContaining({ code: INVALID, message: 'jwtUser needs options' }),
    );
  });
});

describe('algorithms: every entry must be a name', () => {
  const message = 'jwtUser algorithms must be a non-empty list of algorithm names';

  it.each<[string, unknown[]]>([
    ['an empty name after a good one', ['ES256', '']],
    ['a number after a good one', ['ES256', 256]],
    ['null before a good one', [null, 'RS256']],
  ])('with a jwksUrl, refuses %s', (_, algorithms) => {
    expect(() =>
      jwtUser({ ...base, jwksUrl: 'https://idp.example/jwks', algorithms } as never),
    ).toThrow(expect.objectContaining({ code: INVALID, message }));
  });

  it.each<[string, unknown[]]>([
    ['an empty name after a good one', ['HS256', '']],
    ['a number after a good one', ['HS256', 512]],
  ])('with a secret, refuses %s', (_, algorithms) => {
    expect(() => jwtUser({ ...base, secret: SECRET, algorithms } as never)).toThrow(
      expect.objectContaining({ code: INVALID, message }),
    );
  });
});

describe('a jwksUrl over plain http', () => {
  const https = 'jwtUser jwksUrl must be https (plain http only on the loopback interface)';
  const make = (jwksUrl: string) => () => jwtUser({ ...base, jwksUrl });

  it.each([
    'http://127.0.0.1.evil.example/jwks',
    'http://127.0.0.1.nip.io/jwks',
    'http://localhost.evil.example/jwks',
    'http://10.127.0.1/jwks',
  ])('is refused for %s, which is not the loopback interface', (url) => {
    expect(make(url)).toThrow(expect.objectContaining({ code: INVALID, message: https }));
  });

  it.each(['http://127.0.0.10/jwks', 'http://127.255.255.254:8443/jwks', 'http://127.1/jwks'])(
    'is taken for %s, anywhere in 127.0.0.0/8',
    (url) => {
      expect(make(url)).not.toThrow();
    },
  );

  it.each(['ws://localhost/jwks', 'ftp://127.0.0.1/jwks', 'gopher://[::1]/jwks'])(
    'is no reason to take another protocol on the loopback interface: %s is refused',
    (url) => {
      expect(make(url)).toThrow(expect.objectContaining({ code: INVALID, message: https }));
    },
  );
});
