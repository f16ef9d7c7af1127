/** What a removed secret is replaced with. */
export const REDACTED = '[redacted]';

// A KS is base64 or base64url of at least ~60 bytes. Any run of 40+ such characters that
// mixes upper case, lower case and digits is treated as one (ids, words and numbers are not).
const KS_LIKE = /[A-Za-z0-9+/_-]{40,}={0,2}/g;
// Partner secrets and app-token values are 32 hex characters; token hashes 32–128.
const LONG_HEX = /(?<![A-Za-z0-9])[0-9a-fA-F]{32,}(?![A-Za-z0-9])/g;

function looksLikeKs(run: string): boolean {
  return /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run);
}

/**
 * Removes every given secret (and its URL-encoded form) from `text`, then anything that
 * looks like a KS or a hex credential. `secrets` are the values a request carried: the
 * KS, secret, password, token value, token hash.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  if (secrets.length > 0) {
    // Longest first, so that a secret containing another is removed whole.
    const sorted = secrets.length > 1 ? [...secrets].sort((a, b) => b.length - a.length) : secrets;
    for (const secret of sorted) {
      if (secret === '') continue;
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
      const encoded = safeEncode(secret);
      if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join(REDACTED);
    }
  }
  return out
    .replace(KS_LIKE, (run) => (looksLikeKs(run) ? REDACTED : run))
    .replace(LONG_HEX, REDACTED);
}

/** `redact` applied to each value of a record (names are kept). */
export function redactRecord(
  record: Readonly<Record<string, string>>,
  secrets: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(record)) out[name] = redact(record[name] ?? '', secrets);
  return out;
}

function safeEncode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value;
  }
}
