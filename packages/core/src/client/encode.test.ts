import { describe, expect, it } from 'vitest';
import { KsError } from '../errors.js';
import { encodeParams } from './encode.js';

function decoded(body: string): [string, string][] {
  return [...new URLSearchParams(body)];
}

describe('encodeParams', () => {
  it('writes PHP-style nested names, in key order', () => {
    const { body } = encodeParams({
      appToken: { objectType: 'KalturaAppToken', sessionPrivileges: 'sview:*,edit:0_a/0_b' },
      filter: { idIn: '0_a,0_b', nested: { deep: 1 } },
      list: ['x', { y: true }],
    });
    expect(decoded(body)).toEqual([
      ['appToken[objectType]', 'KalturaAppToken'],
      ['appToken[sessionPrivileges]', 'sview:*,edit:0_a/0_b'],
      ['filter[idIn]', '0_a,0_b'],
      ['filter[nested][deep]', '1'],
      ['list[0]', 'x'],
      ['list[1][y]', '1'],
    ]);
  });

  it('percent-encodes names and values (UTF-8), so & = + and spaces survive', () => {
    const { body } = encodeParams({ 'a b': 'x&y=z+1 ü/é', empty: '' });
    expect(body).toBe('a%20b=x%26y%3Dz%2B1%20%C3%BC%2F%C3%A9&empty=');
    expect(decoded(body)).toEqual([
      ['a b', 'x&y=z+1 ü/é'],
      ['empty', ''],
    ]);
  });

  it('collects credentials by name, at any depth, for redaction', () => {
    const { secrets } = encodeParams({
      ks: 'K1',
      secret: 'S1',
      password: 'P1',
      appToken: { token: 'T1', description: 'public' },
      tokenHash: 'H1',
      session: 'K2',
      otp: '',
      userId: 'alice',
    });
    expect(secrets).toEqual(['K1', 'S1', 'P1', 'T1', 'H1', 'K2']);
  });

  it('refuses values it cannot encode faithfully, without echoing them', () => {
    for (const params of [
      { n: Number.POSITIVE_INFINITY },
      { f: () => 1 },
      { s: 'broken \ud800 unicode' },
    ]) {
      expect(() => encodeParams(params as never)).toThrow(KsError);
    }
    try {
      encodeParams({ password: 'secret-\ud800' });
    } catch (error) {
      expect((error as KsError).code).toBe('ERR_KS_INVALID_OPTION');
      expect((error as KsError).message).not.toContain('secret-');
    }
  });
});
