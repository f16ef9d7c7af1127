/**
 * mulberry32: a small, fast, seedable generator of numbers in [0, 1). The emulator's faults
 * pick their share of requests with it (a rule's `seed`); tests that need a repeatable
 * sequence (the soak's user order) import this one rather than keep a copy.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
