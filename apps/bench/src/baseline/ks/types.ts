/** Session types (spec §1). A type-1 KS would also count as admin, so it is never made. */
export const KsType = { USER: 0, ADMIN: 2 } as const;
export type KsType = (typeof KsType)[keyof typeof KsType];

export type KsVersion = 1 | 2;

/** What a verified KS says; `privileges` is the string as Kaltura reports it. */
export interface KsFields {
  version: KsVersion;
  partnerId: number;
  userId: string;
  /** 0 USER or 2 ADMIN for any KS kaltura-ks makes; Kaltura treats any value >= 1 as admin. */
  type: number;
  /** Absolute expiry in unix seconds; the KS is valid while `now < validUntil`. */
  validUntil: number;
  privileges: string;
  masterPartnerId?: number;
  additionalData?: string;
}
