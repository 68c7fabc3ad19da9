/**
 * Text PostgreSQL cannot hold: NUL (refused in `text` and in `jsonb` strings) and unpaired UTF-16
 * surrogates (refused in `jsonb`, silently replaced in `text`). Such text can never name or be part
 * of anything drey stores, so it is refused where it enters, before any query.
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when PostgreSQL can store the text unchanged. */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** What is wrong with unstorable text, for messages that must not quote it. */
export const UNSTORABLE_REASON = 'contains a character drey cannot store (NUL or an unpaired UTF-16 surrogate)';

/** `text` with whatever PostgreSQL cannot store (NUL, unpaired surrogates) replaced by U+FFFD. */
export function storableText(text: string): string {
  return text.replace(new RegExp(UNSTORABLE.source, 'g'), '\uFFFD');
}
