import { describe, expect, it } from 'vitest';
import { createKsEngine } from './engine.js';
import type { KsRouteBody, KsUser } from './types.js';

const START = 1_700_000_000_000;

function setup(getUser: () => KsUser | null) {
  let time = START;
  const engine = createKsEngine<object>({
    partnerId: 4242,
    adminSecret: 'engine-test-admin-secret-0123456789',
    privileges: 'sview:*',
    appId: 'app.example.com',
    getUser,
    now: () => time,
  });
  const get = async () => {
    const context = await engine.context({});
    const answer = await engine.respond(context, { method: 'GET', headers: {} });
    return { answer, body: JSON.parse(answer.body) as KsRouteBody };
  };
  return { get, tick: (ms: number) => (time += ms) };
}

describe('the route body, serialized once per cached session', () => {
  it('answers the same session with the current serverTime, in the documented field order', async () => {
    const { get, tick } = setup(() => ({ id: 'alice' }));
    const first = await get();
    tick(1_234);
    const second = await get();
    expect(second.body.ks).toBe(first.body.ks);
    expect(first.body.serverTime).toBe(START);
    expect(second.body.serverTime).toBe(START + 1_234);
    const { serverTime: _, ...rest } = second.body;
    expect(second.answer.body).toBe(JSON.stringify({ ...rest, serverTime: START + 1_234 }));
    expect(Object.keys(second.body)).toEqual([
      'ks',
      'partnerId',
      'userId',
      'type',
      'privileges',
      'expiresAt',
      'serverTime',
    ]);
  });

  it('escapes what the user id holds, as JSON.stringify does', async () => {
    const { get } = setup(() => ({ id: 'a"b\\c</script>é' }));
    const { body } = await get();
    expect(body.userId).toBe('a"b\\c</script>é');
  });

  it('adds the user’s own privileges to the static ones and the appid', async () => {
    const { get } = setup(() => ({ id: 'bob', privileges: { edit: 'entry-1' } }));
    const { body } = await get();
    expect(body.privileges).toBe('sview:*,edit:entry-1,appid:app.example.com');
  });
});
