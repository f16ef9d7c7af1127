// Node, no DOM: a server render must not touch window, document or the client.
import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import { expect, it } from 'vitest';
import { KsProvider, useKalturaPlayer, useKs } from './index.js';

function Page() {
  const { ks, error } = useKs();
  useKalturaPlayer({ current: null }, { entryId: '0_abc', partnerId: 4242 });
  return h('output', null, ks ?? `no KS yet${error ? ` (${error.code})` : ''}`);
}

it('renders on the server without a window, a client or a request', () => {
  expect(typeof globalThis.window).toBe('undefined');
  const fetch = () => Promise.reject(new Error('no request may leave a server render'));
  const html = renderToString(h(KsProvider, { options: { fetch } }, h(Page)));
  expect(html).toBe('<output>no KS yet</output>');
});
