import { KsType } from './types.js';

/**
 * Kaltura's `isWidgetSession`: a USER KS of the anonymous user (`''` or `'0'`) with
 * `widget:1` anywhere in its privileges (a substring test, as Kaltura's). Kaltura never checks
 * such a KS for revocation. One rule for the issuer's grant check and the emulator.
 */
export function isWidgetSession(fields: {
  type: number;
  userId: string;
  privileges: string;
}): boolean {
  return (
    fields.type === KsType.USER &&
    (fields.userId === '' || fields.userId === '0') &&
    fields.privileges.includes('widget:1')
  );
}
