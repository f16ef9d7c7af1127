/**
 * Choosing how an issuer mints, from its options: exactly one of a local
 * signer (`adminSecret`), `session.start` (`sessionStart`), an app token
 * (`appToken`) or a minter of the caller's own, and the Kaltura client the
 * remote ways (and ending sessions, and reading Kaltura's clock) need.
 */
import { toAppTokenHashType } from '../app-token/hash.js';
import { createKalturaClient } from '../client/client.js';
import type { KalturaClient } from '../client/types.js';
import type { Clock } from '../clock.js';
import { checkSecret } from '../ks/fields.js';
import type { KsVersion } from '../ks/types.js';
import { invalidOption } from '../options.js';
import type { KalturaClockView } from './clock-offset.js';
import { localMinter } from './local-minter.js';
import type { KsMinter } from './minter.js';
import type { KsIssuerOptions } from './options.js';
import { appTokenMinter, clientLifecycle, sessionStartMinter } from './remote-minters.js';

export interface ChosenMinter {
  minter: KsMinter;
  /**
   * How this issuer mints, for the shared store's key: the minter's kind, and an app
   * token's id (it names what its KSs carry: its own privileges, overrides), so that
   * sessions are shared only between issuers that mint alike.
   */
  minting: string;
  /** Every KS version a KS of this issuer may be read with (the cache key covers each). */
  keyVersions: readonly KsVersion[];
  /** Reads Kaltura's clock (`system.getTime`), when the issuer has a client to ask with. */
  getTime: ((signal: AbortSignal) => Promise<number>) | undefined;
  /**
   * The first mint need not wait for Kaltura's clock to be measured: a remote minter
   * reads the offset once Kaltura has answered (through the clock view it was given).
   */
  offsetAfterMint: boolean;
}

export interface MinterContext {
  partnerId: number;
  now: Clock;
  /** The client built from `serviceUrl` ends a hung call with the issuer's own deadline. */
  mintTimeoutMs: number;
  warn: (message: string) => void;
  /** Kaltura's clock as the issuer measures it: read by a remote minter once a mint has been answered. */
  clock: KalturaClockView;
}

export function chooseMinter(options: KsIssuerOptions, context: MinterContext): ChosenMinter {
  const given = (['adminSecret', 'sessionStart', 'appToken', 'minter'] as const).filter(
    (name) => options[name] !== undefined,
  );
  if (given.length !== 1) {
    throw invalidOption(
      `Give exactly one way to mint: adminSecret, sessionStart, appToken or minter${given.length > 1 ? ` (got ${given.join(', ')})` : ''}`,
    );
  }
  if (options.client !== undefined && options.serviceUrl !== undefined) {
    throw invalidOption('Give either client or serviceUrl, not both');
  }
  const chosen = (minter: KsMinter, rest: Partial<ChosenMinter> = {}): ChosenMinter => ({
    minter,
    minting: options.appToken === undefined ? minter.kind : `${minter.kind}:${options.appToken.id}`,
    keyVersions: [1, 2],
    getTime: undefined,
    offsetAfterMint: false,
    ...rest,
  });
  let getTime: ChosenMinter['getTime'];
  const client = (): { client: KalturaClient; ownsClient: boolean } | undefined => {
    const made = makeClient();
    const system = made?.client.system;
    if (typeof system?.getTime === 'function') getTime = (signal) => system.getTime({ signal });
    return made;
  };
  const makeClient = (): { client: KalturaClient; ownsClient: boolean } | undefined => {
    if (options.client !== undefined) return { client: options.client, ownsClient: false };
    if (options.serviceUrl === undefined) return undefined;
    return {
      client: createKalturaClient({
        // A hung call ends with the issuer's own deadline.
        requestTimeoutMs: context.mintTimeoutMs,
        now: context.now,
        // The widget session's validUntil is judged by the issuer's reading of Kaltura's clock.
        kalturaClockOffsetMs: () => context.clock.offsetMs,
        ...options.clientOptions,
        serviceUrl: options.serviceUrl,
        partnerId: context.partnerId,
      }),
      ownsClient: true,
    };
  };
  if (options.minter !== undefined) {
    if (typeof options.minter?.mint !== 'function')
      throw invalidOption('minter must have a mint(request, signal) method');
    return chosen(options.minter);
  }
  if (options.adminSecret !== undefined) {
    const version = options.ksVersion ?? 2;
    if (version !== 1 && version !== 2) throw invalidOption('ksVersion must be 1 or 2');
    const local = localMinter({
      partnerId: context.partnerId,
      adminSecret: checkSecret(options.adminSecret, 'adminSecret'),
      version,
      now: context.now,
    });
    const remote = client();
    // With a service URL, sessions can also be ended at Kaltura on revoke, and checked.
    const minter =
      remote === undefined
        ? local
        : { ...local, ...clientLifecycle(remote.client, remote.ownsClient) };
    return chosen(minter, { keyVersions: [version], getTime });
  }
  const remote = client();
  if (remote === undefined) throw invalidOption(`${given[0]} needs serviceUrl (or client)`);
  if (options.sessionStart !== undefined) {
    const minter = sessionStartMinter({
      ...remote,
      clock: context.clock,
      partnerId: context.partnerId,
      secret: checkSecret(options.sessionStart?.secret, 'sessionStart.secret'),
      now: context.now,
      warn: context.warn,
    });
    return chosen(minter, { getTime, offsetAfterMint: true });
  }
  const appToken = options.appToken!;
  if (typeof appToken !== 'object' || appToken === null)
    throw invalidOption('appToken must be { id, token, hashType? }');
  const minter = appTokenMinter({
    ...remote,
    clock: context.clock,
    id: checkSecret(appToken.id, 'appToken.id'),
    token: checkSecret(appToken.token, 'appToken.token'),
    hashType: toAppTokenHashType(appToken.hashType ?? 'SHA1'),
    now: context.now,
  });
  return chosen(minter, { getTime, offsetAfterMint: true });
}
