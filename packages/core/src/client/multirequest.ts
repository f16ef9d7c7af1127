import { KsError } from '../errors.js';
import { invalidOption } from '../options.js';
import type { Context } from './context.js';
import { appendPair, encodeParams } from './encode.js';
import { apiError, isApiException } from './failure.js';
import { checkKsOption } from './options.js';
import type {
  KalturaMultiRequestItem,
  KalturaMultiRequestResult,
  KalturaParams,
  KalturaRequestOptions,
} from './types.js';
import { checkName } from './validate.js';

/** Kaltura runs at most this many; more would be a mistake, not a batch. */
const MAX_ITEMS = 1000;

/**
 * POST `/service/multirequest` with item `n` (from 1) as `n[service]`, `n[action]`,
 * `n[ks]`, `n[<param>]…`; the request-level `ks` applies to items without their own.
 * Kaltura answers an array in item order, where an item that failed is an error object.
 */
export async function multirequest(
  context: Context,
  items: readonly KalturaMultiRequestItem[],
  options: KalturaRequestOptions | undefined,
): Promise<KalturaMultiRequestResult[]> {
  if (!Array.isArray(items) || items.length === 0) {
    throw invalidOption('multirequest needs a non-empty list of { service, action, params? }');
  }
  if (items.length > MAX_ITEMS)
    throw invalidOption(`multirequest takes at most ${MAX_ITEMS} items`);
  const idempotent = options?.idempotent ?? false;
  if (typeof idempotent !== 'boolean') throw invalidOption('options.idempotent must be a boolean');

  const out = context.encode(undefined, context.ksFor(options, true));
  items.forEach((item, index) => {
    if (typeof item !== 'object' || item === null) {
      throw invalidOption(`multirequest item ${index + 1} must be { service, action, params? }`);
    }
    const n = String(index + 1);
    appendPair(out, `${n}[service]`, checkName(item.service, 'service'));
    appendPair(out, `${n}[action]`, checkName(item.action, 'action'));
    const ks = checkKsOption(item.ks, `items[${index}].ks`);
    if (ks !== undefined) {
      appendPair(out, `${n}[ks]`, ks);
      out.secrets.push(ks);
    }
    encodeParams(item.params as KalturaParams | undefined, n, out);
  });

  const value = await context.send({
    service: 'multirequest',
    action: '',
    body: out.body,
    secrets: out.secrets,
    idempotent,
    signal: options?.signal,
  });
  if (!Array.isArray(value) || value.length !== items.length) {
    throw new KsError(
      'ERR_KS_RESPONSE',
      `multirequest: expected ${items.length} results, got ${Array.isArray(value) ? value.length : 'no list'}`,
    );
  }
  return value.map((result: unknown, index): KalturaMultiRequestResult => {
    if (!isApiException(result)) return { ok: true, value: result };
    const item = items[index] as KalturaMultiRequestItem;
    return { ok: false, error: apiError(result, out.secrets, item.service, item.action, 200) };
  });
}
