import { KsProvider, useKs } from '@kaltura-ks/react';
import { createRoot } from 'react-dom/client';

/** The user's KS, re-rendered on every renewal, in this tab or another. */
function KsStatus() {
  const { ks, session, error, refresh, clear } = useKs();
  if (!session) return <p role="status">{error ? `No KS: ${error.code}` : 'Fetching a KS…'}</p>;
  return (
    <section>
      <p>
        A KS for <b data-testid="user">{session.userId}</b>, valid until{' '}
        <time data-testid="expires">{new Date(session.expiresAt).toISOString()}</time>
      </p>
      <code data-testid="ks">{ks}</code>
      <p>
        <button type="button" onClick={() => void refresh().catch(() => {})}>
          Renew now
        </button>{' '}
        <button type="button" onClick={clear}>
          Forget it
        </button>
      </p>
    </section>
  );
}

// The provider makes the client (GET /kaltura/ks with the page's cookies) in the browser.
createRoot(document.getElementById('root')!).render(
  <KsProvider>
    <KsStatus />
  </KsProvider>,
);
