// C0 and C1 control characters and DEL.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** `String#isWellFormed` (ES2024; in every Node this package supports): no lone surrogate. */
interface MaybeWellFormed {
  isWellFormed(): boolean;
}

/** True when the text has a control character or cannot be encoded as UTF-8 (a lone surrogate). */
export function hasUnsafeText(value: string): boolean {
  return CONTROL.test(value) || !(value as unknown as MaybeWellFormed).isWellFormed();
}

/**
 * `text.includes(';') || hasUnsafeText(text)`, what a KS field must not hold: one
 * pass over ASCII text (a user id, mostly), the regular expressions otherwise.
 */
export function hasSemicolonOrUnsafeText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7e) return text.includes(';') || hasUnsafeText(text); // DEL, or beyond ASCII
    if (c < 0x20 || c === 0x3b) return true; // a C0 control character, or ';'
  }
  return false;
}
