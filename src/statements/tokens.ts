import { createHmac, timingSafeEqual } from 'node:crypto';
import { BadRequest, Gone } from '../domain/errors.js';

/**
 * `page-token`s of statement results: opaque to clients, signed with a key every replica shares,
 * bound to one statement and one run of it, and valid for a limited time. A token names the
 * gateway's result token of the page it asks for; the gateway itself accepts only the current page
 * and the one before, so a token used up long ago is gone (410) however well signed.
 */

/** What a page token stands for. */
export interface PagePosition {
  /** The run of the statement the results belong to (a resume or rescale starts a new run). */
  attempt: number;
  /** The gateway's result token of the page. */
  offset: number;
}

const VERSION = 'r1';

/** Issues and reads page tokens. */
export class PageTokens {
  constructor(
    private readonly key: Buffer,
    /** How long a token stays valid after it was issued. */
    private readonly ttlMs = 24 * 60 * 60_000,
  ) {}

  private mac(text: string): Buffer {
    return createHmac('sha256', this.key).update(text).digest();
  }

  /** A token for a page of a statement's results. */
  issue(statementId: string, position: PagePosition, now = Date.now()): string {
    const text = `${VERSION}|${position.attempt}|${position.offset}|${Math.floor(now / 1000)}`;
    return `${Buffer.from(text).toString('base64url')}.${this.mac(`${statementId}|${text}`).toString('base64url')}`;
  }

  /**
   * The position a token names. A token that is not drey's, or was issued for another statement,
   * is a BadRequest; an expired one is Gone.
   */
  read(statementId: string, token: string, now = Date.now()): PagePosition {
    const invalid = new BadRequest('Invalid page-token: use the nextPageToken of the previous page of this statement');
    const [body, signature, extra] = token.split('.');
    if (!body || !signature || extra !== undefined) throw invalid;
    const text = Buffer.from(body, 'base64url').toString();
    const expected = this.mac(`${statementId}|${text}`);
    const given = Buffer.from(signature, 'base64url');
    // only the spelling drey issued: base64url decoding skips what it cannot read
    if (Buffer.from(text).toString('base64url') !== body || given.toString('base64url') !== signature) throw invalid;
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid;
    const [version, attempt, offset, issued] = text.split('|');
    if (version !== VERSION) throw invalid;
    if (now - Number(issued) * 1000 > this.ttlMs) throw new Gone('Results are gone: the page-token has expired');
    return { attempt: Number(attempt), offset: Number(offset) };
  }
}
