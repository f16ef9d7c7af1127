import { createKsHandler, jwtUser } from '@kaltura-ks/fetch';

/**
 * One handler — one issuer, one KS cache — for the route (app/kaltura/ks/route.ts) and
 * for server components and actions (`getKs` below). Configured from the environment, as
 * a Next.js app is (`.env.local`); the example's runner sets these for the emulator.
 */
export const kaltura = createKsHandler({
  partnerId: Number(process.env.KALTURA_PARTNER_ID),
  serviceUrl: process.env.KALTURA_SERVICE_URL,
  appToken: {
    id: process.env.KALTURA_APP_TOKEN_ID ?? '',
    token: process.env.KALTURA_APP_TOKEN ?? '',
    hashType: 'SHA256',
  },
  // Your sign-in: here a JWT in the `session` cookie, signed with SESSION_SECRET.
  getUser: jwtUser({
    secret: process.env.SESSION_SECRET ?? '',
    issuer: 'https://app.example.com',
    audience: 'kaltura-ks-example',
    cookie: 'session',
  }),
  privileges: { sview: '*' },
});

/**
 * The signed-in user's KS in a server component or action, from the same cache as the
 * route: `await getKs(await headers())` (`headers` from `next/headers`). Throws a KsError
 * `ERR_KS_NO_USER` when nobody is signed in.
 */
export async function getKs(requestHeaders: Headers) {
  // Next.js has no Request there; getUser needs only the headers (cookie, Authorization).
  const request = new Request('http://localhost/', { headers: requestHeaders });
  return (await kaltura.context(request)).getKs();
}
