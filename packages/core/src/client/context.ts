import { KsError } from '../errors.js';
import { appendPair, type EncodedParams, encodeParams } from './encode.js';
import { checkKsOption, type ResolvedOptions } from './options.js';
import type { Transport } from './transport.js';
import type { KalturaCallOptions, KalturaParams } from './types.js';

/** What the actions share: options, the default KS, the transport. Internal. */
export interface Context {
  readonly options: ResolvedOptions;
  /** The client's default KS. */
  ks: string | undefined;
  closed: boolean;
  /** The KS a call sends: `options.ks` (null: none), else the default when the action uses it. */
  ksFor(options: KalturaCallOptions | undefined, useDefault: boolean): string | undefined;
  /** Encodes and sends one action; resolves with Kaltura's parsed answer. */
  call(
    service: string,
    action: string,
    params: KalturaParams | undefined,
    ks: string | undefined,
    idempotent: boolean,
    signal: AbortSignal | undefined,
  ): Promise<unknown>;
  /** The common fields (`format`, `clientTag`, `partnerId` unless given, `ks`) then `params`. */
  encode(params: KalturaParams | undefined, ks: string | undefined): EncodedParams;
  send: Transport['send'];
}

export function createContext(options: ResolvedOptions, transport: Transport): Context {
  const common = `format=1&clientTag=${encodeURIComponent(options.clientTag)}`;
  const partnerPair =
    options.partnerId === undefined ? '' : `&partnerId=${String(options.partnerId)}`;

  const context: Context = {
    options,
    ks: options.ks,
    closed: false,
    ksFor(callOptions, useDefault) {
      const explicit = callOptions?.ks;
      if (explicit === null) return undefined;
      if (explicit !== undefined) return checkKsOption(explicit, 'options.ks');
      return useDefault ? context.ks : undefined;
    },
    encode(params, ks) {
      const hasOwnPartner = params !== undefined && params.partnerId !== undefined;
      const out: EncodedParams = {
        body: hasOwnPartner ? common : common + partnerPair,
        secrets: [],
      };
      if (ks !== undefined && (params === undefined || params.ks === undefined)) {
        appendPair(out, 'ks', ks);
        out.secrets.push(ks);
      }
      return encodeParams(params, '', out);
    },
    call(service, action, params, ks, idempotent, signal) {
      const { body, secrets } = context.encode(params, ks);
      return context.send({ service, action, body, secrets, idempotent, signal });
    },
    send(call) {
      if (context.closed) {
        const where = call.action === '' ? call.service : `${call.service}.${call.action}`;
        return Promise.reject(new KsError('ERR_KS_NETWORK', `${where}: the client is closed`));
      }
      return transport.send(call);
    },
  };
  return context;
}
