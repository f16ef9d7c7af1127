// @vitest-environment happy-dom
import { act } from '@testing-library/react';
import { createElement as h } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { expect, it } from 'vitest';
import { KsProvider, useKs } from './index.js';
import { fakeKs, testClient } from './test-utils/fakes.js';

function Page() {
  const { ks } = useKs();
  return h('output', null, ks ?? 'no KS yet');
}

it('hydrates the server’s HTML without a mismatch, then shows the KS', async () => {
  const { client } = testClient();
  // The client already holds a KS when the page hydrates: the first render must still match.
  await client.getKs();
  const container = document.createElement('div');
  container.innerHTML = renderToString(h(KsProvider, { client }, h(Page)));
  expect(container.innerHTML).toBe('<output>no KS yet</output>');
  const recoverable: unknown[] = [];
  const root = await act(async () =>
    hydrateRoot(container, h(KsProvider, { client }, h(Page)), {
      onRecoverableError: (error) => recoverable.push(error),
    }),
  );
  expect(recoverable).toEqual([]);
  expect(container.innerHTML).toBe(`<output>${fakeKs('alice', 1)}</output>`);
  act(() => root.unmount());
  client.stop();
});
