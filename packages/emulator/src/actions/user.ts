import { apiError } from '../errors.js';
import { issueKs } from '../session.js';
import { secretEquals } from '../state.js';
import {
  type ActionDefinition,
  clampExpiry,
  DEFAULT_EXPIRY_SECONDS,
  defineAction,
} from './define.js';

// Compared against when the login id is unknown, so both failures take the same time.
const NO_PASSWORD = '\u0000no-such-user';

/**
 * user.loginByLoginId (spec §9.5). Kaltura's `api_strict_error_map` replaces every error but
 * a few with USER_WRONG_PASSWORD, so a caller cannot tell an unknown login from a wrong password.
 */
const loginByLoginId = defineAction({
  service: 'user',
  action: 'loginByLoginId',
  access: 'anyone',
  partner: 'none',
  strictErrors: {
    allowed: [
      'USER_WRONG_PASSWORD',
      'PASSWORD_EXPIRED',
      'MISSING_OTP',
      'INVALID_OTP',
      'DIRECT_LOGIN_BLOCKED',
    ],
    replaceWith: 'USER_WRONG_PASSWORD',
  },
  parse: (p) => ({
    // Kaltura's dispatcher trims the login id of this one action.
    loginId: p.requiredString('loginId').trim(),
    password: p.requiredString('password'),
    partnerId: p.int('partnerId'),
    expiry: p.int('expiry') ?? DEFAULT_EXPIRY_SECONDS,
    privileges: p.string('privileges') ?? '*',
  }),
  run(args, { state, nowMs }) {
    const user = state.findUser(args.loginId, args.partnerId);
    const matches = secretEquals(args.password, user?.password ?? NO_PASSWORD);
    const partner = user === undefined ? undefined : state.partners.get(user.partnerId);
    if (user === undefined || partner === undefined) throw apiError('USER_NOT_FOUND');
    if (!matches) throw apiError('USER_WRONG_PASSWORD');
    return issueKs(
      partner,
      {
        type: user.isAdmin ? 2 : 0,
        userId: user.userId,
        privileges: args.privileges,
        expiresInSeconds: clampExpiry(args.expiry, partner),
      },
      nowMs,
    ).ks;
  },
});

export const USER_ACTIONS: readonly ActionDefinition[] = [loginByLoginId];
