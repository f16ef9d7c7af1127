// @vitest-environment happy-dom
import { act, cleanup, render, waitFor } from '@testing-library/react';
import { createElement as h, useRef } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type KalturaPlayerInstance,
  type KalturaPlayerLibrary,
  KsProvider,
  type UseKalturaPlayer,
  useKalturaPlayer,
} from './index.js';
import { fakeKs, testClient } from './test-utils/fakes.js';

afterEach(cleanup);

/** A stand-in for kaltura-player-js: records what the hook does to it. */
function fakeLibrary() {
  const players: (KalturaPlayerInstance & { setupConfig: Record<string, unknown> })[] = [];
  const library: KalturaPlayerLibrary = {
    setup: vi.fn((config: Record<string, unknown>) => {
      const player = {
        setupConfig: config,
        config: {} as { network?: object },
        configure: vi.fn((update: { network?: object }) => {
          if (update.network) player.config.network = update.network;
        }),
        getKs: () => (config.provider as { ks: string }).ks,
        loadMedia: vi.fn(async () => {}),
        destroy: vi.fn(),
      };
      players.push(player);
      return player;
    }),
  };
  return { library, players };
}

let result: UseKalturaPlayer = {};
function Player(props: { entryId: string; library: KalturaPlayerLibrary; id?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  result = useKalturaPlayer(ref, {
    entryId: props.entryId,
    partnerId: 4242,
    uiConfId: 777,
    library: props.library,
    config: { playback: { autoplay: false } },
  });
  return h('div', { ref, id: props.id });
}

describe('useKalturaPlayer', () => {
  it('sets the player up with the current KS, keeps it fresh, loads the entry, and tears down', async () => {
    const { client } = testClient();
    const { library, players } = fakeLibrary();
    const view = render(
      h(KsProvider, { client }, h(Player, { entryId: '0_first', library, id: 'stage' })),
    );
    await waitFor(() => expect(players).toHaveLength(1));
    const player = players[0]!;
    expect(player.setupConfig).toEqual({
      playback: { autoplay: false },
      targetId: 'stage',
      provider: { partnerId: 4242, uiConfId: 777, ks: fakeKs('alice', 1) },
    });
    await waitFor(() => expect(player.loadMedia).toHaveBeenCalledWith({ entryId: '0_first' }));
    expect(result.player).toBe(player);

    // A renewal reaches the running player.
    await act(() => client.refresh());
    expect(player.configure).toHaveBeenCalledWith({
      session: { ks: fakeKs('alice', 2) },
      provider: { ks: fakeKs('alice', 2) },
    });

    // Another entry: loaded into the same player.
    view.rerender(h(KsProvider, { client }, h(Player, { entryId: '0_second', library })));
    await waitFor(() => expect(player.loadMedia).toHaveBeenCalledWith({ entryId: '0_second' }));
    expect(library.setup).toHaveBeenCalledTimes(1);

    view.unmount();
    expect(player.destroy).toHaveBeenCalledTimes(1);
    // Detached: the request filter it installed is taken out again.
    expect(player.configure).toHaveBeenLastCalledWith({ network: { requestFilter: undefined } });
    client.stop();
  });

  it('gives an element without an id one, and reports a failed load', async () => {
    const { client } = testClient();
    const { library, players } = fakeLibrary();
    const failing: KalturaPlayerLibrary = {
      setup(config) {
        const player = library.setup(config);
        player.loadMedia = () => Promise.reject(new Error('entry not found'));
        return player;
      },
    };
    render(h(KsProvider, { client }, h(Player, { entryId: '0_gone', library: failing })));
    await waitFor(() => expect(result.error).toEqual(new Error('entry not found')));
    const { targetId } = players[0]!.setupConfig as { targetId: string };
    expect(targetId).toMatch(/^kaltura-player/);
    expect(document.getElementById(targetId)).not.toBeNull();
    client.stop();
  });

  it('reports why there is no KS, and sets nothing up', async () => {
    const { client, route } = testClient();
    route.status = 401;
    const { library } = fakeLibrary();
    render(h(KsProvider, { client }, h(Player, { entryId: '0_x', library })));
    await waitFor(() => expect(result.error).toMatchObject({ code: 'ERR_KS_NO_USER' }));
    expect(library.setup).not.toHaveBeenCalled();
    client.stop();
  });
});
