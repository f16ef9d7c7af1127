import { createCipheriv, createHash } from 'node:crypto';

/**
 * Builds a KS v2 around any query string, with plain node:crypto (independent of
 * the library), so tests can feed verifyKs what Kaltura's own generator could
 * produce from inputs kaltura-ks refuses to sign.
 */
export function sealV2(
  secret: string,
  partnerId: number | string,
  query: string | Buffer,
  random = Buffer.alloc(16),
): string {
  const body = Buffer.concat([random, Buffer.isBuffer(query) ? query : Buffer.from(query, 'utf8')]);
  let plain = Buffer.concat([createHash('sha1').update(body).digest(), body]);
  if (plain.length % 16) plain = Buffer.concat([plain, Buffer.alloc(16 - (plain.length % 16))]);
  const key = createHash('sha1').update(secret).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-cbc', key, Buffer.alloc(16)).setAutoPadding(false);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.from(`v2|${partnerId}|`), encrypted])
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}

/** Builds a KS v1 around any info string (signature = sha1(secret ‖ info)). */
export function sealV1(secret: string, info: string, signature?: string): string {
  const sig =
    signature ??
    createHash('sha1')
      .update(secret + info)
      .digest('hex');
  return Buffer.from(`${sig}|${info}`).toString('base64');
}
