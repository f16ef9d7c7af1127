// What the tabs of an origin tell each other, and what a tab checks in another's session
// before it believes it. The client (client.ts) runs the channel and the election.
import type { KsRouteBody } from './client.js';

/** What the tabs of an origin tell each other. */
export type TabMessage =
  | { t: 's'; s: KsRouteBody } // a session
  | { t: 'c' } // clear
  // Election without Web Locks: a tab claims the renewal with a ticket; 0 is "I am renewing".
  | { t: 'r'; id: number };

/** How long a claim waits for a smaller ticket, and a lock holder's session for its message. */
export const ELECTION_MS = 50;

/**
 * What a KS shows without a secret: `partnerId,type` for v1 (clear text), the partner id
 * alone for v2 (the rest is encrypted). Throws on what is not base64. Another tab's session
 * is checked against it before it is believed.
 */
export const partnerOf = (ks: string) => {
  // v1: signature|partnerId;partnerId;validUntil;type;…  v2: v2|partnerId|encrypted
  const f = atob(ks.replace(/-/g, '+').replace(/_/g, '/')).split(/[;|]/);
  return f[0] === 'v2' ? f[1] : `${f[1]},${f[4]}`;
};

/** Whom a session is for: `partnerId,type,userId`. */
export const idOf = (s: KsRouteBody) => `${[s.partnerId, s.type, s.userId]}`;
