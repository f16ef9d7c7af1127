/** The worked examples of ../shared/kaltura-protocol.md, checked against Kaltura's own code. */
export const SPEC_SECRET = '0123456789abcdef0123456789abcdef';
export const SPEC_PARTNER = 12345;
export const SPEC_VALID_UNTIL = 2_000_000_000;

/** §2: v1, rand 4242 (injected as the bytes 00 00 10 92). */
export const SPEC_V1 = {
  info: '12345;12345;2000000000;2;4242;alice;edit:*,sview:0_abc/0_def;;',
  signature: '6522cc5e79cef2436a1b33b6ddd660dfc935cce3',
  ks: 'NjUyMmNjNWU3OWNlZjI0MzZhMWIzM2I2ZGRkNjYwZGZjOTM1Y2NlM3wxMjM0NTsxMjM0NTsyMDAwMDAwMDAwOzI7NDI0MjthbGljZTtlZGl0Oiosc3ZpZXc6MF9hYmMvMF9kZWY7Ow==',
};

/** §3.4: v2 with random bytes 00..0f. */
export const SPEC_V2 = {
  hash: 'd2979714015eebc911d19d7f11981e678e0e8595',
  ks: 'djJ8MTIzNDV8iISeMorQNxH0lUXFWe4onH3OMRzxc-nqjqiQ_6KhVDQK-S6bRKVkFxuhBSdDuqBa-W5B3BcVNaNjmrHYSnBsW9VEgeGMYLhgFlgzeZV_1W0C1lhV-m8J7BbDM9TM2EyP',
};

/** §3.4: widget-style v2 KS (user 0, type 0, `view:*,widget:1`). */
export const SPEC_WIDGET_KS =
  'djJ8MTIzNDV8Hnf_4gGdncxT_40kFPpKVAYx5wlUeZDz4-AQY5Xs3rfhA5OhD1PpnDMxwSHvdvxsQIFyOYXkt9TzToltOhwbDH4Bh06kmaHYX4z4oMiKLP4=';

/** §9.7: tokenHash of SPEC_WIDGET_KS with this token. */
export const SPEC_APP_TOKEN = {
  value: '00112233445566778899aabbccddeeff',
  sha1: '1f889ecbb471045c77ed68908128367bba8f1b20',
  sha256: '1919a5c0ea52f8a853efca24159fbfe13b138417cc748e0ec0aacc3ffb2f2e55',
};

/** Random bytes 00, 01, 02, … as the spec's v2 examples use. */
export function countingBytes(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => i);
}

/** A fixed clock (epoch ms). */
export function fixedClock(ms: number): () => number {
  return () => ms;
}
