import { describe, expect, it } from 'vitest';
import { verifyKs } from '../ks/verify.js';
import type { PrivilegesInput } from '../privileges/privileges.js';
import { createKsEngine } from './engine.js';
import { joinByPrecedence } from './privilege-precedence.js';
import type { KsUser } from './types.js';

const SECRET = 'precedence-admin-secret-0123456789ab';
const PARTNER = 4343;
const CONFIGURED = { sview: '1_entry', iprestrict: '10.0.0.1', actionslimit: 5 };
/** A user's privileges trying to loosen every configured one (from a JWT claim, say). */
const LOOSER = 'sview:*,iprestrict:0.0.0.0,actionslimit:100000';

async function ksFor(
  version: 1 | 2,
  configured: PrivilegesInput | ((user: KsUser) => PrivilegesInput),
  user: KsUser,
  extra?: PrivilegesInput,
): Promise<string> {
  const engine = createKsEngine<object>({
    partnerId: PARTNER,
    adminSecret: SECRET,
    ksVersion: version,
    privileges: configured,
    appId: 'app.example.com',
    getUser: () => user,
  });
  try {
    const context = await engine.context({});
    const { ks } = await context.getKs(extra === undefined ? undefined : { privileges: extra });
    return verifyKs(ks, { secrets: SECRET, partnerId: PARTNER }).privileges;
  } finally {
    await engine.close();
  }
}

describe('per-user privileges narrow, never loosen: configured names win', () => {
  it.each([1, 2] as const)(
    'KS v%i: a user repeating configured names gets the configured values',
    async (version) => {
      expect(await ksFor(version, CONFIGURED, { id: 'alice', privileges: LOOSER })).toBe(
        'sview:1_entry,iprestrict:10.0.0.1,actionslimit:5,appid:app.example.com',
      );
    },
  );

  it.each([1, 2] as const)(
    'KS v%i: configured names win over computed ones too, and over a call’s',
    async (version) => {
      const computed = () => CONFIGURED;
      expect(
        await ksFor(
          version,
          computed,
          { id: 'bob', privileges: LOOSER },
          { sview: '*', edit: '*' },
        ),
      ).toBe('sview:1_entry,iprestrict:10.0.0.1,actionslimit:5,edit:*,appid:app.example.com');
    },
  );

  it('a user may add names the configuration does not set, and a call those neither sets', async () => {
    expect(
      await ksFor(
        2,
        { sview: '1_entry' },
        { id: 'carol', privileges: { urirestrict: '/player/*', edit: '1_mine' } },
        { edit: '*', list: '*' },
      ),
    ).toBe('sview:1_entry,urirestrict:/player/*,edit:1_mine,list:*,appid:app.example.com');
  });

  // Kaltura finds a privilege by substring (ks::verifyPrivileges looks for "sview:*" anywhere
  // in the string), so "xsview:*" is "sview:*" to it: a later name ending in one a source
  // before it set would change that privilege as surely as repeating it.
  it.each([1, 2] as const)(
    'KS v%i: a user’s or a call’s name that ends in a configured name is held back too',
    async (version) => {
      expect(
        await ksFor(
          version,
          { sview: '1_entry', list: '1_entry' },
          { id: 'dave', privileges: { xsview: '*', urirestrict: '/p/*' } },
          { sviewplaylist: '0_pl', edit: '1_mine' },
        ),
      ).toBe('sview:1_entry,list:1_entry,urirestrict:/p/*,edit:1_mine,appid:app.example.com');
      expect(joinByPrecedence(['sview:1', 'a-sview:*,sviewx:*'], '')).toBe('sview:1,sviewx:*');
    },
  );

  it('the appid privilege outranks every source', () => {
    expect(joinByPrecedence(['appid:mine,sview:1'], 'appid:app')).toBe('sview:1,appid:app');
  });

  it('a source keeps its own repeated names (KS v1 merges them, as asked)', () => {
    expect(joinByPrecedence(['edit:a,edit:b', 'edit:*,list'], '')).toBe('edit:a,edit:b,list');
  });
});

describe('joinByPrecedence: empty items', () => {
  it('drops the empty items of a source instead of signing them', () => {
    expect(joinByPrecedence([',', 'a:1,,b'], '')).toBe('a:1,b');
    expect(joinByPrecedence([','], 'appid:x')).toBe('appid:x');
  });
});
