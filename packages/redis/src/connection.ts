/**
 * The two kinds of node-redis client the store takes — a single client
 * (`createClient`) and a cluster client (`createCluster`) — seen through one
 * interface: commands routed by key, a subscriber, and readiness events.
 */
import type { CommandSender } from './scripts.js';

type Listener<A extends unknown[]> = (...args: A) => void;

/** The connection the store subscribes with (`client.duplicate()`). */
export interface RedisSubscriberClient {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  subscribe(
    channels: string[],
    listener: (message: string, channel: string) => unknown,
  ): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: Listener<[Error]>): unknown;
  on(event: 'ready', listener: Listener<[]>): unknown;
  off(event: 'ready', listener: Listener<[]>): unknown;
}

/**
 * A node-redis client (`createClient()` from `redis`) that you create, connect
 * and close yourself. Prefer `disableOfflineQueue: true` on it, so commands
 * fail at once while Redis is away instead of queueing until the issuer's
 * `storeTimeoutMs` gives up on them.
 */
export interface RedisStoreClient {
  readonly isReady: boolean;
  sendCommand(args: readonly string[]): Promise<unknown>;
  duplicate(): RedisSubscriberClient;
  on(event: 'error', listener: Listener<[Error]>): unknown;
  on(event: 'ready', listener: Listener<[]>): unknown;
  off(event: 'error', listener: Listener<[Error]>): unknown;
  off(event: 'ready', listener: Listener<[]>): unknown;
}

/** The subscriber of a cluster client (`cluster.duplicate()`). */
export interface RedisSubscriberCluster {
  /** The node connection it subscribed on, once it has (node-redis 5+). */
  readonly pubSubNode?: { readonly client?: { readonly isReady?: boolean } } | undefined;
  connect(): Promise<unknown>;
  subscribe(
    channels: string[],
    listener: (message: string, channel: string) => unknown,
  ): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: Listener<[Error]>): unknown;
  /** Each connection of the cluster client (here: the one subscribed) that becomes ready. */
  on(event: 'node-ready', listener: Listener<[unknown]>): unknown;
  off(event: 'node-ready', listener: Listener<[unknown]>): unknown;
}

/**
 * A node-redis cluster client (`createCluster()` from `redis`) that you create,
 * connect and close yourself. Prefer `defaults: { disableOfflineQueue: true }`.
 * The store sends every command to the master serving its slot (never a
 * replica, which may not have the latest revocation yet).
 */
export interface RedisStoreClusterClient {
  readonly isReady: boolean;
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  duplicate(overrides?: { minimizeConnections?: boolean }): RedisSubscriberCluster;
  nodeClient(node: never): unknown;
  on(event: 'error', listener: Listener<[Error]>): unknown;
  on(event: 'connect', listener: Listener<[]>): unknown;
  off(event: 'error', listener: Listener<[Error]>): unknown;
  off(event: 'connect', listener: Listener<[]>): unknown;
}

export function isCluster(
  client: RedisStoreClient | RedisStoreClusterClient,
): client is RedisStoreClusterClient {
  return typeof (client as { nodeClient?: unknown }).nodeClient === 'function';
}

/** The store's commands connection. */
export interface Commands {
  readonly isReady: boolean;
  readonly send: CommandSender['sendCommand'];
  /** Called each time the connection becomes ready (after a reconnection too). */
  onReady(listener: () => void): () => void;
  onError(listener: (error: Error) => void): () => void;
}

/** The store's subscriber connection. */
export interface Subscriber {
  connect(): Promise<unknown>;
  subscribe(
    channels: string[],
    listener: (message: string, channel: string) => unknown,
  ): Promise<unknown>;
  /** Called each time the subscribed connection becomes ready: at first, and after every loss. */
  onReady(listener: () => void): () => void;
  /** `false` while the subscribed connection is known to be down (messages are being missed). */
  isReady(): boolean;
  onError(listener: (error: Error) => void): void;
  destroy(): void;
}

export function commandsOf(client: RedisStoreClient | RedisStoreClusterClient): Commands {
  if (isCluster(client)) {
    return {
      get isReady() {
        return client.isReady;
      },
      // Always the master: a replica may not have the latest revocation yet.
      send: (args, key) => client.sendCommand(key, false, [...args]),
      onReady: (listener) => {
        client.on('connect', listener);
        return () => client.off('connect', listener);
      },
      onError: (listener) => {
        client.on('error', listener);
        return () => client.off('error', listener);
      },
    };
  }
  return {
    get isReady() {
      return client.isReady;
    },
    send: (args) => client.sendCommand(args),
    onReady: (listener) => {
      client.on('ready', listener);
      return () => client.off('ready', listener);
    },
    onError: (listener) => {
      client.on('error', listener);
      return () => client.off('error', listener);
    },
  };
}

export function subscriberOf(client: RedisStoreClient | RedisStoreClusterClient): Subscriber {
  if (isCluster(client)) {
    // Only the connection it subscribes on: no connection to every node.
    const cluster = client.duplicate({ minimizeConnections: true });
    return {
      connect: () => cluster.connect(),
      subscribe: (channels, listener) => cluster.subscribe(channels, listener),
      onReady: (listener) => {
        const onNode = () => listener();
        cluster.on('node-ready', onNode);
        return () => cluster.off('node-ready', onNode);
      },
      isReady: () => cluster.pubSubNode?.client?.isReady !== false,
      onError: (listener) => cluster.on('error', listener),
      destroy: () => cluster.destroy(),
    };
  }
  return fromClient(client.duplicate());
}

export function fromClient(client: RedisSubscriberClient): Subscriber {
  return {
    connect: () => client.connect(),
    subscribe: (channels, listener) => client.subscribe(channels, listener),
    onReady: (listener) => {
      client.on('ready', listener);
      return () => client.off('ready', listener);
    },
    isReady: () => client.isReady,
    onError: (listener) => client.on('error', listener),
    destroy: () => client.destroy(),
  };
}
