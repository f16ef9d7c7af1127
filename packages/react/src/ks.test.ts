// @vitest-environment happy-dom
import { KsClientError } from '@kaltura-ks/browser';
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { createElement as h, StrictMode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { KsProvider, type UseKs, useKs } from './index.js';
import { fakeKs, fakeRoute, heldTimers, START, testClient } from './test-utils/fakes.js';

afterEach(cleanup);

let seen: UseKs[] = [];
afterEach(() => {
  seen = [];
});

function Show() {
  const state = useKs();
  seen.push(state);
  return h('output', null, state.ks ?? `none:${state.error?.code ?? ''}`);
}

describe('useKs', () => {
  it('asks for a KS on mount, then re-renders with each renewal', async () => {
    const { client, route } = testClient();
    render(h(KsProvider, { client }, h(Show), h(Show)));
    expect(seen[0]?.ks).toBeUndefined();
    await waitFor(() => expect(screen.getAllByText(fakeKs('alice', 1))).toHaveLength(2));
    expect(route.calls).toEqual(['/kaltura/ks']); // two components, one request
    expect(seen.at(-1)?.session).toMatchObject({ userId: 'alice', expiresAt: START + 3_600_000 });

    await act(() => seen.at(-1)!.refresh());
    expect(screen.getAllByText(fakeKs('alice', 2))).toHaveLength(2);
    expect(route.calls.at(-1)).toBe('/kaltura/ks?renew=1');
    client.stop();
  });

  it('re-renders when another tab renews (BroadcastChannel and Web Locks)', async () => {
    const route = fakeRoute();
    const url = `/kaltura/ks-${Math.random()}`;
    const tab1 = testClient(route, { crossTab: true, url });
    const tab2 = testClient(route, { crossTab: true, url });
    render(h(KsProvider, { client: tab1.client }, h(Show)));
    // A tab first asks the others (a short wait on its timers), then fetches.
    const settle = async <T>(promise: Promise<T> | undefined, text: string) => {
      await waitFor(() => {
        tab1.timers.fire();
        tab2.timers.fire();
        screen.getByText(text);
      });
      return promise;
    };
    await settle(undefined, fakeKs('alice', 1));
    // The other tab fetches its own first KS (a tab trusts others only once it has one),
    // then renews: this tab re-renders with each KS it broadcasts.
    expect(await settle(tab2.client.getKs(), fakeKs('alice', 2))).toBe(fakeKs('alice', 2));
    expect(await settle(tab2.client.refresh(), fakeKs('alice', 3))).toBe(fakeKs('alice', 3));
    expect(route.calls).toHaveLength(3);
    tab1.client.stop();
    tab2.client.stop();
  });

  it('reports a 401 as the error, with no KS, and clears on clear()', async () => {
    const route = fakeRoute();
    const { client } = testClient(route);
    render(h(KsProvider, { client }, h(Show)));
    await screen.findByText(fakeKs('alice', 1));
    act(() => seen.at(-1)!.clear());
    await screen.findByText('none:');
    route.status = 401;
    await act(() =>
      seen
        .at(-1)!
        .refresh()
        .catch(() => {}),
    );
    expect(screen.getByText('none:ERR_KS_NO_USER')).toBeTruthy();
    expect(seen.at(-1)?.error).toBeInstanceOf(KsClientError);
    client.stop();
  });

  it('makes its own client from options, and stops it on unmount (StrictMode too)', async () => {
    const route = fakeRoute();
    const timers = heldTimers();
    const { unmount } = render(
      h(
        StrictMode,
        null,
        h(KsProvider, { options: { fetch: route.fetch, timers, crossTab: false } }, h(Show)),
      ),
    );
    await screen.findByText(/^djJ8/);
    expect(timers.pending.size).toBeGreaterThan(0); // the renewal is scheduled
    unmount();
    expect(timers.pending.size).toBe(0); // stop() cleared every timer
  });

  it('needs a provider', () => {
    expect(() => render(h(Show))).toThrow(
      expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }),
    );
  });
});
