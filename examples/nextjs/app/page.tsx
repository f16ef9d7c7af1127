// app/page.tsx: a server component with the user's KS, from the route's cache.
// Needs `next` (not installed in this repository: the smoke test runs the route handler).
import { headers } from 'next/headers';
import { getKs } from '../lib/kaltura.js';

// biome-ignore lint/style/noDefaultExport: Next.js pages are default exports.
export default async function Page() {
  const { ks, expiresAt } = await getKs(await headers());
  return (
    <p>
      A KS of {ks.length} characters, valid until {new Date(expiresAt).toISOString()}.
    </p>
  );
}
