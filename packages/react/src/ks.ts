import {
  createKsClient,
  type KsClient,
  KsClientError,
  type KsClientOptions,
  type KsRouteBody,
} from '@kaltura-ks/browser';
import {
  createContext,
  createElement,
  type ReactNode,
  useContext,
  useEffect,
  useState,
  useSyncExternalStore,
} from 'react';

/** `null`: no provider above; `undefined`: a provider whose client is not made yet (SSR). */
const KsContext = createContext<KsClient | undefined | null>(null);

export interface KsProviderProps {
  /** A client you made (and stop). Without it, the provider makes one in the browser. */
  client?: KsClient;
  /** Options for the client the provider makes, read when it mounts; it stops it on unmount. */
  options?: KsClientOptions;
  children?: ReactNode;
}

/**
 * Gives `useKs()` and `useKalturaPlayer()` their KS client. Nothing runs on the server: a
 * client from `options` is made in an effect, in the browser only.
 */
export function KsProvider({ client, options, children }: KsProviderProps) {
  const [own, setOwn] = useState<KsClient>();
  // biome-ignore lint/correctness/useExhaustiveDependencies: options are read at mount (documented): an inline object would remake the client on every render
  useEffect(() => {
    if (client) return;
    const made = createKsClient(options);
    setOwn(made);
    return () => {
      made.stop();
      setOwn(undefined);
    };
  }, [client]);
  return createElement(KsContext.Provider, { value: client ?? own }, children);
}

/** The provider's client: `undefined` on the server and before the provider's effect ran. */
export function useKsClient(): KsClient | undefined {
  const client = useContext(KsContext);
  if (client === null)
    throw new KsClientError('ERR_KS_INVALID_OPTION', 'kaltura-ks: put a <KsProvider> above');
  return client;
}

export interface KsState {
  /** The current session while it is valid; `undefined` on the server, before the first, after a clear. */
  session?: KsRouteBody;
  /** The last error since the last KS or clear (`ERR_KS_NO_USER` after a 401). */
  error?: KsClientError;
}

export interface UseKs extends KsState {
  /** `session?.ks`. */
  ks?: string;
  /** Asks the server for a new KS now (`?renew=1`). */
  refresh(): Promise<string>;
  /** Forgets the session (logout) in every tab. */
  clear(): void;
}

interface Store {
  subscribe(onChange: () => void): () => void;
  get(): KsState;
}

const EMPTY: KsState = {};
const none = () => EMPTY;
const stores = new WeakMap<KsClient, Store>();

/** One store per client: a snapshot that stays the same object until the session or error changes. */
function storeOf(client: KsClient): Store {
  let store = stores.get(client);
  if (!store) {
    let error: KsClientError | undefined;
    let last = EMPTY;
    // Subscribed before any component, so it has seen each event before they re-render.
    client.subscribe((event) => {
      error = event.type === 'error' ? event.error : undefined;
    });
    store = {
      subscribe: (onChange) => client.subscribe(onChange),
      get() {
        const session = client.current;
        if (session !== last.session || error !== last.error) last = { session, error };
        return last;
      },
    };
    stores.set(client, store);
  }
  return store;
}

/**
 * The current KS, re-rendering on every renewal, error and clear, in this tab or another.
 * Asks for a KS when it mounts. On the server (and while hydrating) it has none.
 */
export function useKs(): UseKs {
  const client = useKsClient();
  const store = client && storeOf(client);
  const state = useSyncExternalStore(
    store?.subscribe ?? (() => () => {}),
    store?.get ?? none,
    none,
  );
  useEffect(() => {
    // Concurrent calls share one request; failures arrive as the error above.
    client?.getKs().catch(() => {});
  }, [client]);
  return {
    ...state,
    ks: state.session?.ks,
    refresh: () =>
      client
        ? client.refresh()
        : Promise.reject(new KsClientError('ERR_KS_ABORTED', 'kaltura-ks: no client yet')),
    clear: () => client?.clear(),
  };
}
