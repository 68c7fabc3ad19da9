import type { KafkaCatalogs } from '../catalogs/view.js';
import { FlinkRest } from '../flink/rest.js';
import type { CallObserver } from '../metrics.js';
import { SqlGatewayClient } from '../flink/sqlGateway.js';
import type { Logger } from '../log.js';
import { StatementPreparer } from './prepare.js';
import { ResultReader } from './results.js';
import { SqlSessions } from './sessions.js';

/** The SQL Gateway statements run through, or why there is none. */
export type GatewaySetting = { url: string } | { unavailable: string };

/**
 * drey's hands on the SQL Gateway, shared by the API (which prepares statements and serves result
 * pages) and the statement controller (which runs them): absent parts mean there is no gateway, and
 * `unavailable` says why.
 */
export class StatementEngine {
  readonly gateway: SqlGatewayClient | undefined;
  readonly sessions: SqlSessions | undefined;
  readonly preparer: StatementPreparer | undefined;
  readonly reader: ResultReader | undefined;
  /** Why statements cannot run (no gateway), or undefined. */
  readonly unavailable: string | undefined;

  constructor(
    setting: GatewaySetting,
    log: Logger,
    /** The Kafka catalogs statements see; none when absent. */
    readonly catalogs?: KafkaCatalogs,
    /** Hears every call to the gateway (for metrics). */
    observe?: CallObserver,
  ) {
    if ('unavailable' in setting) {
      this.unavailable = setting.unavailable;
      return;
    }
    this.gateway = new SqlGatewayClient({ rest: new FlinkRest({ baseUrl: setting.url, timeoutMs: 60_000, retries: 2, ...(observe ? { observe } : {}) }) });
    this.sessions = new SqlSessions({ gateway: this.gateway, log });
    this.preparer = new StatementPreparer(this.sessions);
    this.reader = new ResultReader(this.gateway);
  }
}
