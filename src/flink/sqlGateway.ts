/**
 * A typed client of the Flink SQL Gateway REST API (checked against Flink 2.3.0): sessions,
 * statements, operations and result pages, and the mapping of the JSON row format to TypeScript
 * values. The bodies are named after the schemas of Flink's REST reference; where the 2.3.0 gateway
 * answers differently from that reference, the types follow what it actually sends (noted on the
 * field).
 *
 * Sessions, statements and operations use the v2 endpoints: v1 has no `rowFormat` on result
 * fetches, and v2 is served by every gateway since Flink 1.17 (2.3.0 serves v1 to v4).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isLosslessNumber, isSafeNumber, parse as losslessParse, type LosslessNumber } from 'lossless-json';
import { FlinkError, FlinkRest, type FlinkRestOptions } from './rest.js';

const API = '/v2';

/** GET /info (`GetInfoResponseBody`). */
export interface GetInfoResponseBody {
  productName: string;
  version: string;
}

/** GET /api_versions (`GetApiVersionResponseBody`); 2.3.0 answers `["V1","V2","V3","V4"]`. */
export interface GetApiVersionResponseBody {
  versions: string[];
}

/** POST /sessions (`OpenSessionRequestBody`). */
export interface OpenSessionRequestBody {
  /** Not echoed anywhere by 2.3.0 (the session's configuration does not contain it). */
  sessionName?: string;
  properties?: Record<string, string>;
}

/** POST /sessions answer (`OpenSessionResponseBody`). */
export interface OpenSessionResponseBody {
  sessionHandle: string;
}

/** GET /sessions/:session_handle (`GetSessionConfigResponseBody`): the gateway's settings merged with the session's. */
export interface GetSessionConfigResponseBody {
  properties: Record<string, string>;
}

/** DELETE /sessions/:session_handle (`CloseSessionResponseBody`); `status` is `CLOSED`. */
export interface CloseSessionResponseBody {
  status: string;
}

/** POST /sessions/:session_handle/statements (`ExecuteStatementRequestBody`). */
export interface ExecuteStatementRequestBody {
  statement: string;
  /** Settings for this statement only, e.g. `{'table.dml-sync': 'true'}` or `{'pipeline.name': ...}`. */
  executionConfig?: Record<string, string>;
  /** Milliseconds. Flink 2.3.0 rejects any positive value ("doesn't support timeout mechanism now"). */
  executionTimeout?: number;
}

/** POST /sessions/:session_handle/statements answer (`ExecuteStatementResponseBody`). */
export interface ExecuteStatementResponseBody {
  operationHandle: string;
}

/** The states of an operation (`OperationStatus` in Flink). */
export type OperationStatus = 'INITIALIZED' | 'PENDING' | 'RUNNING' | 'FINISHED' | 'CANCELED' | 'CLOSED' | 'ERROR' | 'TIMEOUT';

/** Answer of an operation's status, cancel and close (`OperationStatusResponseBody`). */
export interface OperationStatusResponseBody {
  status: OperationStatus;
}

/** Serializations of result rows: `JSON` keeps types, `PLAIN_TEXT` casts every field to a string. */
export type RowFormat = 'JSON' | 'PLAIN_TEXT';

/**
 * A column's type as the gateway serializes Flink's `LogicalType`. `type` is the type root:
 * `TIME_WITHOUT_TIME_ZONE`, `TIMESTAMP_WITHOUT_TIME_ZONE`, `TIMESTAMP_WITH_LOCAL_TIME_ZONE`,
 * `INTERVAL_DAY_TIME`, ..., not the SQL spelling.
 */
export interface LogicalTypeJson {
  type: string;
  nullable: boolean;
  /** CHAR, VARCHAR (STRING is VARCHAR 2147483647), BINARY, VARBINARY. */
  length?: number;
  /** DECIMAL, TIME, TIMESTAMP*, INTERVAL_DAY_TIME. */
  precision?: number;
  /** DECIMAL. */
  scale?: number;
  /** ARRAY, MULTISET. */
  elementType?: LogicalTypeJson;
  /** MAP. */
  keyType?: LogicalTypeJson;
  valueType?: LogicalTypeJson;
  /** ROW. */
  fields?: { name: string; fieldType: LogicalTypeJson; description?: string }[];
  [other: string]: unknown;
}

/** A result column (`ColumnInfo`). */
export interface ColumnInfo {
  name: string;
  logicalType: LogicalTypeJson;
  comment: string | null;
}

/** The change a row carries (`RowKind`). */
export type RowKind = 'INSERT' | 'UPDATE_BEFORE' | 'UPDATE_AFTER' | 'DELETE';

/** One row as the gateway sends it (`RowData` serialized): fields in column order. */
export interface RowDataJson {
  kind: RowKind;
  fields: unknown[];
}

/** The rows of a page (`ResultInfo`). */
export interface ResultInfo {
  columns: ColumnInfo[];
  rowFormat: RowFormat;
  data: RowDataJson[];
}

/** Whether a page holds rows, none yet, or the end (`ResultSet.ResultType`). */
export type ResultType = 'NOT_READY' | 'PAYLOAD' | 'EOS';

/**
 * GET /sessions/:session_handle/operations/:operation_handle/result/:token (`FetchResultsResponseBody`;
 * the reference only says `any`). A NOT_READY page has nothing but `resultType` and `nextResultUri`;
 * an EOS page has no `nextResultUri`. `jobID` is absent for statements that start no job (DDL).
 */
export interface FetchResultsResponseBody {
  resultType: ResultType;
  isQueryResult?: boolean;
  jobID?: string;
  resultKind?: 'SUCCESS' | 'SUCCESS_WITH_CONTENT';
  results?: ResultInfo;
  nextResultUri?: string;
}

/** One page of results, with the token of the next page read off `nextResultUri`. */
export interface ResultPage {
  resultType: ResultType;
  isQueryResult?: boolean;
  jobID?: string;
  resultKind?: 'SUCCESS' | 'SUCCESS_WITH_CONTENT';
  /** Empty on a NOT_READY page. */
  columns: ColumnInfo[];
  rows: RowDataJson[];
  nextResultUri?: string;
  /** The token to fetch next: the same one again after NOT_READY, undefined after EOS. */
  nextToken?: number;
}

/** A field as a TypeScript value; see {@link decodeJsonField} for which type becomes what. */
export type SqlValue = null | boolean | number | string | Buffer | SqlValue[] | Map<string, SqlValue> | { [field: string]: SqlValue };

/** A result row with its fields decoded. */
export interface ResultRow {
  kind: RowKind;
  fields: SqlValue[];
}

/** Every row of an operation, fetched until EOS. */
export interface StatementResult {
  columns: ColumnInfo[];
  rows: ResultRow[];
  /** The job the statement started (queries and INSERTs), absent for DDL. */
  jobId?: string;
  resultKind?: 'SUCCESS' | 'SUCCESS_WITH_CONTENT';
  isQueryResult: boolean;
}

/** How to reach the gateway: its address, or a transport already made. */
export type SqlGatewayClientOptions = Pick<FlinkRestOptions, 'baseUrl' | 'timeoutMs' | 'retries'> | { rest: FlinkRest };

/**
 * How numbers in result rows are parsed. `safe` (the default): a number a double holds exactly is a JS
 * number, any other keeps its digits as a string. `text`: every number in the rows is the string of
 * its JSON text (`9007199254740993`, `1E+2`, `1.0E20`), which the CMF row encoding
 * (`src/statements/rows.ts`) needs to print numbers as Flink does.
 */
export type NumberParsing = 'safe' | 'text';

/** How {@link SqlGatewayClient.fetchResults} asks for and parses a page. */
export interface FetchOptions {
  rowFormat: RowFormat;
  numbers?: NumberParsing;
}

/** How {@link SqlGatewayClient.fetchAllResults} waits. */
export interface FetchAllOptions {
  rowFormat?: RowFormat;
  /** With `text` the rows are kept as sent, numbers as their JSON text (see {@link NumberParsing}). */
  numbers?: NumberParsing;
  /** Pause before asking again after a NOT_READY page or an empty page (default 200 ms). */
  pollMs?: number;
  /** Give up when EOS has not come by then (default 60 s); a never-ending query never reaches EOS. */
  deadlineMs?: number;
}


function seg(handle: string): string {
  return encodeURIComponent(handle);
}

/** `value` with every LosslessNumber in it replaced by `to(number)`. */
function mapNumbers(value: unknown, to: (n: LosslessNumber) => unknown): unknown {
  if (isLosslessNumber(value)) return to(value);
  if (Array.isArray(value)) return value.map((v) => mapNumbers(v, to));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapNumbers(v, to)]));
  return value;
}

/** Parses a result page keeping every number of its rows as its JSON text; the others (type lengths, precisions) become numbers. */
function parseRowNumbersAsText(text: string): unknown {
  const body = losslessParse(text) as { results?: { data?: unknown } };
  const data = body.results?.data;
  if (body.results) body.results.data = [];
  const page = mapNumbers(body, (n) => Number(n.value)) as typeof body;
  if (page.results) page.results.data = mapNumbers(data, (n) => n.value);
  return page;
}

/** BIGINT and DECIMAL arrive as exact JSON numbers: keep the digits a double would lose. */
function parseSafeNumbers(text: string): unknown {
  return losslessParse(text, null, (digits) => (isSafeNumber(digits) ? Number(digits) : digits));
}

/** The token in a `nextResultUri` such as `/v2/sessions/…/operations/…/result/3?rowFormat=JSON`. */
function tokenOf(uri: string | undefined): number | undefined {
  const token = uri && /\/result\/(\d+)(?:\?|$)/.exec(uri)?.[1];
  return token ? Number(token) : undefined;
}

/** A client of one SQL Gateway. */
export class SqlGatewayClient {
  private readonly rest: FlinkRest;

  constructor(options: SqlGatewayClientOptions) {
    this.rest = 'rest' in options ? options.rest : new FlinkRest(options);
  }

  /** The gateway's product name and Flink version. */
  info(): Promise<GetInfoResponseBody> {
    return this.rest.call('SQL Gateway info', { method: 'GET', path: '/v1/info', safe: true });
  }

  /** The REST API versions the gateway serves (`V1`, `V2`, ...). */
  async apiVersions(): Promise<string[]> {
    const body = await this.rest.call<GetApiVersionResponseBody>('SQL Gateway API versions', {
      method: 'GET',
      path: '/v1/api_versions',
      safe: true,
    });
    return body.versions;
  }

  /** Opens a session; `properties` override the gateway's configuration for it. Returns the session handle. */
  async openSession(options: { name?: string; properties?: Record<string, string> } = {}): Promise<string> {
    const body: OpenSessionRequestBody = { sessionName: options.name, properties: options.properties };
    // not safe: a repeated open would leave a second session behind
    const opened = await this.rest.call<OpenSessionResponseBody>('open SQL session', { method: 'POST', path: `${API}/sessions`, body });
    return opened.sessionHandle;
  }

  /** The session's effective configuration. */
  async sessionConfig(session: string): Promise<Record<string, string>> {
    const body = await this.rest.call<GetSessionConfigResponseBody>(`configuration of SQL session ${session}`, {
      method: 'GET',
      path: `${API}/sessions/${seg(session)}`,
      safe: true,
    });
    return body.properties;
  }

  /** Keeps the session alive (the gateway closes idle sessions after `sql-gateway.session.idle-timeout`). */
  async heartbeat(session: string): Promise<void> {
    await this.rest.call(`heartbeat of SQL session ${session}`, {
      method: 'POST',
      path: `${API}/sessions/${seg(session)}/heartbeat`,
      safe: true,
    });
  }

  /** Closes the session and every operation in it. A session already closed is a FlinkError (500, "does not exist"). */
  async closeSession(session: string): Promise<string> {
    const body = await this.rest.call<CloseSessionResponseBody>(`close SQL session ${session}`, {
      method: 'DELETE',
      path: `${API}/sessions/${seg(session)}`,
      safe: true,
    });
    return body.status;
  }

  /**
   * Submits one statement and returns the operation handle at once; errors in the statement (syntax,
   * validation, job submission) surface when its results are fetched. Never retried: a second
   * submission could start a second job.
   */
  async executeStatement(
    session: string,
    statement: string,
    options: { executionConfig?: Record<string, string>; executionTimeoutMs?: number } = {},
  ): Promise<string> {
    const body: ExecuteStatementRequestBody = {
      statement,
      executionConfig: options.executionConfig,
      executionTimeout: options.executionTimeoutMs,
    };
    const submitted = await this.rest.call<ExecuteStatementResponseBody>(`execute statement in SQL session ${session}`, {
      method: 'POST',
      path: `${API}/sessions/${seg(session)}/statements`,
      body,
      safe: false,
    });
    return submitted.operationHandle;
  }

  /**
   * The operation's status. A query is FINISHED as soon as its job is submitted (its rows keep
   * coming through the result pages); ERROR says nothing more: the reason comes with the results.
   */
  async operationStatus(session: string, operation: string): Promise<OperationStatus> {
    const body = await this.rest.call<OperationStatusResponseBody>(`status of operation ${operation}`, {
      method: 'GET',
      path: `${API}/sessions/${seg(session)}/operations/${seg(operation)}/status`,
      safe: true,
    });
    return body.status;
  }

  /**
   * Cancels a RUNNING operation (and the job of a `table.dml-sync` INSERT). Flink refuses to cancel a
   * FINISHED one, which includes a query whose job still runs: close that instead.
   */
  async cancelOperation(session: string, operation: string): Promise<OperationStatus> {
    const body = await this.rest.call<OperationStatusResponseBody>(`cancel operation ${operation}`, {
      method: 'POST',
      path: `${API}/sessions/${seg(session)}/operations/${seg(operation)}/cancel`,
      safe: true,
    });
    return body.status;
  }

  /** Closes the operation and releases its results; closing a query whose job still runs cancels that job. */
  async closeOperation(session: string, operation: string): Promise<OperationStatus> {
    const body = await this.rest.call<OperationStatusResponseBody>(`close operation ${operation}`, {
      method: 'DELETE',
      path: `${API}/sessions/${seg(session)}/operations/${seg(operation)}/close`,
      safe: true,
    });
    return body.status;
  }

  /**
   * Fetches one page of results. Tokens start at 0; the gateway keeps the current page until the next
   * token is asked for, so fetching the same token again (a retry) returns the same rows.
   */
  async fetchResults(session: string, operation: string, token: number, options: FetchOptions): Promise<ResultPage> {
    const body = await this.rest.call<FetchResultsResponseBody>(`results of operation ${operation}`, {
      method: 'GET',
      path: `${API}/sessions/${seg(session)}/operations/${seg(operation)}/result/${token}`,
      query: { rowFormat: options.rowFormat },
      safe: true,
      parse: options.numbers === 'text' ? parseRowNumbersAsText : parseSafeNumbers,
    });
    return {
      resultType: body.resultType,
      isQueryResult: body.isQueryResult,
      jobID: body.jobID,
      resultKind: body.resultKind,
      columns: body.results?.columns ?? [],
      rows: body.results?.data ?? [],
      nextResultUri: body.nextResultUri,
      nextToken: tokenOf(body.nextResultUri),
    };
  }

  /**
   * Fetches every page until EOS and decodes the rows (JSON row format) or keeps them as sent
   * (PLAIN_TEXT's strings, or JSON with `numbers: 'text'`). While the job runs the gateway answers
   * NOT_READY or empty pages; those are asked again after `pollMs`. Past `deadlineMs` it gives up
   * with a FlinkError of status 0.
   */
  async fetchAllResults(session: string, operation: string, options: FetchAllOptions = {}): Promise<StatementResult> {
    const rowFormat = options.rowFormat ?? 'JSON';
    const numbers = options.numbers ?? 'safe';
    const decode = rowFormat === 'JSON' && numbers === 'safe';
    const pollMs = options.pollMs ?? 200;
    const deadlineMs = options.deadlineMs ?? 60_000;
    const deadline = Date.now() + deadlineMs;
    const result: StatementResult = { columns: [], rows: [], isQueryResult: false };
    for (let token = 0; ; ) {
      const page = await this.fetchResults(session, operation, token, { rowFormat, numbers });
      if (page.resultType !== 'NOT_READY') {
        if (page.columns.length > 0) result.columns = page.columns;
        result.jobId ??= page.jobID;
        result.resultKind = page.resultKind ?? result.resultKind;
        result.isQueryResult = page.isQueryResult ?? result.isQueryResult;
        for (const row of page.rows) {
          result.rows.push({ kind: row.kind, fields: decode ? decodeRow(row.fields, result.columns) : (row.fields as SqlValue[]) });
        }
      }
      if (page.resultType === 'EOS') return result;
      if (page.nextToken === undefined) {
        throw new FlinkError(0, `results of operation ${operation}: a ${page.resultType} page without a next token (${page.nextResultUri ?? 'no nextResultUri'})`);
      }
      token = page.nextToken;
      const idle = page.resultType === 'NOT_READY' || page.rows.length === 0;
      if (Date.now() + (idle ? pollMs : 0) > deadline) {
        throw new FlinkError(0, `results of operation ${operation}: no end of results within ${deadlineMs} ms (${result.rows.length} rows so far)`);
      }
      if (idle) await sleep(pollMs);
    }
  }
}

function decodeRow(fields: unknown[], columns: ColumnInfo[]): SqlValue[] {
  return fields.map((field, i) => {
    const column = columns[i];
    if (!column) throw new TypeError(`result row has ${fields.length} fields but only ${columns.length} columns`);
    return decodeJsonField(field, column.logicalType, column.name);
  });
}

function mismatch(where: string, type: LogicalTypeJson, value: unknown): TypeError {
  return new TypeError(`${where}: a ${type.type} field cannot be ${JSON.stringify(value)?.slice(0, 80) ?? typeof value}`);
}

/**
 * A decimal number's text (`1E+2`, `1.2345678901234567e+19`, `-0.5`) in plain notation with `scale`
 * fraction digits, as Flink prints a DECIMAL (`100.00`).
 */
export function plainDecimal(text: string, scale: number | undefined): string | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m || (m[2] === '' && !m[3])) return undefined;
  const whole = m[2] ?? '';
  let digits = whole + (m[3] ?? '');
  let point = whole.length + Number(m[4] ?? 0);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits = digits.padEnd(point, '0');
  const int = digits.slice(0, point).replace(/^0+(?=\d)/, '') || '0';
  let frac = digits.slice(point);
  frac = scale === undefined ? frac.replace(/0+$/, '') : frac.slice(0, scale).padEnd(scale, '0');
  const sign = m[1] === '-' && /[1-9]/.test(int + frac) ? '-' : '';
  return `${sign}${int}${frac ? `.${frac}` : ''}`;
}

/**
 * Turns one field of the JSON row format into a TypeScript value by its column's logical type, as
 * the Flink 2.3.0 gateway sends them:
 *
 * - null (any type, and the NULL type) → `null`
 * - BOOLEAN → boolean; TINYINT, SMALLINT, INTEGER, FLOAT, DOUBLE → number (DOUBLE's `"NaN"`,
 *   `"Infinity"`, `"-Infinity"` strings become those numbers)
 * - BIGINT → string of digits, and DECIMAL → string in plain notation with the column's scale
 *   (`"100.00"`): Flink sends both as exact JSON numbers (DECIMAL with trailing zeros stripped, in
 *   exponent form when that is shorter: `1E+2`), and a string keeps them exact where a JS number
 *   cannot. Exact as far as the parsed JSON is: through `JSON.parse`, BIGINT beyond ±2^53 and DECIMAL
 *   beyond 15–17 significant digits are already rounded (ask for PLAIN_TEXT when that matters).
 * - CHAR, VARCHAR → string (CHAR blank-padded to its length)
 * - BINARY, VARBINARY → Buffer (sent as base64)
 * - DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ → the string Flink sends (`2024-01-02`, `12:34:56.789`,
 *   `2024-01-02T03:04:05.123456`); TIMESTAMP_LTZ ends in `Z` but is the session's local time, except
 *   under a ROW, where it is UTC (the gateway's `RowDataLocalTimeZoneConverter` skips ROW fields)
 * - INTERVAL YEAR TO MONTH → number of months; INTERVAL DAY TO SECOND → number of milliseconds
 * - ARRAY → array; ROW → object by field name; MAP → `Map` (the gateway can only send string keys:
 *   any other key type fails the fetch with "Could not map response to JSON."); MULTISET → `Map`
 *   of element to count
 * - any other type → the JSON value unchanged
 */
export function decodeJsonField(value: unknown, type: LogicalTypeJson, where = 'field'): SqlValue {
  if (value === null || value === undefined || type.type === 'NULL') return null;
  switch (type.type) {
    case 'BOOLEAN':
      if (typeof value !== 'boolean') throw mismatch(where, type, value);
      return value;
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'INTERVAL_YEAR_MONTH':
    case 'INTERVAL_DAY_TIME':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw mismatch(where, type, value);
      return value;
    case 'BIGINT':
      if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value).toString();
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
      throw mismatch(where, type, value);
    case 'FLOAT':
    case 'DOUBLE':
      if (typeof value === 'number') return value;
      if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
      // a number the lossless parse kept as its digits (a FLOAT's shortest form is not a double's)
      if (typeof value === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) return Number(value);
      throw mismatch(where, type, value);
    case 'DECIMAL': {
      const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : undefined;
      const plain = text === undefined ? undefined : plainDecimal(text, type.scale);
      if (plain === undefined) throw mismatch(where, type, value);
      return plain;
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'DATE':
    case 'TIME_WITHOUT_TIME_ZONE':
    case 'TIMESTAMP_WITHOUT_TIME_ZONE':
    case 'TIMESTAMP_WITH_LOCAL_TIME_ZONE':
    case 'TIMESTAMP_WITH_TIME_ZONE':
      if (typeof value !== 'string') throw mismatch(where, type, value);
      return value;
    case 'BINARY':
    case 'VARBINARY':
      if (typeof value !== 'string') throw mismatch(where, type, value);
      return Buffer.from(value, 'base64');
    case 'ARRAY':
      if (!Array.isArray(value) || !type.elementType) throw mismatch(where, type, value);
      return value.map((element, i) => decodeJsonField(element, type.elementType!, `${where}[${i}]`));
    case 'MAP':
    case 'MULTISET': {
      const valueType: LogicalTypeJson | undefined = type.type === 'MAP' ? type.valueType : { type: 'INTEGER', nullable: false };
      if (typeof value !== 'object' || Array.isArray(value) || !valueType) throw mismatch(where, type, value);
      return new Map(Object.entries(value).map(([k, v]) => [k, decodeJsonField(v, valueType, `${where}[${JSON.stringify(k)}]`)]));
    }
    case 'ROW': {
      const fields = type.fields;
      if (typeof value !== 'object' || Array.isArray(value) || !fields) throw mismatch(where, type, value);
      const sent = value as Record<string, unknown>;
      return Object.fromEntries(fields.map((f) => [f.name, decodeJsonField(sent[f.name], f.fieldType, `${where}.${f.name}`)]));
    }
    default:
      return value as SqlValue;
  }
}
