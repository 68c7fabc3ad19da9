import type { LogicalTypeJson } from '../../src/flink/sqlGateway.js';

/**
 * What the Confluent CLI (confluentinc/cli @762b3ff, `confluent flink shell` against CMF) makes of a
 * results page: each cell as the text it shows. Where the CLI would quietly show NULL for a value it
 * cannot read, or refuse the page, this throws an Error naming the cell, so a test sees every place
 * drey's encoding and the CLI's rules disagree.
 */

/** A CMF `ResultSchema` (`status.traits.schema`). */
export interface CliSchema {
  columns: { name: string; type: LogicalTypeJson }[];
}

/** One row as the CLI shows it: the change (`+I`, `-U`, `+U`, `-D`) and the text of each cell. */
export interface CliRow {
  op: string;
  cells: string[];
}

// pkg/flink/types/statement_results.go: StatementResultOperation.String()
const OPS = ['+I', '-U', '+U', '-D'];

// pkg/flink/types/result_fields.go: NewResultFieldType; any other root becomes Null there (and on-prem
// the converter treats STRUCTURED_TYPE as atomic: converter.go GetConverterForTypeOnPrem)
const ATOMIC = new Set([
  'CHAR', 'VARCHAR', 'BOOLEAN', 'BINARY', 'VARBINARY', 'DECIMAL', 'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'FLOAT',
  'DOUBLE', 'DATE', 'TIME_WITHOUT_TIME_ZONE', 'TIMESTAMP_WITHOUT_TIME_ZONE', 'TIMESTAMP_WITH_TIME_ZONE',
  'TIMESTAMP_WITH_LOCAL_TIME_ZONE', 'INTERVAL_YEAR_MONTH', 'INTERVAL_DAY_TIME', 'STRUCTURED_TYPE', 'NULL',
]);

// converter.go: nullField
const NULL = 'NULL';

/** Renders a CMF results page (`{results: {data}}`) with its schema as the CLI would, or throws naming the cell it could not. */
export function cliRender(page: { results?: { data?: unknown[] } }, schema: CliSchema): CliRow[] {
  return (page.results?.data ?? []).map((entry, r) => {
    // result_converter.go ConvertToInternalResultsOnPrem
    const { op, row } = (entry ?? {}) as { op?: unknown; row?: unknown };
    if (typeof op !== 'number' || !Number.isInteger(op) || op < 0 || op > 3) {
      throw new Error(`row ${r}: op ${JSON.stringify(op)} is not one of 0..3 (the CLI shows no change kind)`);
    }
    if (!Array.isArray(row) || row.length !== schema.columns.length) {
      throw new Error(`row ${r}: ${JSON.stringify(row)?.slice(0, 80)} does not have ${schema.columns.length} values ("given result row does not match the provided schema")`);
    }
    return { op: OPS[op]!, cells: schema.columns.map((column, c) => render(row[c], column.type, `row ${r} column ${column.name}`)) };
  });
}

function unreadable(where: string, type: LogicalTypeJson, value: unknown, why: string): Error {
  return new Error(`${where}: the CLI shows NULL for ${type.type} value ${JSON.stringify(value)?.slice(0, 80)} (${why})`);
}

// converter.go GetConverterForTypeOnPrem and the ToString methods of result_fields.go
function render(value: unknown, type: LogicalTypeJson, where: string): string {
  if (value === null) return NULL;
  switch (type.type) {
    case 'ARRAY': {
      // toArrayStatementResultFieldConverterOnPrem; ArrayStatementResultField.ToString
      if (!Array.isArray(value)) throw unreadable(where, type, value, 'not an array');
      return `[${value.map((v, i) => render(v, type.elementType!, `${where}[${i}]`)).join(', ')}]`;
    }
    case 'MAP':
    case 'MULTISET': {
      // toMapStatementResultFieldConverterOnPrem (a MULTISET's value type is a non-null INTEGER);
      // MapStatementResultField.ToString
      const [keyType, valueType] =
        type.type === 'MAP' ? [type.keyType!, type.valueType!] : [type.elementType!, { type: 'INTEGER', nullable: false }];
      if (!Array.isArray(value)) throw unreadable(where, type, value, 'not an array of entries');
      return `{${value
        .map((entry, i) => {
          if (!Array.isArray(entry) || entry.length !== 2) throw unreadable(where, type, value, `entry ${i} is not a [key, value] pair`);
          return `${render(entry[0], keyType, `${where} key ${i}`)}=${render(entry[1], valueType, `${where} value ${i}`)}`;
        })
        .join(', ')}}`;
    }
    case 'ROW': {
      // toRowStatementResultFieldConverterOnPrem; RowStatementResultField.ToString
      const fields = type.fields ?? [];
      if (!Array.isArray(value) || value.length !== fields.length) throw unreadable(where, type, value, `not an array of ${fields.length} field values`);
      return `(${value.map((v, i) => render(v, fields[i]!.fieldType, `${where}.${fields[i]!.name}`)).join(', ')})`;
    }
    default:
      // toAtomicStatementResultFieldConverter; AtomicStatementResultField.ToString
      if (!ATOMIC.has(type.type)) throw new Error(`${where}: type root ${type.type} is unknown to the CLI (it types the value as NULL)`);
      if (typeof value !== 'string') throw unreadable(where, type, value, 'not a string');
      return value;
  }
}
