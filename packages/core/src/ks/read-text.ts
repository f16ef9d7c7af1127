import { KsError } from '../errors.js';

// `ignoreBOM`: keep a leading U+FEFF, as Kaltura does (PHP reads bytes): "\uFEFFalice" is not "alice".
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A KS Kaltura could not parse either: `ERR_KS_MALFORMED`. */
export function malformed(message: string, cause?: unknown): KsError {
  return new KsError('ERR_KS_MALFORMED', message, { cause });
}

/** Bytes of a KS field as text: UTF-8, or the KS is malformed (Kaltura would read other bytes). */
export function toText(bytes: Uint8Array, field: string): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw malformed(`The KS ${field} is not valid UTF-8`, cause);
  }
}
