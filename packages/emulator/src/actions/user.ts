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

/** When the emulator says a user it makes up from a KS was created: the samples' epoch. */
const USERS_CREATED_AT = 1_700_000_000;

/**
 * user.get (UserService `getAction`): `userId` defaults to the KS's user; only an ADMIN KS may
 * read another user. Every user a KS names exists here (Kaltura would answer INVALID_USER_ID
 * for one it never stored); the anonymous users `''` and `'0'` of widget sessions do not.
 */
const get = defineAction({
  service: 'user',
  action: 'get',
  access: 'session',
  partner: 'known',
  parse: (p) => ({ userId: p.string('userId') }),
  run(args, { state, session, partner }) {
    const own = session!.fields.userId;
    const userId = args.userId || own;
    if (!session!.isAdmin && userId !== own)
      throw apiError('CANNOT_RETRIEVE_ANOTHER_USER_USING_NON_ADMIN_SESSION', userId);
    if (userId === '' || userId === '0') throw apiError('INVALID_USER_ID');
    const partnerId = partner!.id;
    const known = state.users.find((u) => u.partnerId === partnerId && u.userId === userId);
    return {
      id: userId,
      partnerId,
      screenName: userId,
      fullName: userId,
      email: known?.loginId ?? '',
      status: 1, // ACTIVE
      createdAt: USERS_CREATED_AT,
      updatedAt: USERS_CREATED_AT,
      type: 0, // USER
      isAdmin: known?.isAdmin ?? false,
      isGuest: false,
      loginEnabled: known !== undefined,
      objectType: 'KalturaUser',
    };
  },
});

export const USER_ACTIONS: readonly ActionDefinition[] = [loginByLoginId, get];
