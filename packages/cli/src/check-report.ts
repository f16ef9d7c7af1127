import type { KsType, KsVersion } from '@kaltura-ks/core';
import { formatDuration, table, typeName } from './format.js';

/** Beyond this, a KS signed on this machine lives noticeably longer or shorter at Kaltura. */
const CLOCK_WARNING_MS = 30_000;

/** The ways the issuer can mint, as `check` tries them. */
export type Way = 'admin-secret' | 'local-signing' | 'user-secret' | 'app-token';

export interface Asked {
  userId: string;
  type: KsType;
  privileges: string;
}

/**
 * What a session says about itself, as far as it can be read: all of it from the app token
 * flow's answer or with the admin secret, only the partner of a KS v2 without the secret.
 */
export interface Carried {
  partnerId: number;
  userId?: string;
  type?: number;
  privileges?: string;
  version: KsVersion;
}

export interface WayReport {
  way: Way;
  label: string;
  ok: boolean;
  session?: Omit<Carried, 'privileges' | 'version'>;
  privileges?: { asked: string; carried: string | null; missing: string[]; extra: string[] };
  /** baseEntry.list's totalCount with the session. */
  entries?: number;
  /** What differs from what was asked: the user, the type, the partner, privileges. */
  problems?: string[];
  error?: { code: string; kalturaCode?: string; message: string };
  hint?: string;
}

/** What to do about Kaltura's answer, by its code. */
export const HINTS: Record<string, string> = {
  START_SESSION_ERROR:
    'Kaltura refused the secret for this partner: check the partner id and the secret (KMC > Settings > Integration Settings)',
  INVALID_APP_TOKEN_HASH:
    'the token value or its hash type is wrong: KALTURA_APP_TOKEN_HASH_TYPE must be the one the token was made with (kaltura-ks app-token list shows it)',
  APP_TOKEN_ID_NOT_FOUND: "no such app token for this partner: deleted, or another partner's",
  APP_TOKEN_NOT_ACTIVE: 'the app token is disabled or deleted',
  APP_TOKEN_EXPIRED: "the app token's expiry has passed: make a new one (kaltura-ks app-token add)",
  INVALID_KS:
    "Kaltura refused the KS: for local signing, this machine's clock is far from Kaltura's or the secret is not the partner's admin secret",
  ERR_KS_EXPIRED: "the KS had expired by Kaltura's clock when it arrived: see the clock line",
  SERVICE_FORBIDDEN: 'the session may not list entries: its role or privileges forbid it',
  ERR_KS_NOT_GRANTED:
    'Kaltura issued another session than the one asked: see the problems above; for an app token, its session user, type or privileges decide (kaltura-ks app-token list)',
};

function describeClock(clock: { offsetMs: number; uncertaintyMs: number }): string {
  const { offsetMs, uncertaintyMs } = clock;
  const margin = `±${(uncertaintyMs / 1000).toFixed(1)} s`;
  if (Math.abs(offsetMs) <= uncertaintyMs) return `in step with this machine (${margin})`;
  const size =
    Math.abs(offsetMs) < 60_000
      ? `${(Math.abs(offsetMs) / 1000).toFixed(1)} s`
      : formatDuration(Math.round(Math.abs(offsetMs) / 1000));
  const text = `${size} ${offsetMs > 0 ? 'ahead of' : 'behind'} this machine (${margin})`;
  return Math.abs(offsetMs) > CLOCK_WARNING_MS
    ? `${text}: Kaltura checks a KS's expiry on its own clock, so a KS signed here lives ${offsetMs > 0 ? 'shorter' : 'longer'} than asked; set this machine's clock (NTP)`
    : text;
}

function wayText(report: WayReport): string {
  const rows: Array<[string, string | number | undefined]> = [];
  const session = report.session;
  if (session)
    rows.push([
      'session',
      session.type === undefined || session.userId === undefined
        ? `partner ${session.partnerId} (the rest is encrypted: KALTURA_ADMIN_SECRET reads it)`
        : `${typeName(session.type)} for ${session.userId === '' ? '(anonymous)' : JSON.stringify(session.userId)}, partner ${session.partnerId}`,
    ]);
  const privileges = report.privileges;
  if (privileges) {
    const carried =
      privileges.carried === null
        ? '(encrypted: KALTURA_ADMIN_SECRET reads them)'
        : privileges.carried || '(none)';
    const notes = [
      privileges.missing.length ? `missing ${privileges.missing.join(', ')}` : '',
      privileges.extra.length ? `beyond those asked: ${privileges.extra.join(', ')}` : '',
    ].filter(Boolean);
    rows.push(['privileges', `${carried}${notes.length ? ` (${notes.join('; ')})` : ''}`]);
    rows.push(['asked', privileges.asked || '(none)']);
  }
  if (report.entries !== undefined) rows.push(['entries', `${report.entries} listed`]);
  if (report.error)
    rows.push([
      'error',
      // Kaltura's errors name their code already: `service.action: message [CODE]`.
      report.error.kalturaCode
        ? report.error.message
        : `${report.error.code}: ${report.error.message}`,
    ]);
  rows.push(['hint', report.hint]);
  return `${report.ok ? 'ok    ' : 'FAILED'}  ${report.label}\n${table(rows).replace(/^ {2}/gm, '          ')}`;
}

/** The whole report, for people. */
export function reportText(report: {
  ok: boolean;
  serviceUrl: string;
  partnerId: number;
  clock: { offsetMs: number; uncertaintyMs: number };
  ways: readonly WayReport[];
}): string {
  const working = report.ways.filter((w) => w.ok).length;
  const summary = report.ok
    ? `Every configured way works (${working}).`
    : `${working} of ${report.ways.length} configured ways work.`;
  return `Kaltura ${report.serviceUrl}, partner ${report.partnerId}\n  clock  Kaltura is ${describeClock(report.clock)}\n\n${report.ways.map(wayText).join('\n')}\n${summary}\n`;
}
