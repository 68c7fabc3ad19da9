import type { SqlGatewayClient } from '../flink/sqlGateway.js';
import { cmfRow, type CmfRow } from './rows.js';
import { isGone } from './sessions.js';
import { FlinkError } from '../flink/rest.js';

/** One page of a query's results, as the API serves it. */
export interface ResultPage {
  rows: CmfRow[];
  /** The gateway token of the next page; absent once the results are complete. */
  next?: number;
  /** The gateway token this page was read at (one on from the asked one when that was empty). */
  at: number;
}

/**
 * Reads pages of a query's results from the gateway session that runs it, one page per request:
 * nothing is buffered in drey, and while nobody asks, the gateway's bounded buffer holds the job back.
 */
export class ResultReader {
  constructor(private readonly gateway: SqlGatewayClient) {}

  /** The page at a gateway token, or 'gone' when the gateway no longer has it (consumed, or the session ended). */
  async page(session: string, operation: string, offset: number, timeZone = 'UTC'): Promise<ResultPage | 'gone'> {
    try {
      let at = offset;
      let page = await this.gateway.fetchResults(session, operation, at, { rowFormat: 'JSON', numbers: 'text' });
      if (page.resultType === 'PAYLOAD' && page.rows.length === 0 && page.nextToken !== undefined) {
        // the gateway had nothing buffered at this token: the next one may already hold rows
        at = page.nextToken;
        page = await this.gateway.fetchResults(session, operation, at, { rowFormat: 'JSON', numbers: 'text' });
      }
      const rows = page.rows.map((row) => cmfRow(row, page.columns, timeZone));
      if (page.resultType === 'EOS') return { rows, at };
      return { rows, next: page.nextToken ?? at, at };
    } catch (err) {
      if (isGone(err) || (err instanceof FlinkError && err.errors.some((e) => /Expecting token to be/.test(e)))) return 'gone';
      throw err;
    }
  }
}
