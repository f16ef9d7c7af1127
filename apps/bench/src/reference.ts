import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * A plain KS implementation, the way a hand-rolled helper usually looks: a new
 * cipher and hash object per call, URLSearchParams for the query. It is the
 * baseline the library is measured against (and it yields valid KSs).
 */
export function referenceCreateV2(
  secret: string,
  partnerId: number,
  userId: string,
  privileges: string,
  expiresIn: number,
): string {
  const params = new URLSearchParams();
  for (const item of privileges.split(',')) {
    if (!item) continue;
    const colon = item.indexOf(':');
    params.append(colon < 0 ? item : item.slice(0, colon), colon < 0 ? '' : item.slice(colon + 1));
  }
  params.append('_e', String(Math.floor(Date.now() / 1000) + expiresIn));
  params.append('_t', '0');
  params.append('_u', userId);
  const body = Buffer.concat([
    randomBytes(16),
    Buffer.from(params.toString().replace(/\*/g, '%2A')),
  ]);
  let plain = Buffer.concat([createHash('sha1').update(body).digest(), body]);
  if (plain.length % 16) plain = Buffer.concat([plain, Buffer.alloc(16 - (plain.length % 16))]);
  const key = createHash('sha1').update(secret).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-cbc', key, Buffer.alloc(16));
  cipher.setAutoPadding(false);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.from(`v2|${partnerId}|`), encrypted])
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}

export function referenceCreateV1(
  secret: string,
  partnerId: number,
  userId: string,
  privileges: string,
  expiresIn: number,
): string {
  const validUntil = Math.floor(Date.now() / 1000) + expiresIn;
  const rand = Math.floor(Math.random() * 65536);
  const info = [partnerId, partnerId, validUntil, 0, rand, userId, privileges, '', ''].join(';');
  const signature = createHash('sha1')
    .update(secret + info)
    .digest('hex');
  return Buffer.from(`${signature}|${info}`).toString('base64');
}

export function referenceVerifyV2(
  ks: string,
  secret: string,
): { userId: string; validUntil: number } {
  const decoded = Buffer.from(ks.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  const parts = decoded.toString('latin1').split('|');
  const encrypted = decoded.subarray(parts[0]!.length + parts[1]!.length + 2);
  const key = createHash('sha1').update(secret).digest().subarray(0, 16);
  const decipher = createDecipheriv('aes-128-cbc', key, Buffer.alloc(16));
  decipher.setAutoPadding(false);
  let plain = Buffer.concat([decipher.update(encrypted), decipher.final()]);
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  plain = plain.subarray(0, end);
  const hash = plain.subarray(0, 20);
  const body = plain.subarray(20);
  if (!createHash('sha1').update(body).digest().equals(hash)) throw new Error('bad KS');
  const query = new URLSearchParams(body.subarray(16).toString('utf8'));
  const validUntil = Number(query.get('_e'));
  if (validUntil <= Date.now() / 1000) throw new Error('expired');
  return { userId: query.get('_u') ?? '', validUntil };
}
