import { describe, expect, it } from 'vitest';
import { KsType } from '../ks/types.js';
import { RequestKeys } from './cache-key.js';
import type { KsEvictReason, KsKeyInfo, KsSession } from './types.js';
import { LocalSessions } from './user-index.js';

const PARTNER = 12345;

function setup(max = 10) {
  let now = 1_000;
  const evicted: Array<[KsKeyInfo, KsEvictReason]> = [];
  const sessions = new LocalSessions({
    partnerId: PARTNER,
    max,
    now: () => now,
    onEvict: (key, reason) => evicted.push([key, reason]),
  });
  const keys = new RequestKeys(PARTNER, 3600, 'local', [2]);
  const shape = (privileges = '', type: KsType = KsType.USER) =>
    keys.keyed({ userId: 'x', privileges, type }).shape;
  const session = (ks: string, expiresAt = 10_000): KsSession => ({
    ks,
    partnerId: PARTNER,
    userId: 'x',
    type: 0,
    privileges: '',
    expiresAt,
    issuedAt: now,
  });
  return { sessions, evicted, shape, session, at: (ms: number) => (now = ms) };
}

describe('LocalSessions: the sessions cached by user and shape', () => {
  it('tells a user’s sessions apart by shape, whichever shape came first', () => {
    const { sessions, shape, session } = setup();
    const plain = shape();
    const list = shape('list:*');
    const admin = shape('', KsType.ADMIN);
    sessions.set('bob', list, session('bob-list')); // an uncommon shape alone
    sessions.set('alice', plain, session('alice-plain'));
    sessions.set('alice', list, session('alice-list'));
    sessions.set('alice', admin, session('alice-admin'));
    expect(sessions.size).toBe(4);
    expect(sessions.get('alice', plain)?.ks).toBe('alice-plain');
    expect(sessions.get('alice', list)?.ks).toBe('alice-list');
    expect(sessions.get('alice', admin)?.ks).toBe('alice-admin');
    expect(sessions.get('bob', list)?.ks).toBe('bob-list');
    expect(sessions.get('bob', plain)).toBeUndefined();
    expect(sessions.get('carol', list)).toBeUndefined();
  });

  it('evicts the least recently used user’s least recently used session, one at a time', () => {
    const { sessions, evicted, shape, session } = setup(3);
    sessions.set('a', shape(), session('a1'));
    sessions.set('a', shape('list:*'), session('a2'));
    sessions.set('b', shape(), session('b1'));
    sessions.get('a', shape()); // a is now the most recent user, a1 its most recent session
    sessions.set('c', shape(), session('c1'));
    expect(sessions.size).toBe(3);
    expect(evicted).toEqual([
      [{ partnerId: PARTNER, userId: 'b', type: 0, privileges: '' }, 'capacity'],
    ]);
    sessions.set('d', shape(), session('d1'));
    expect(evicted[1]).toEqual([
      { partnerId: PARTNER, userId: 'a', type: 0, privileges: 'list:*' },
      'capacity',
    ]);
    expect(sessions.get('a', shape())?.ks).toBe('a1');
  });

  it('a session is served up to expiresAt - 1 ms, then gone as an expiry; one with 1 ms left is not cached', () => {
    const { sessions, evicted, shape, session, at } = setup();
    sessions.set('a', shape(), session('a', 5_000));
    at(4_999);
    expect(sessions.get('a', shape())?.ks).toBe('a');
    at(5_000);
    expect(sessions.get('a', shape())).toBeUndefined();
    expect(evicted.map(([, reason]) => reason)).toEqual(['expired']);
    expect(sessions.size).toBe(0);
    sessions.set('b', shape(), session('b', 5_001));
    expect(sessions.size).toBe(0);
  });

  it('replacing a session reports the old one as replaced; the same session again reports nothing', () => {
    const { sessions, evicted, shape, session } = setup();
    const first = session('one');
    sessions.set('a', shape('list:*'), first);
    sessions.set('a', shape('list:*'), first);
    expect(evicted).toEqual([]);
    sessions.set('a', shape('list:*'), session('two'));
    expect(evicted.map(([, reason]) => reason)).toEqual(['replaced']);
    expect(sessions.get('a', shape('list:*'))?.ks).toBe('two');
    expect(sessions.size).toBe(1);
  });

  it('dropUser returns every session of the user, expired ones too, with their cache keys', () => {
    const { sessions, evicted, shape, session, at } = setup();
    sessions.set('a', shape(), session('a1', 5_000));
    sessions.set('a', shape('edit:x', KsType.ADMIN), session('a2'));
    sessions.set('b', shape(), session('b1'));
    at(6_000);
    const keys: string[] = [];
    const dropped = sessions.dropUser('a', (key) => keys.push(key));
    expect(dropped.map(({ session: s }) => s.ks)).toEqual(['a1', 'a2']);
    expect(keys).toEqual([`${PARTNER}\n0\na\n`, `${PARTNER}\n2\na\nedit:x`]);
    expect(evicted.map(([, reason]) => reason)).toEqual(['revoked', 'revoked']);
    expect(sessions.size).toBe(1);
    expect(sessions.dropUser('a', () => {})).toEqual([]);
  });

  it('clear evicts every session for the reason given', () => {
    const { sessions, evicted, shape, session } = setup();
    sessions.set('a', shape(), session('a1'));
    sessions.set('a', shape('list:*'), session('a2'));
    sessions.set('b', shape(), session('b1'));
    sessions.clear('clock');
    expect(sessions.size).toBe(0);
    expect(evicted.map(([key, reason]) => `${key.userId}:${reason}`)).toEqual([
      'a:clock',
      'a:clock',
      'b:clock',
    ]);
    expect(sessions.get('a', shape())).toBeUndefined();
  });
});

describe('RequestKeys', () => {
  it('keys a request asked again with the same values once (getCachedKs ?? getKs on a miss)', () => {
    const keys = new RequestKeys(PARTNER, 3600, 'local', [2]);
    const request = { userId: 'alice', privileges: 'sview:*' };
    const first = keys.keyed(request);
    expect(keys.keyed(request)).toBe(first);
    expect(keys.keyed({ userId: 'alice', privileges: 'sview:*' })).toBe(first);
    expect(keys.keyed({ userId: 'bob', privileges: 'sview:*' })).not.toBe(first);
    expect(keys.keyed({ userId: 'bob', privileges: 'sview:*', type: KsType.ADMIN }).key).toBe(
      `${PARTNER}\n2\nbob\nsview:*`,
    );
  });

  it('keys privileges given as a record every time: the record may have changed', () => {
    const keys = new RequestKeys(PARTNER, 3600, 'local', [2]);
    const privileges: Record<string, string> = { sview: '*' };
    const request = { userId: 'alice', privileges };
    expect(keys.keyed(request).key).toBe(`${PARTNER}\n0\nalice\nsview:*`);
    privileges.edit = '0_a';
    expect(keys.keyed(request).key).toBe(`${PARTNER}\n0\nalice\nedit:0_a,sview:*`);
  });

  it('keeps the cache and store key layout: partner, type, user, privileges under every version', () => {
    const keys = new RequestKeys(PARTNER, 3600, 'app-token:t1', [1, 2]);
    const keyed = keys.keyed({ userId: 'alice', privileges: 'edit:a,edit:b' });
    expect(keyed.key).toBe(`${PARTNER}\n0\nalice\nedit:a/b\nedit:b`);
    expect(keyed.storeKey).toEqual({
      partnerId: PARTNER,
      userId: 'alice',
      id: `app-token:t1\n${PARTNER}\n0\nalice\nedit:a/b\nedit:b`,
    });
    expect(keyed.info).toEqual({
      partnerId: PARTNER,
      userId: 'alice',
      type: 0,
      privileges: 'edit:a/b',
    });
  });
});
