import { describe, expect, it } from 'vitest';
import { KALTURA_SERVER_PRIVILEGES } from './server-privileges.js';

describe('KALTURA_SERVER_PRIVILEGES', () => {
  it('is exactly the server-reserved list of spec §5.2, in its order', () => {
    expect([...KALTURA_SERVER_PRIVILEGES]).toEqual(
      (
        'edit sview list download downloadasset editplaylist sviewplaylist actionslimit setrole ' +
        'restrictingrole limitentry iprestrict urirestrict enableentitlement disableentitlement ' +
        'disableentitlementforentry disableentitlementforplaylist privacycontext ' +
        'enablecategorymoderation reftime sessionkey preview sessionid jobtype apptoken ' +
        'enablechangeaccount edituser enablecaptionmoderation editadmintags ' +
        'restrictexplicitliveview virtualeventid searchcontext disablesessiontypecheck'
      ).split(' '),
    );
  });

  it('does not hold the names Kaltura uses without reserving them (view, widget, all, appid)', () => {
    for (const name of ['view', 'widget', 'all', 'appid']) {
      expect(KALTURA_SERVER_PRIVILEGES).not.toContain(name);
    }
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(KALTURA_SERVER_PRIVILEGES)).toBe(true);
  });
});
