import { verifyKs } from '@kaltura-ks/core';
import { apiError } from '../errors.js';
import { checkStartPrivileges, issueKs } from '../session.js';
import { secretEquals } from '../state.js';
import {
  type ActionDefinition,
  clampExpiry,
  DEFAULT_EXPIRY_SECONDS,
  defineAction,
  SESSION_TYPE_ENUM,
  SESSION_TYPES,
} from './define.js';

/** `view:*,widget:1`: what Kaltura gives a partner's default widget (spec §9.2). */
const WIDGET_PRIVILEGES = 'view:*,widget:1';

/** session.start (spec §9.1). */
const start = defineAction({
  service: 'session',
  action: 'start',
  access: 'anyone',
  partner: 'given',
  parse: (p) => ({
    secret: p.requiredString('secret'),
    userId: p.string('userId') ?? '',
    type: p.intEnum('type', SESSION_TYPES, SESSION_TYPE_ENUM) ?? 0,
    partnerId: p.int('partnerId'),
    expiry: p.int('expiry') ?? DEFAULT_EXPIRY_SECONDS,
    privileges: p.string('privileges') ?? '',
  }),
  run(args, { state, nowMs }) {
    const partner = args.partnerId === undefined ? undefined : state.partners.get(args.partnerId);
    if (partner === undefined) throw apiError('START_SESSION_ERROR', args.partnerId);
    // Partner::validateSecret: an admin secret for any type, the user secret for USER only.
    // An ADMIN KS is signed with the admin secret the caller used, anything else with the main one.
    let signWith: string | undefined;
    if (secretEquals(args.secret, partner.adminSecret)) {
      signWith = partner.adminSecret;
    } else {
      const additional = partner.additionalAdminSecrets.find((s) => secretEquals(args.secret, s));
      if (additional !== undefined) signWith = args.type === 2 ? additional : partner.adminSecret;
      else if (args.type === 0 && secretEquals(args.secret, partner.userSecret))
        signWith = partner.adminSecret;
    }
    if (signWith === undefined) throw apiError('START_SESSION_ERROR', partner.id);
    checkStartPrivileges(args.privileges);
    return issueKs(
      partner,
      {
        type: args.type,
        userId: args.userId,
        privileges: args.privileges,
        expiresInSeconds: clampExpiry(args.expiry, partner),
        secret: signWith,
      },
      nowMs,
    ).ks;
  },
});

/** session.startWidgetSession (spec §9.2): only a partner's default widget `_<partnerId>` exists here. */
const startWidgetSession = defineAction({
  service: 'session',
  action: 'startWidgetSession',
  access: 'anyone',
  partner: 'none',
  parse: (p) => ({
    widgetId: p.requiredString('widgetId'),
    expiry: p.int('expiry') ?? DEFAULT_EXPIRY_SECONDS,
  }),
  run(args, { state, nowMs }) {
    const match = /^_(\d{1,15})$/.exec(args.widgetId);
    const partner = match ? state.partners.get(Number(match[1])) : undefined;
    if (partner === undefined) throw apiError('INVALID_WIDGET_ID', args.widgetId);
    const { ks } = issueKs(
      partner,
      {
        type: 0,
        userId: '0',
        privileges: WIDGET_PRIVILEGES,
        expiresInSeconds: clampExpiry(args.expiry, partner),
      },
      nowMs,
    );
    // userId is PHP's integer 0 although the type declares a string (spec §9.2).
    return {
      partnerId: partner.id,
      ks,
      userId: 0,
      objectType: 'KalturaStartWidgetSessionResponse',
    };
  },
});

/** session.get (spec §9.3): reads a KS back; values read out of a KS are strings, as in Kaltura. */
const get = defineAction({
  service: 'session',
  action: 'get',
  access: 'admin',
  partner: 'known',
  parse: (p) => ({ session: p.string('session') }),
  run(args, { state, session, partner }) {
    const ks = args.session || session?.ks || '';
    let fields: ReturnType<typeof verifyKs>;
    try {
      // Kaltura's ks::fromSecureString checks the signature but not the expiry.
      fields = verifyKs(ks, { secrets: (id) => state.secretsFor(id), now: () => 0 });
    } catch {
      throw apiError('INTERNAL_SERVERL_ERROR');
    }
    if (partner !== undefined && fields.partnerId !== partner.id) {
      throw apiError('PARTNER_ACCESS_FORBIDDEN', partner.id, fields.partnerId);
    }
    return {
      sessionType: String(fields.type),
      partnerId: String(fields.partnerId),
      userId: fields.userId,
      expiry: String(fields.validUntil),
      privileges: fields.privileges,
      objectType: 'KalturaSessionInfo',
    };
  },
});

/** session.end (spec §9.4): revokes the request's own KS everywhere; answers null. */
const end = defineAction({
  service: 'session',
  action: 'end',
  access: 'anyone',
  partner: 'known',
  parse: () => ({}),
  async run(_args, { state, session }) {
    if (session === undefined) return null;
    state.revokeKs(session.fields.hash, session.fields.validUntil);
    await state.save();
    return null;
  },
});

export const SESSION_ACTIONS: readonly ActionDefinition[] = [start, startWidgetSession, get, end];
