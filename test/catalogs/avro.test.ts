import { describe, expect, it } from '@jest/globals';
import { flinkType, recordColumns, Unmappable } from '../../src/catalogs/avro.js';

/**
 * Avro to Flink SQL types, as flink-avro's AvroSchemaConverter derives them. The integration tests
 * check the same mapping against real Flink (which refuses a table whose type differs); these pin
 * each rule and the refusals.
 */

const record = (fields: unknown[]) => JSON.stringify({ type: 'record', name: 'R', namespace: 'ns', fields });

describe('Avro schemas as Flink SQL types', () => {
  it.each([
    ['"boolean"', 'BOOLEAN NOT NULL'],
    ['"int"', 'INT NOT NULL'],
    ['"long"', 'BIGINT NOT NULL'],
    ['"float"', 'FLOAT NOT NULL'],
    ['"double"', 'DOUBLE NOT NULL'],
    ['"bytes"', 'BYTES NOT NULL'],
    ['"string"', 'STRING NOT NULL'],
    ['{"type":"string","logicalType":"uuid"}', 'STRING NOT NULL'],
    ['{"type":"int","logicalType":"date"}', 'DATE NOT NULL'],
    ['{"type":"int","logicalType":"time-millis"}', 'TIME(3) NOT NULL'],
    ['{"type":"long","logicalType":"timestamp-millis"}', 'TIMESTAMP(3) NOT NULL'],
    // the legacy mapping avro-confluent uses knows no local timestamps: they stay longs
    ['{"type":"long","logicalType":"local-timestamp-millis"}', 'BIGINT NOT NULL'],
    ['{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}', 'DECIMAL(10, 2) NOT NULL'],
    ['{"type":"fixed","name":"F","size":8,"logicalType":"decimal","precision":18,"scale":4}', 'DECIMAL(18, 4) NOT NULL'],
    ['{"type":"fixed","name":"Md5","size":16}', 'VARBINARY(16) NOT NULL'],
    ['{"type":"enum","name":"Suit","symbols":["HEARTS","SPADES"]}', 'STRING NOT NULL'],
    ['{"type":"array","items":"int"}', 'ARRAY<INT NOT NULL> NOT NULL'],
    ['{"type":"array","items":["null","string"]}', 'ARRAY<STRING> NOT NULL'],
    ['{"type":"map","values":"long"}', 'MAP<STRING NOT NULL, BIGINT NOT NULL> NOT NULL'],
    ['["null","int"]', 'INT'],
    ['["int","null"]', 'INT'],
    ['["double"]', 'DOUBLE NOT NULL'],
    // a decimal Avro itself ignores (no precision) is the bytes it annotates
    ['{"type":"bytes","logicalType":"decimal"}', 'BYTES NOT NULL'],
  ])('%s is %s', (schema, type) => {
    expect(flinkType(schema)).toBe(type);
  });

  it('maps nested records, named type references and nullable records', () => {
    const schema = record([
      { name: 'address', type: { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }] } },
      { name: 'previous', type: ['null', 'Address'] },
      { name: 'others', type: { type: 'array', items: 'ns.Address' } },
    ]);
    expect(flinkType(schema)).toBe(
      'ROW<`address` ROW<`city` STRING NOT NULL> NOT NULL, `previous` ROW<`city` STRING NOT NULL>, `others` ARRAY<ROW<`city` STRING NOT NULL> NOT NULL> NOT NULL> NOT NULL',
    );
    expect(recordColumns(schema)).toEqual([
      { name: 'address', type: 'ROW<`city` STRING NOT NULL> NOT NULL' },
      { name: 'previous', type: 'ROW<`city` STRING NOT NULL>' },
      { name: 'others', type: 'ARRAY<ROW<`city` STRING NOT NULL> NOT NULL> NOT NULL' },
    ]);
  });

  it('quotes field names Flink would otherwise read as keywords or split', () => {
    expect(recordColumns(record([{ name: 'from', type: 'int' }, { name: 'we`ird', type: 'int' }]))).toEqual([
      { name: 'from', type: 'INT NOT NULL' },
      { name: 'we`ird', type: 'INT NOT NULL' },
    ]);
    expect(flinkType(record([{ name: 'we`ird', type: 'int' }]))).toBe('ROW<`we``ird` INT NOT NULL> NOT NULL');
  });

  it('has no columns for a schema that is not a record', () => {
    expect(recordColumns('"string"')).toBeUndefined();
    expect(recordColumns('string')).toBeUndefined();
  });

  it.each([
    ['["null","int","string"]', /union of null, int, string/],
    ['["int","string"]', /union of int, string/],
    [record([{ name: 'self', type: ['null', 'R'] }]), /'R' is recursive/],
    [record([{ name: 'x', type: 'Nowhere' }]), /'Nowhere', which it does not define/],
    [record([{ name: 'x', type: 'null' }]), /can only be null/],
    [record([]), /has no fields/],
    ['{"type":"bytes","logicalType":"decimal","precision":40,"scale":2}', /at most 38 digits/],
    ['{not json', /not valid Avro JSON/],
    ['{"type":"long","logicalType":"timestamp-micros"}', /timestamp-micros values are beyond Flink's avro-confluent format/],
    ['{"type":"long","logicalType":"time-micros"}', /time-micros values are beyond/],
  ])('refuses %s', (schema, why) => {
    expect(() => flinkType(schema)).toThrow(Unmappable);
    expect(() => flinkType(schema)).toThrow(why);
  });
});
