// app/kaltura/ks/route.ts: the browser's KS route, GET (the KS) and DELETE (sign-out).
import { kaltura } from '../../../lib/kaltura.js';

export const GET = kaltura;
export const DELETE = kaltura;

// Per user, never cached; core needs Node (node:crypto, undici), not the Edge runtime.
export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';
