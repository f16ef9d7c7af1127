import {
  appTokenHash,
  createKs,
  decodeKs,
  KsType,
  type KsVersion,
  verifyKs,
} from '@kaltura-ks/core';
import {
  adminSecret,
  type Command,
  HASH_TYPE,
  hashType,
  integer,
  ksArgument,
  ksType,
  PARTNER,
  partnerId,
  print,
  str,
  unechoed,
} from './command.js';
import { describeExpiry, table, typeName } from './format.js';
import { UsageError } from './io.js';

function ksVersion(value: string | undefined): KsVersion | undefined {
  if (value === undefined) return undefined;
  if (value === '1' || value === '2') return Number(value) as KsVersion;
  throw new UsageError(`--ks-version must be 1 or 2, got ${unechoed(value)}`);
}

export const mint: Command = {
  name: 'mint',
  aliases: ['create'],
  summary: 'Create a KS locally, signed with the partner admin secret (no network).',
  usage: 'mint [options]',
  options: {
    ...PARTNER,
    'user-id': [{ type: 'string', short: 'u' }, 'User id (default: anonymous)'],
    type: [{ type: 'string', short: 't' }, 'user (default) or admin'],
    'expires-in': [{ type: 'string', short: 'e' }, 'Lifetime in seconds (default 86400)'],
    'valid-until': [{ type: 'string' }, 'Absolute expiry, unix seconds (wins over --expires-in)'],
    privileges: [{ type: 'string' }, 'Privileges, e.g. "sview:*,appid:app-example.com"'],
    'ks-version': [{ type: 'string' }, 'KS format: 2 (default, encrypted) or 1'],
    'master-partner-id': [{ type: 'string' }, 'Impersonating partner id'],
    'additional-data': [{ type: 'string' }, 'Additional data field'],
    quiet: [{ type: 'boolean', short: 'q' }, 'Print only the KS'],
  },
  async run(args, io) {
    const fields = {
      partnerId: partnerId(args, true)!,
      userId: str(args, 'user-id') ?? '',
      type: ksType(str(args, 'type')) ?? KsType.USER,
      privileges: str(args, 'privileges') ?? '',
      version: ksVersion(str(args, 'ks-version')) ?? 2,
    };
    const ks = createKs({
      ...fields,
      secret: adminSecret(args),
      expiresInSeconds: integer(str(args, 'expires-in'), '--expires-in'),
      validUntil: integer(str(args, 'valid-until'), '--valid-until'),
      masterPartnerId: integer(str(args, 'master-partner-id'), '--master-partner-id'),
      additionalData: str(args, 'additional-data'),
      now: io.now,
    });
    // Read the KS back rather than repeating the inputs: it shows what was signed
    // (downloadasset, for one, rounds the expiry).
    const { validUntil } = verifyKs(ks, {
      secrets: adminSecret(args),
      partnerId: fields.partnerId,
      now: io.now,
    });
    if (args.values.quiet === true && !args.json) {
      io.stdout(`${ks}\n`);
      return 0;
    }
    print(
      io,
      args,
      { ks, ...fields, validUntil },
      `${ks}\n\n${table([
        ['partner', fields.partnerId],
        ['user', fields.userId || '(anonymous)'],
        ['type', typeName(fields.type)],
        ['privileges', fields.privileges || '(none)'],
        ['expires', describeExpiry(validUntil, io.now())],
        ['version', fields.version],
      ])}`,
    );
    return 0;
  },
};

export const decode: Command = {
  name: 'decode',
  summary:
    'Show what a KS says without its secret: every field of a v1 KS (unverified), the partner of a v2 KS.',
  usage: 'decode <ks | ->',
  options: {},
  async run(args, io) {
    const decoded = decodeKs(await ksArgument(args, io));
    if (decoded.version === 2) {
      print(
        io,
        args,
        decoded,
        `KS v2 for partner ${decoded.partnerId}. Its fields are encrypted: \`kaltura-ks verify\` with the admin secret shows them.\n`,
      );
      return 0;
    }
    print(
      io,
      args,
      decoded,
      `KS v1, UNVERIFIED (anyone can write these fields; \`kaltura-ks verify\` checks the signature)\n\n${table(
        [
          ['partner', decoded.partnerId],
          ['user', decoded.userId || '(anonymous)'],
          ['type', typeName(decoded.type)],
          ['privileges', decoded.privileges || '(none)'],
          ['expires', describeExpiry(decoded.validUntil, io.now())],
          ['master partner', decoded.masterPartnerId],
          ['additional data', decoded.additionalData],
        ],
      )}`,
    );
    return 0;
  },
};

export const verify: Command = {
  name: 'verify',
  summary:
    "Check a KS against the partner's admin secret(s), as Kaltura does: signature or encryption, partner, expiry.",
  usage: 'verify <ks | -> [options]',
  options: {
    ...PARTNER,
    'also-secret': [{ type: 'string', multiple: true }, 'Another admin secret to try (repeatable)'],
  },
  notes:
    'A KS v2 carries its partner id in clear text, outside what the secret protects: verifying one\nneeds the partner id you expect (--partner-id or KALTURA_PARTNER_ID).',
  async run(args, io) {
    const ks = await ksArgument(args, io);
    const extra = (args.values['also-secret'] as string[] | undefined) ?? [];
    const expectedPartner = partnerId(args, false);
    // Anyone can edit a v2 KS's partner id: without the expected one, "verified" would
    // vouch for whatever id was written there.
    if (expectedPartner === undefined && decodeKs(ks).version === 2)
      throw new UsageError(
        'A KS v2 does not protect its partner id: give the one you expect with --partner-id or KALTURA_PARTNER_ID',
      );
    const fields = verifyKs(ks, {
      secrets: [adminSecret(args), ...extra],
      partnerId: expectedPartner,
      now: io.now,
    });
    print(
      io,
      args,
      { verified: true, ...fields },
      `KS v${fields.version}, verified\n\n${table([
        ['partner', fields.partnerId],
        ['user', fields.userId || '(anonymous)'],
        ['type', typeName(fields.type)],
        ['privileges', fields.privileges || '(none)'],
        ['expires', describeExpiry(fields.validUntil, io.now())],
        ['master partner', fields.masterPartnerId],
        ['additional data', fields.additionalData],
        ['session hash', fields.hash],
      ])}`,
    );
    return 0;
  },
};

export const tokenHash: Command = {
  name: 'token-hash',
  summary:
    "Compute appToken.startSession's tokenHash: lower-case hex of H(widget KS + app token value).",
  usage: 'token-hash <widget-ks | -> [options]',
  options: {
    token: [{ type: 'string' }, 'The app token value (or KALTURA_APP_TOKEN)'],
    ...HASH_TYPE,
  },
  async run(args, io) {
    const widgetKs = await ksArgument(args, io);
    const token = args.settings.get(str(args, 'token'), 'KALTURA_APP_TOKEN');
    if (token === undefined)
      throw new UsageError(
        'The app token value is needed: KALTURA_APP_TOKEN, a .env file or --token',
      );
    const type = hashType(args);
    const hash = appTokenHash(widgetKs, token, type);
    print(io, args, { hashType: type, tokenHash: hash }, `${hash}\n`);
    return 0;
  },
};
