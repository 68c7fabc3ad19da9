/**
 * Flink SQL Gateway result rows in CMF's result row encoding, the one the Confluent CLI parses
 * (`pkg/flink/internal/results/converter.go`): every atomic value is a JSON string reading exactly as
 * Flink's PLAIN_TEXT rows (and its SQL client) print it, ARRAY is an array, MAP an array of
 * `[key, value]` pairs, MULTISET an array of `[element, count]` pairs, ROW an array of its field
 * values in field order, and SQL NULL is `null`.
 *
 * The input is a row fetched with the JSON row format and `numbers: 'text'`, so that no number has
 * been through a double. What had to change from the JSON to read as PLAIN_TEXT (checked against
 * Flink 2.3.0, see test/statements/rows.test.ts):
 *
 * | type | JSON row format | PLAIN_TEXT (and CMF) |
 * | --- | --- | --- |
 * | BOOLEAN | `true` | `TRUE` |
 * | BINARY, VARBINARY | base64 `AQL/` | `x'0102ff'` |
 * | DECIMAL(5,2) | `1E+2` | `100.00` |
 * | TIME(3) | `12:34:56.1`, `00:00:00` | `12:34:56.1`, `00:00:00.0` (Flink's `unixTimeToString`) |
 * | TIMESTAMP(6) | `2024-01-02T03:04:05.12` | `2024-01-02 03:04:05.120000` |
 * | TIMESTAMP_LTZ(3) | `2024-01-01T22:04:05Z` (session time, not UTC; see below) | `2024-01-01 22:04:05.000` |
 * | INTERVAL YEAR TO MONTH | months `-14` | `-1-02` |
 * | INTERVAL DAY TO SECOND | milliseconds `93784500` | `+1 02:03:04.500` |
 *
 * Integers, FLOAT and DOUBLE (Java's `toString`: `1.0E20`, `NaN`), CHAR (blank-padded), VARCHAR and
 * DATE are the same text in both.
 *
 * TIMESTAMP_LTZ values are shifted into the session's time zone by the gateway
 * (`RowDataLocalTimeZoneConverter`) at the top level and in ARRAY elements and MAP values, but not
 * anywhere under a ROW: there they are true UTC, and this shifts them as PLAIN_TEXT does.
 *
 * Flink 2.3's gateway can only send a MAP or MULTISET whose keys are strings (CHAR, VARCHAR) in the
 * JSON row format: with any other key type the fetch itself fails with "Could not map response to
 * JSON.", so such a result cannot be served at all. The order of MAP and MULTISET entries is the JSON
 * object's (Flink's two row formats do not agree on one either; integer-like keys come first in
 * JavaScript).
 */
import { plainDecimal, type ColumnInfo, type LogicalTypeJson, type RowDataJson, type RowKind } from '../flink/sqlGateway.js';

/** A value in a CMF result row: an atomic value as Flink prints it, a nested value as an array, SQL NULL as null. */
export type CmfValue = null | string | CmfValue[];

/** One entry of a CMF `StatementResult` page (`results.data[]`): the change (+I, -U, +U, -D) and the values in column order. */
export interface CmfRow {
  op: 0 | 1 | 2 | 3;
  row: CmfValue[];
}

const OPS: Record<RowKind, CmfRow['op']> = { INSERT: 0, UPDATE_BEFORE: 1, UPDATE_AFTER: 2, DELETE: 3 };

/** The count of a MULTISET element, as the CLI types it (`converter.go`). */
const COUNT: LogicalTypeJson = { type: 'INTEGER', nullable: false };

/**
 * One gateway row (JSON row format, numbers as text) in CMF's encoding, TIMESTAMP_LTZ in `timeZone`
 * (the session's `table.local-time-zone`: an IANA name, `UTC` or `GMT+hh:mm`). A value not of its
 * column's type is a TypeError.
 */
export function cmfRow(row: RowDataJson, columns: ColumnInfo[], timeZone = 'UTC'): CmfRow {
  const op = OPS[row.kind];
  if (op === undefined) throw new TypeError(`result row of unknown kind ${JSON.stringify(row.kind)}`);
  if (row.fields.length !== columns.length) {
    throw new TypeError(`result row has ${row.fields.length} fields for ${columns.length} columns`);
  }
  const context: Context = { timeZone, inRow: false };
  return { op, row: columns.map((column, i) => cmfValue(row.fields[i], column.logicalType, column.name, context)) };
}

/** The `status.traits.schema` of a statement with these result columns: each type is the gateway's logicalType as is. */
export function resultSchema(columns: ColumnInfo[]): { columns: { name: string; type: LogicalTypeJson }[] } {
  return { columns: columns.map((column) => ({ name: column.name, type: column.logicalType })) };
}

function mismatch(where: string, type: LogicalTypeJson, value: unknown): TypeError {
  return new TypeError(`${where}: a ${type.type} field cannot be ${JSON.stringify(value)?.slice(0, 80) ?? typeof value}`);
}

/** `value` if it is a string (matching `pattern`, if given). */
function text(value: unknown, where: string, type: LogicalTypeJson, pattern?: RegExp): string {
  if (typeof value !== 'string' || (pattern && !pattern.test(value))) throw mismatch(where, type, value);
  return value;
}

const INTEGER = /^-?\d+$/;
const FLOATING = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|NaN|-?Infinity)$/;
const TIME = /^(\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/;
const TIMESTAMP = /^([^T]+)T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z?$/;

/** Where a value sits: the session's time zone, and whether it is under a ROW (whose TIMESTAMP_LTZ values are UTC). */
interface Context {
  timeZone: string;
  inRow: boolean;
}

function cmfValue(value: unknown, type: LogicalTypeJson, where: string, context: Context): CmfValue {
  if (value === null || value === undefined || type.type === 'NULL') return null;
  switch (type.type) {
    case 'CHAR':
    case 'VARCHAR':
    case 'DATE':
      return text(value, where, type);
    case 'BOOLEAN':
      if (typeof value !== 'boolean') throw mismatch(where, type, value);
      return value ? 'TRUE' : 'FALSE';
    case 'BINARY':
    case 'VARBINARY':
      return `x'${Buffer.from(text(value, where, type, /^[A-Za-z0-9+/]*=*$/), 'base64').toString('hex')}'`;
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
      return text(value, where, type, INTEGER);
    case 'FLOAT':
    case 'DOUBLE':
      return text(value, where, type, FLOATING);
    case 'DECIMAL': {
      const plain = typeof value === 'string' ? plainDecimal(value, type.scale) : undefined;
      if (plain === undefined) throw mismatch(where, type, value);
      return plain;
    }
    case 'TIME_WITHOUT_TIME_ZONE': {
      const [, hms, fraction] = TIME.exec(text(value, where, type, TIME))!;
      return flinkTime(hms!, fraction ?? '', type.precision ?? 0);
    }
    case 'TIMESTAMP_WITHOUT_TIME_ZONE':
    case 'TIMESTAMP_WITH_LOCAL_TIME_ZONE': {
      const [, date, hms, fraction = ''] = TIMESTAMP.exec(text(value, where, type, TIMESTAMP))!;
      const utc = type.type === 'TIMESTAMP_WITH_LOCAL_TIME_ZONE' && context.inRow;
      const local = utc ? inZone(`${date}T${hms}Z`, context.timeZone) : `${date} ${hms}`;
      const digits = type.precision === undefined ? fraction : fraction.padEnd(type.precision, '0').slice(0, type.precision);
      return `${local}${digits ? `.${digits}` : ''}`;
    }
    case 'INTERVAL_YEAR_MONTH': {
      const months = BigInt(text(value, where, type, INTEGER));
      const abs = months < 0n ? -months : months;
      return `${months < 0n ? '-' : '+'}${abs / 12n}-${pad(abs % 12n, 2)}`;
    }
    case 'INTERVAL_DAY_TIME': {
      const millis = BigInt(text(value, where, type, INTEGER));
      const ms = millis < 0n ? -millis : millis;
      const clock = `${pad((ms / 3_600_000n) % 24n, 2)}:${pad((ms / 60_000n) % 60n, 2)}:${pad((ms / 1000n) % 60n, 2)}`;
      return `${millis < 0n ? '-' : '+'}${ms / 86_400_000n} ${clock}.${pad(ms % 1000n, 3)}`;
    }
    case 'ARRAY':
      if (!Array.isArray(value) || !type.elementType) throw mismatch(where, type, value);
      return value.map((element, i) => cmfValue(element, type.elementType!, `${where}[${i}]`, context));
    case 'MAP':
    case 'MULTISET': {
      const [keyType, valueType] = type.type === 'MAP' ? [type.keyType, type.valueType] : [type.elementType, COUNT];
      if (typeof value !== 'object' || Array.isArray(value) || !keyType || !valueType) throw mismatch(where, type, value);
      return Object.entries(value).map(([k, v]) => {
        const at = `${where}[${JSON.stringify(k)}]`;
        return [cmfValue(k, keyType, at, context), cmfValue(v, valueType, at, context)];
      });
    }
    case 'ROW': {
      const fields = type.fields;
      if (typeof value !== 'object' || Array.isArray(value) || !fields) throw mismatch(where, type, value);
      const sent = value as Record<string, unknown>;
      return fields.map((f) => cmfValue(sent[f.name], f.fieldType, `${where}.${f.name}`, { ...context, inRow: true }));
    }
    default:
      // a root neither this nor the CLI knows (RAW, VARIANT, ...): as text, which the CLI shows as is
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

function pad(n: bigint, width: number): string {
  return n.toString().padStart(width, '0');
}

/**
 * A time of day as Flink prints it (`DateTimeUtils.unixTimeToString`): milliseconds up to
 * `precision` digits, but stopping after the last non-zero one, and at least one digit.
 */
function flinkTime(hms: string, fraction: string, precision: number): string {
  if (precision <= 0) return hms;
  let ms = Number(fraction.padEnd(3, '0').slice(0, 3));
  let digits = '';
  for (let left = precision; left > 0 && (digits === '' || ms !== 0); left--) {
    digits += Math.floor(ms / 100);
    ms = (ms % 100) * 10;
  }
  return `${hms}.${digits}`;
}

const FIXED_OFFSET = /^(?:GMT|UTC)([+-])(\d{1,2})(?::?(\d{2}))?$/;

/** The offset of `zone` from UTC at `instant` (whole seconds), in milliseconds. */
function offsetMs(instant: Date, zone: string): number {
  const fixed = FIXED_OFFSET.exec(zone);
  if (fixed) return (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3] ?? 0)) * 60_000;
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  });
  const part = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, Number(p.value)]));
  const wall = new Date(0);
  wall.setUTCFullYear(part.year!, part.month! - 1, part.day!);
  wall.setUTCHours(part.hour!, part.minute!, part.second!);
  return wall.getTime() - instant.getTime();
}

/** A UTC date-time (`2024-01-02T03:04:05Z`, whole seconds) as `2024-01-01 22:04:05` in `zone`. */
function inZone(utc: string, zone: string): string {
  const instant = new Date(utc);
  if (Number.isNaN(instant.getTime())) throw new TypeError(`not a date-time: ${utc}`);
  const local = new Date(instant.getTime() + offsetMs(instant, zone)).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)}`;
}
