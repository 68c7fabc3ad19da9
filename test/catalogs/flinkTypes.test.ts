import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { recordColumns, Unmappable } from '../../src/catalogs/avro.js';
import { avroOf, recordSchema, type DescribedColumn } from '../../src/catalogs/flinkTypes.js';

/**
 * Flink SQL types (as DESCRIBE prints them) to the Avro schemas a CREATE TABLE in a Kafka catalog
 * registers: one case per type, the refusals, and the property that reading a registered record back
 * (avro.ts) gives the declared columns up to Avro's coarser types.
 */

const TIME_MILLIS = { type: 'int', logicalType: 'time-millis' };
const TIMESTAMP_MILLIS = { type: 'long', logicalType: 'timestamp-millis' };

describe('Flink SQL types as Avro schemas', () => {
  it.each([
    ['CHAR(3)', 'string'],
    ['VARCHAR(20)', 'string'],
    ['VARCHAR(2147483647)', 'string'],
    ['STRING', 'string'],
    ['BOOLEAN', 'boolean'],
    ['TINYINT', 'int'],
    ['SMALLINT', 'int'],
    ['INT', 'int'],
    ['INTEGER', 'int'],
    ['BIGINT', 'long'],
    ['FLOAT', 'float'],
    ['DOUBLE', 'double'],
    ['DOUBLE PRECISION', 'double'],
    ['BINARY(16)', 'bytes'],
    ['VARBINARY(10)', 'bytes'],
    ['BYTES', 'bytes'],
    ['DECIMAL(10, 2)', { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }],
    ['DECIMAL(38, 18)', { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 18 }],
    // SQL's defaults: DECIMAL is DECIMAL(10, 0)
    ['DECIMAL', { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 0 }],
    ['DATE', { type: 'int', logicalType: 'date' }],
    ['TIME(0)', TIME_MILLIS],
    ['TIME(3)', TIME_MILLIS],
    ['TIMESTAMP(3)', TIMESTAMP_MILLIS],
    ['TIMESTAMP_LTZ(3)', TIMESTAMP_MILLIS],
    ['TIMESTAMP(3) WITH LOCAL TIME ZONE', TIMESTAMP_MILLIS],
    ['ARRAY<INT NOT NULL>', { type: 'array', items: 'int' }],
    ['ARRAY<STRING>', { type: 'array', items: ['null', 'string'] }],
    ['MAP<STRING NOT NULL, BIGINT>', { type: 'map', values: ['null', 'long'] }],
    ['MAP<VARCHAR(10), INT NOT NULL>', { type: 'map', values: 'int' }],
    ['MAP<CHAR(1) NOT NULL, ARRAY<DOUBLE NOT NULL> NOT NULL>', { type: 'map', values: { type: 'array', items: 'double' } }],
  ])('%s is %j', (type, avro) => {
    expect(avroOf(type, false, 'R')).toEqual(avro);
  });

  it('maps a ROW to a record whose nullable fields default to null, named after the column', () => {
    expect(avroOf('ROW<`a` INT NOT NULL, `b` STRING>', false, 'T_col')).toEqual({
      type: 'record',
      name: 'T_col',
      fields: [
        { name: 'a', type: 'int' },
        { name: 'b', type: ['null', 'string'], default: null },
      ],
    });
  });

  it('names nested records after their path: fields, array items and map values', () => {
    const type = 'ROW<`inner` ROW<`x` INT NOT NULL> NOT NULL, `items` ARRAY<ROW<`y` BIGINT NOT NULL> NOT NULL>, `byKey` MAP<STRING NOT NULL, ROW<`z` DATE NOT NULL>>>';
    expect(avroOf(type, true, 'T_c')).toEqual([
      'null',
      {
        type: 'record',
        name: 'T_c',
        fields: [
          { name: 'inner', type: { type: 'record', name: 'T_c_inner', fields: [{ name: 'x', type: 'int' }] } },
          { name: 'items', type: ['null', { type: 'array', items: { type: 'record', name: 'T_c_items_item', fields: [{ name: 'y', type: 'long' }] } }], default: null },
          {
            name: 'byKey',
            type: ['null', { type: 'map', values: ['null', { type: 'record', name: 'T_c_byKey_value', fields: [{ name: 'z', type: { type: 'int', logicalType: 'date' } }] }] }],
            default: null,
          },
        ],
      },
    ]);
  });

  it("keeps a ROW field's description as the Avro field's doc", () => {
    expect(avroOf("ROW<`a` INT NOT NULL 'the ''a'' field'>", false, 'R')).toEqual({
      type: 'record',
      name: 'R',
      fields: [{ name: 'a', type: 'int', doc: "the 'a' field" }],
    });
  });

  it("takes a column's nullability from DESCRIBE's null column, not from the type string", () => {
    expect(avroOf('INT', true, 'R')).toEqual(['null', 'int']);
    expect(avroOf('INT', false, 'R')).toBe('int');
    expect(avroOf('INT NOT NULL', true, 'R')).toEqual(['null', 'int']);
    expect(avroOf('TIMESTAMP_LTZ(3)', true, 'R')).toEqual(['null', TIMESTAMP_MILLIS]);
  });

  it.each([
    ['TIMESTAMP(6)', /TIMESTAMP\(6\) is finer than Avro's timestamp-millis.*declare TIMESTAMP\(3\)/],
    // TIMESTAMP alone is TIMESTAMP(6)
    ['TIMESTAMP', /TIMESTAMP\(6\) is finer/],
    ['TIMESTAMP(9)', /TIMESTAMP\(9\) is finer/],
    ['TIMESTAMP_LTZ(6)', /TIMESTAMP_LTZ\(6\) is finer.*declare TIMESTAMP_LTZ\(3\)/],
    ['TIMESTAMP(6) WITH LOCAL TIME ZONE', /TIMESTAMP\(6\) is finer/],
    ['MAP<INT, STRING>', /a MAP with INT keys has no Avro type \(Avro map keys are strings\)/],
    ['MAP<BIGINT NOT NULL, STRING>', /a MAP with BIGINT keys/],
    ['MULTISET<STRING>', /MULTISET has no Avro type/],
    ['INTERVAL SECOND(3)', /INTERVAL has no Avro type/],
    ["RAW('java.lang.Object', 'AAECAw==')", /RAW has no Avro type/],
    ['ARRAY<MULTISET<INT>>', /MULTISET has no Avro type/],
    ['ROW<`at` TIMESTAMP(6)>', /TIMESTAMP\(6\) is finer/],
    ['INT INT', /cannot read the type 'INT INT'/],
    ['ARRAY<INT', /cannot read the type/],
    ['DECIMAL(10,', /cannot read the type/],
    ['ROW<`a INT>', /cannot read the type/],
  ])('refuses %s', (type, why) => {
    expect(() => avroOf(type, true, 'R')).toThrow(Unmappable);
    expect(() => avroOf(type, true, 'R')).toThrow(why);
  });
});

describe('a table as an Avro record schema', () => {
  it('is a record of the columns in order, nullable ones defaulting to null', () => {
    const columns: DescribedColumn[] = [
      { name: 'user_id', type: 'STRING', nullable: false },
      { name: 'url', type: 'STRING', nullable: true },
      { name: 'seen_at', type: 'TIMESTAMP_LTZ(3)', nullable: true },
    ];
    expect(JSON.parse(recordSchema('page_views_value', 'dev.drey.catalog', columns))).toEqual({
      type: 'record',
      name: 'page_views_value',
      namespace: 'dev.drey.catalog',
      fields: [
        { name: 'user_id', type: 'string' },
        { name: 'url', type: ['null', 'string'], default: null },
        { name: 'seen_at', type: ['null', TIMESTAMP_MILLIS], default: null },
      ],
    });
  });

  it('makes a record name of a topic name Avro would refuse', () => {
    const schema = JSON.parse(recordSchema('page-views.v1_value', 'ns', [{ name: 'r', type: 'ROW<`a` INT NOT NULL>', nullable: false }]));
    expect(schema.name).toBe('page_views_v1_value');
    expect(schema.fields[0].type.name).toBe('page_views_v1_value_r');
    expect(JSON.parse(recordSchema('1st_value', 'ns', [{ name: 'a', type: 'INT', nullable: false }])).name).toBe('_1st_value');
  });

  it.each(['user-id', '1st', 'naïve', 'with space', '$rowtime'])('refuses the column name %j, which is not an Avro name', (name) => {
    const columns = [{ name, type: 'INT', nullable: false }];
    expect(() => recordSchema('t_value', 'ns', columns)).toThrow(Unmappable);
    expect(() => recordSchema('t_value', 'ns', columns)).toThrow(`the column '${name}' is not a valid Avro field name (letters, digits and underscores)`);
  });

  it("refuses a column whose type has no Avro type, with the type's reason", () => {
    expect(() => recordSchema('t_value', 'ns', [{ name: 'at', type: 'TIMESTAMP(6)', nullable: true }])).toThrow(/TIMESTAMP\(6\) is finer/);
  });
});

/** A Flink type as DESCRIBE prints it, and the type avro.ts reads back from its Avro schema. */
interface Typed {
  declared: string;
  readBack: string;
}

const same = (t: string): Typed => ({ declared: t, readBack: t });
const FIELD_NAME = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/);
const DESCRIPTION = fc.option(fc.constantFrom('the id', "it's", 'a, b > c'), { nil: undefined });

const LEAF: fc.Arbitrary<Typed> = fc.oneof(
  fc.constantFrom(same('STRING'), same('BOOLEAN'), same('INT'), same('BIGINT'), same('FLOAT'), same('DOUBLE'), same('BYTES'), same('DATE'), same('TIMESTAMP(3)')),
  fc.integer({ min: 1, max: 2147483647 }).map((n) => ({ declared: `VARCHAR(${n})`, readBack: 'STRING' })),
  fc.integer({ min: 1, max: 255 }).map((n) => ({ declared: `CHAR(${n})`, readBack: 'STRING' })),
  fc.constantFrom('TINYINT', 'SMALLINT').map((t) => ({ declared: t, readBack: 'INT' })),
  fc.integer({ min: 1, max: 2147483647 }).map((n) => ({ declared: `BINARY(${n})`, readBack: 'BYTES' })),
  fc.integer({ min: 1, max: 2147483647 }).map((n) => ({ declared: `VARBINARY(${n})`, readBack: 'BYTES' })),
  fc
    .integer({ min: 1, max: 38 })
    .chain((p) => fc.integer({ min: 0, max: p }).map((s) => same(`DECIMAL(${p}, ${s})`))),
  // Avro's time-millis and timestamp-millis hold milliseconds whatever the declared precision
  fc.integer({ min: 0, max: 3 }).map((p) => ({ declared: `TIME(${p})`, readBack: 'TIME(3)' })),
  fc.constantFrom('TIMESTAMP_LTZ(3)', 'TIMESTAMP(3) WITH LOCAL TIME ZONE').map((t) => ({ declared: t, readBack: 'TIMESTAMP(3)' })),
);

/** A type inside another one: its nullability is part of its string. */
function nested(depth: number): fc.Arbitrary<Typed> {
  return fc.tuple(flinkType(depth), fc.boolean()).map(([t, nullable]) => (nullable ? t : { declared: `${t.declared} NOT NULL`, readBack: `${t.readBack} NOT NULL` }));
}

/** Flink types at most `depth` constructors deep. */
function flinkType(depth: number): fc.Arbitrary<Typed> {
  if (depth === 0) return LEAF;
  const array = nested(depth - 1).map((e) => ({ declared: `ARRAY<${e.declared}>`, readBack: `ARRAY<${e.readBack}>` }));
  // Avro map keys are strings that cannot be null, whatever the declared key type
  const key = fc.constantFrom('STRING', 'STRING NOT NULL', 'VARCHAR(10)', 'CHAR(2) NOT NULL');
  const map = fc.tuple(key, nested(depth - 1)).map(([k, v]) => ({ declared: `MAP<${k}, ${v.declared}>`, readBack: `MAP<STRING NOT NULL, ${v.readBack}>` }));
  const row = fc
    .uniqueArray(fc.tuple(FIELD_NAME, nested(depth - 1), DESCRIPTION), { minLength: 1, maxLength: 3, selector: ([name]) => name })
    .map((fields) => ({
      declared: `ROW<${fields.map(([name, t, doc]) => `\`${name}\` ${t.declared}${doc === undefined ? '' : ` '${doc.replace(/'/g, "''")}'`}`).join(', ')}>`,
      readBack: `ROW<${fields.map(([name, t]) => `\`${name}\` ${t.readBack}`).join(', ')}>`,
    }));
  return fc.oneof({ depthSize: 'small' }, LEAF, array, map, row);
}

describe('reading a registered table back', () => {
  it("gives the declared columns, up to Avro's coarser types, nullability kept", () => {
    const columns = fc.uniqueArray(fc.record({ name: FIELD_NAME, type: flinkType(3), nullable: fc.boolean() }), { minLength: 1, maxLength: 6, selector: (c) => c.name });
    fc.assert(
      fc.property(columns, (cols) => {
        const schema = recordSchema('t_value', 'dev.drey.catalog', cols.map((c) => ({ name: c.name, type: c.type.declared, nullable: c.nullable })));
        expect(recordColumns(schema)).toEqual(cols.map((c) => ({ name: c.name, type: c.nullable ? c.type.readBack : `${c.type.readBack} NOT NULL` })));
      }),
      { numRuns: 300 },
    );
  });
});

describe('names Avro requires unique and plain', () => {
  it('gives nested records names no other record of the schema has', () => {
    const schema = JSON.parse(
      recordSchema('t', 'ns', [
        { name: 'address', type: 'ROW<`home` ROW<`city` STRING>>', nullable: false },
        { name: 'address_home', type: 'ROW<`zip` STRING>', nullable: true },
      ]),
    );
    const names: string[] = [];
    const collect = (s: unknown): void => {
      if (Array.isArray(s)) s.forEach(collect);
      else if (s && typeof s === 'object') {
        const o = s as Record<string, unknown>;
        if (o.type === 'record') names.push(String(o.name));
        Object.values(o).forEach(collect);
      }
    };
    collect(schema);
    expect(names).toHaveLength(4);
    expect(new Set(names).size).toBe(4);
  });

  it('refuses nested field names that are not Avro names, or that repeat', () => {
    expect(() => avroOf('ROW<`a-b` INT>', false, 'R')).toThrow("the field 'a-b' is not a valid Avro field name");
    expect(() => avroOf('ROW<`a` INT, `a` INT>', false, 'R')).toThrow("the field 'a' appears twice");
  });
});
