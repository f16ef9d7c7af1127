import { describe, expect, it } from 'vitest';
import { createKsIssuer } from './issuer.js';
import type { KsMinter, MintRequest } from './minter.js';
import type { KsIssuerEvent, KsSession } from './types.js';

const PARTNER = 4848;
const START = 1_800_000_000_000;
const KS = 'djJ8NDg0OHxvdmVycmlkZGVu'; // opaque: never checked here, never to appear in a message

/** A minter that issues what `issue` makes of the request, like an app token overriding it. */
function overriding(issue: (request: MintRequest) => Partial<KsSession>): KsMinter {
  return {
    kind: 'app-token',
    async mint(request) {
      return {
        ks: KS,
        partnerId: PARTNER,
        userId: request.userId,
        type: request.type,
        privileges: request.privileges,
        issuedAt: START,
        expiresAt: START + 3_600_000,
        ...issue(request),
      };
    },
  };
}

function issuerWith(minter: KsMinter) {
  const events: KsIssuerEvent[] = [];
  const issuer = createKsIssuer({
    partnerId: PARTNER,
    minter,
    now: () => START,
    onEvent: (event) => events.push(event),
  });
  return { issuer, events };
}

async function refusal(
  minter: KsMinter,
  request: Parameters<ReturnType<typeof createKsIssuer>['getKs']>[0],
) {
  const { issuer, events } = issuerWith(minter);
  const error = await issuer.getKs(request).then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );
  expect(error).toMatchObject({ code: 'ERR_KS_NOT_GRANTED' });
  expect(error?.message).not.toContain(KS);
  // Neither cached nor handed out later.
  expect(issuer.size).toBe(0);
  expect(events.some((e) => e.type === 'mint')).toBe(false);
  return error!.message;
}

describe('what Kaltura issued is checked against what was asked, before anyone gets it', () => {
  it('another user (a token with sessionUserId): refused, saying so and what to change', async () => {
    const message = await refusal(
      overriding(() => ({ userId: 'ceo' })),
      { userId: 'alice' },
    );
    expect(message).toContain('"ceo"');
    expect(message).toContain('"alice"');
    expect(message).toContain('sessionUserId');
  });

  it('the anonymous user with a widget privilege for a named user (sessionUserId 0, view:*,widget:1): refused', async () => {
    const message = await refusal(
      overriding((r) => ({ userId: '0', privileges: `view:*,widget:1,${r.privileges}` })),
      { userId: 'alice', privileges: 'sview:*' },
    );
    expect(message).toContain('sessionUserId');
  });

  it('an anonymous widget session where an anonymous plain KS was asked: refused (never revocable)', async () => {
    const message = await refusal(
      overriding(() => ({ privileges: 'view:*,widget:1' })),
      {
        userId: '',
      },
    );
    expect(message).toContain('widget');
  });

  it('a higher type (a token with sessionType 2): refused; a lower one is accepted', async () => {
    const message = await refusal(
      overriding(() => ({ type: 2 })),
      { userId: 'alice' },
    );
    expect(message).toContain('ADMIN');
    expect(message).toContain('sessionType');
    const { issuer } = issuerWith(overriding(() => ({ type: 0 })));
    expect((await issuer.getKs({ userId: 'root', type: 2 })).type).toBe(0);
    await expect(
      issuerWith(overriding(() => ({ type: 1 }))).issuer.getKs({ userId: 'alice', type: 2 }),
    ).rejects.toMatchObject({ code: 'ERR_KS_NOT_GRANTED' });
  });

  it('another partner: refused', async () => {
    await refusal(
      overriding(() => ({ partnerId: 1 })),
      { userId: 'alice' },
    );
  });

  it('a privilege asked and left out (Kaltura drops a caller’s sview the token does not grant): refused, naming it', async () => {
    const message = await refusal(
      overriding((r) => ({
        privileges: `sessionid:0_t,apptoken:0_t,${r.privileges.replace('sview:*,', '')}`,
      })),
      { userId: 'alice', privileges: { sview: '*', appid: 'app.example.com' } },
    );
    expect(message).toContain('left out privileges that were asked: sview');
    expect(message).toContain('sview:*');
    expect(message).toContain('--session-privileges');
    expect(message).not.toContain('appid');
  });

  it('a value asked and left out: refused', async () => {
    await refusal(
      overriding(() => ({ privileges: 'sview:1_other' })),
      {
        userId: 'alice',
        privileges: 'sview:1_mine',
      },
    );
  });

  it('a restricting privilege with other values (looser) is refused, even with the asked ones among them', async () => {
    for (const [asked, issued] of [
      ['iprestrict:10.0.0.1', 'iprestrict:10.0.0.1/0.0.0.0'],
      ['actionslimit:5', 'actionslimit:100000'],
      ['urirestrict:/player/*', 'urirestrict:/*'],
    ] as const) {
      const message = await refusal(
        overriding(() => ({ privileges: issued })),
        {
          userId: 'alice',
          privileges: asked,
        },
      );
      expect(message).toContain('other values than asked');
    }
  });

  it('more than asked is accepted and reported in the mint event; * grants every plain privilege', async () => {
    const { issuer, events } = issuerWith(
      overriding((r) => ({
        privileges: `sessionid:0_t,apptoken:0_t,sview:1_a/1_b,${r.privileges.replace('sview:1_a,', '')}`,
      })),
    );
    const session = await issuer.getKs({ userId: 'alice', privileges: 'sview:1_a,appid:x' });
    expect(session.privileges).toBe('sessionid:0_t,apptoken:0_t,sview:1_a/1_b,appid:x');
    expect(events.find((e) => e.type === 'mint')).toMatchObject({
      key: { privileges: 'appid:x,sview:1_a' },
      extraPrivileges: 'sessionid:0_t,apptoken:0_t,sview:1_b',
    });
    const everything = issuerWith(overriding(() => ({ privileges: '*' })));
    expect((await everything.issuer.getKs({ userId: 'root', privileges: 'edit:1_x' })).ks).toBe(KS);
  });

  it('a minter that returns no session is refused, not cached', async () => {
    const { issuer } = issuerWith({ kind: 'broken', mint: async () => ({ ks: 42 }) as never });
    await expect(issuer.getKs({ userId: 'alice' })).rejects.toMatchObject({
      code: 'ERR_KS_UNAVAILABLE',
      cause: { code: 'ERR_KS_RESPONSE' },
    });
    expect(issuer.size).toBe(0);
  });

  it('a refused KS backs off for that request only; other users are served', async () => {
    let calls = 0;
    const { issuer } = issuerWith(
      overriding((r) => {
        calls++;
        return r.userId === 'alice' ? { userId: 'ceo' } : {};
      }),
    );
    await expect(issuer.getKs({ userId: 'alice' })).rejects.toMatchObject({
      code: 'ERR_KS_NOT_GRANTED',
    });
    await expect(issuer.getKs({ userId: 'alice' })).rejects.toMatchObject({
      code: 'ERR_KS_NOT_GRANTED',
    });
    expect((await issuer.getKs({ userId: 'bob' })).userId).toBe('bob');
    expect(calls).toBe(2);
  });

  it('without onEvent, the first refusal of each kind is logged once, without the KS', async () => {
    const warnings: string[] = [];
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      minter: overriding(() => ({ userId: 'ceo' })),
      now: () => START,
      onWarning: (message) => warnings.push(message),
    });
    for (const userId of ['alice', 'bob', 'carol']) {
      await issuer.getKs({ userId }).catch(() => {});
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('sessionUserId');
    expect(warnings[0]).not.toContain(KS);
  });
});
