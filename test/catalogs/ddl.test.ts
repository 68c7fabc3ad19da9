import { describe, expect, it } from '@jest/globals';
import { Unmappable } from '../../src/catalogs/avro.js';
import { layoutOf, mayChange, tableChange, topicConfigs } from '../../src/catalogs/ddl.js';
import type { VisibleDatabase } from '../../src/catalogs/view.js';

/**
 * Which Kafka catalog table a DDL statement creates or drops (resolved as Flink resolves names), and
 * the layout drey reads from a new table's DESCRIBE rows and SHOW CREATE TABLE text.
 */

function database(catalog: string, name: string, ddlEnvironments: string[] = ['dev']): VisibleDatabase {
  return { catalog, database: name, kafka: { 'bootstrap.servers': `${name}:9092` }, registry: { 'schema.registry.url': 'http://sr:8081' }, ddlEnvironments };
}

// kcat's default database is its first one, `main`
const MAIN = database('kcat', 'main');
const WRITABLE = database('kcat', 'writable');
const DOTTED = database('k.cat', 'd`b');
const DATABASES = [MAIN, WRITABLE, DOTTED];
const BY_NAME: Record<string, VisibleDatabase> = { 'kcat.main': MAIN, 'kcat.writable': WRITABLE, 'k.cat.d`b': DOTTED };
const HOME = { catalog: 'default_catalog', database: 'default_database' };
const IN_KCAT = { catalog: 'kcat' };
const IN_WRITABLE = { catalog: 'kcat', database: 'writable' };

describe('the Kafka catalog table a DDL statement changes', () => {
  it.each([
    ['CREATE TABLE t (a INT)', IN_WRITABLE, 'create', 'kcat.writable', 't', false],
    ['CREATE TABLE t (a INT)', IN_KCAT, 'create', 'kcat.main', 't', false],
    ['CREATE TABLE writable.t (a INT)', IN_KCAT, 'create', 'kcat.writable', 't', false],
    ['CREATE TABLE main.t (a INT)', IN_WRITABLE, 'create', 'kcat.main', 't', false],
    ['CREATE TABLE kcat.writable.t (a INT)', {}, 'create', 'kcat.writable', 't', false],
    ['CREATE TABLE kcat.writable.t (a INT)', { catalog: 'other', database: 'x' }, 'create', 'kcat.writable', 't', false],
    ['create table if not exists `kcat`.`writable`.`page_views` (a INT)', {}, 'create', 'kcat.writable', 'page_views', true],
    ['  CREATE TABLE IF NOT EXISTS\n  kcat . main . `t` (a INT)', {}, 'create', 'kcat.main', 't', true],
    ['CREATE TABLE `kcat`.`main`.`a.b``c`(a INT)', {}, 'create', 'kcat.main', 'a.b`c', false],
    ['CREATE TABLE `k.cat`.`d``b`.`t` (a INT)', {}, 'create', 'k.cat.d`b', 't', false],
    ['CREATE TABLE t2 WITH (\'kafka.partitions\' = \'2\') AS SELECT 1 AS n', IN_WRITABLE, 'create', 'kcat.writable', 't2', false],
    ['DROP TABLE t', IN_WRITABLE, 'drop', 'kcat.writable', 't', false],
    ['DROP TABLE t', IN_KCAT, 'drop', 'kcat.main', 't', false],
    ['drop table if exists kcat.main.`we``ird`', {}, 'drop', 'kcat.main', 'we`ird', true],
    ['DROP TABLE IF EXISTS writable.t', IN_KCAT, 'drop', 'kcat.writable', 't', true],
  ])('%j in %j is a %s in %s of table %j', (sql, current, action, db, table, lenient) => {
    expect(tableChange(sql, current, DATABASES, HOME)).toEqual({ action, db: BY_NAME[db], table, lenient });
  });

  it('gives the visible database itself, with its connection config', () => {
    expect(tableChange('DROP TABLE t', IN_WRITABLE, DATABASES, HOME)?.db).toBe(WRITABLE);
  });

  it.each([
    ['a temporary table', 'CREATE TEMPORARY TABLE kcat.main.t (a INT)', {}],
    ['a dropped temporary table', 'DROP TEMPORARY TABLE IF EXISTS t', IN_KCAT],
    ['a table in the session’s own catalog', 'CREATE TABLE t (a INT)', {}],
    ['a table in the session’s own catalog, named in full', 'DROP TABLE default_catalog.default_database.t', IN_KCAT],
    ['a table in a catalog that is not a Kafka catalog', 'CREATE TABLE t (a INT)', { catalog: 'hive', database: 'main' }],
    ['a Kafka catalog database named without its catalog, when the catalog is not current', 'CREATE TABLE main.t (a INT)', {}],
    ['a database the catalog does not have', 'CREATE TABLE nowhere.t (a INT)', IN_KCAT],
    ['a database the catalog does not have, named in full', 'DROP TABLE kcat.nowhere.t', {}],
    ['a current database the catalog does not have', 'CREATE TABLE t (a INT)', { catalog: 'kcat', database: 'nowhere' }],
    ['a query', 'SELECT * FROM kcat.main.t', {}],
    ['a view', 'CREATE VIEW kcat.main.v AS SELECT 1', {}],
    ['a database', 'CREATE DATABASE kcat.other', {}],
    ['ALTER TABLE outside the Kafka catalogs', 'ALTER TABLE t ADD c INT', {}],
  ])('is none for %s', (_what, sql, current) => {
    expect(tableChange(sql, current, DATABASES, HOME)).toBeUndefined();
  });

  it('is none when the environment sees no Kafka catalog database', () => {
    expect(tableChange('CREATE TABLE kcat.main.t (a INT)', {}, [], HOME)).toBeUndefined();
  });

  it.each([
    ['ALTER TABLE kcat.main.orders ADD c INT', {}],
    ['ALTER TABLE IF EXISTS orders RENAME TO orders2', IN_KCAT],
    ["alter table `kcat`.`writable`.`orders` SET ('kafka.retention.time' = '1 d')", {}],
  ])('refuses %j on a Kafka catalog table', (sql, current) => {
    expect(() => tableChange(sql, current, DATABASES, HOME)).toThrow(Unmappable);
    expect(() => tableChange(sql, current, DATABASES, HOME)).toThrow("ALTER TABLE on a Kafka catalog's table is not supported: the table is the topic 'orders' and its subjects");
  });
});

describe('who may change a database’s tables', () => {
  it('is the environments the database lists in ddlEnvironments, by exact name', () => {
    const db = database('kcat', 'main', ['dev', 'staging']);
    expect(mayChange('dev', db)).toBe(true);
    expect(mayChange('staging', db)).toBe(true);
    expect(mayChange('prod', db)).toBe(false);
    expect(mayChange('Dev', db)).toBe(false);
    expect(mayChange('dev', database('kcat', 'main', []))).toBe(false);
  });
});

/** A DESCRIBE row as the SQL Gateway gives it: name, type, null, key, extras, watermark. */
type Row = [string, string, boolean, string | null, string | null, string | null];

describe('the layout of a new table', () => {
  const PAGE_VIEWS: Row[] = [
    ['user_id', 'STRING', false, null, null, null],
    ['url', 'STRING', true, null, null, null],
    ['seen_at', 'TIMESTAMP_LTZ(3)', true, null, null, null],
  ];
  const PAGE_VIEWS_COLUMNS = [
    { name: 'user_id', type: 'STRING', nullable: false },
    { name: 'url', type: 'STRING', nullable: true },
    { name: 'seen_at', type: 'TIMESTAMP_LTZ(3)', nullable: true },
  ];
  const head = [
    'CREATE TABLE `kcat`.`writable`.`page_views` (',
    '  `user_id` VARCHAR(2147483647) NOT NULL,',
    '  `url` VARCHAR(2147483647),',
    '  `seen_at` TIMESTAMP(3) WITH LOCAL TIME ZONE',
    ')',
  ];
  const text = (...lines: string[]) => `${[...head, ...lines].join('\n')}\n`;

  it('takes keys from DISTRIBUTED BY, and partitions from kafka.partitions over the buckets', () => {
    const created = text('DISTRIBUTED BY HASH(`user_id`) INTO 3 BUCKETS', 'WITH (', "  'kafka.partitions' = '2'", ')');
    expect(layoutOf(PAGE_VIEWS, created)).toEqual({ columns: PAGE_VIEWS_COLUMNS, keys: ['user_id'], primaryKey: false, partitions: 2, options: { 'kafka.partitions': '2' } });
  });

  it('takes partitions from the buckets without kafka.partitions', () => {
    const created = text('DISTRIBUTED BY HASH(`user_id`) INTO 3 BUCKETS');
    expect(layoutOf(PAGE_VIEWS, created)).toEqual({ columns: PAGE_VIEWS_COLUMNS, keys: ['user_id'], primaryKey: false, partitions: 3, options: {} });
  });

  it('takes partitions from DISTRIBUTED INTO, with no keys', () => {
    expect(layoutOf(PAGE_VIEWS, text('DISTRIBUTED INTO 4 BUCKETS'))).toMatchObject({ keys: [], primaryKey: false, partitions: 4 });
  });

  it('takes several back-quoted keys from DISTRIBUTED BY without a kind or bucket count', () => {
    const rows: Row[] = [
      ['we`ird', 'INT', false, null, null, null],
      ['a.b', 'INT', false, null, null, null],
      ['v', 'STRING', true, null, null, null],
    ];
    const created = 'CREATE TABLE `kcat`.`main`.`t` (\n  `we``ird` INT NOT NULL,\n  `a.b` INT NOT NULL,\n  `v` VARCHAR(2147483647)\n)\nDISTRIBUTED BY (`we``ird`, `a.b`)\n';
    expect(layoutOf(rows, created)).toMatchObject({ keys: ['we`ird', 'a.b'], primaryKey: false, partitions: 1 });
  });

  it('is one partition without keys, without WITH and without DISTRIBUTED', () => {
    expect(layoutOf(PAGE_VIEWS, text())).toEqual({ columns: PAGE_VIEWS_COLUMNS, keys: [], primaryKey: false, partitions: 1, options: {} });
  });

  it("takes keys from the primary key over DISTRIBUTED BY's", () => {
    const rows: Row[] = [
      ['region', 'STRING', false, 'PRI(region, user_id)', null, null],
      ['user_id', 'BIGINT', false, 'PRI(region, user_id)', null, null],
      ['visits', 'INT', true, null, null, null],
    ];
    const created = [
      'CREATE TABLE `kcat`.`writable`.`visits` (',
      '  `region` VARCHAR(2147483647) NOT NULL,',
      '  `user_id` BIGINT NOT NULL,',
      '  `visits` INT,',
      '  CONSTRAINT `PK_region_user_id` PRIMARY KEY (`region`, `user_id`) NOT ENFORCED',
      ')',
      'DISTRIBUTED BY HASH(`region`) INTO 6 BUCKETS',
      '',
    ].join('\n');
    expect(layoutOf(rows, created)).toEqual({
      columns: [
        { name: 'region', type: 'STRING', nullable: false },
        { name: 'user_id', type: 'BIGINT', nullable: false },
        { name: 'visits', type: 'INT', nullable: true },
      ],
      keys: ['region', 'user_id'],
      primaryKey: true,
      partitions: 6,
      options: {},
    });
  });

  it('reads every option, with quotes unescaped', () => {
    const created = text('WITH (', "  'kafka.cleanup-policy' = 'delete',", "  'kafka.retention.time' = '7 d',", "  'note' = 'it''s = (mine), ok'", ')');
    expect(layoutOf(PAGE_VIEWS, created).options).toEqual({ 'kafka.cleanup-policy': 'delete', 'kafka.retention.time': '7 d', note: "it's = (mine), ok" });
  });

  it('leaves computed and metadata columns out, and the rowtime marker off a physical column', () => {
    const rows: Row[] = [
      ['id', 'BIGINT', false, null, null, null],
      ['at', 'TIMESTAMP(3) *ROWTIME*', true, null, null, '`at` - INTERVAL \'5\' SECOND'],
      ['doubled', 'BIGINT', false, null, 'AS `id` * 2', null],
      ['offset', 'BIGINT', true, null, "METADATA FROM 'offset' VIRTUAL", null],
      ['ts', 'TIMESTAMP_LTZ(3)', true, null, "METADATA FROM 'timestamp'", null],
    ];
    const created = [
      'CREATE TABLE `kcat`.`main`.`events` (',
      '  `id` BIGINT NOT NULL,',
      '  `at` TIMESTAMP(3),',
      '  `doubled` AS `id` * 2,',
      "  `offset` BIGINT METADATA FROM 'offset' VIRTUAL,",
      "  `ts` TIMESTAMP(3) WITH LOCAL TIME ZONE METADATA FROM 'timestamp',",
      "  WATERMARK FOR `at` AS `at` - INTERVAL '5' SECOND",
      ')',
      '',
    ].join('\n');
    expect(layoutOf(rows, created).columns).toEqual([
      { name: 'id', type: 'BIGINT', nullable: false },
      { name: 'at', type: 'TIMESTAMP(3)', nullable: true },
    ]);
  });

  it('reads nullability given as text', () => {
    const rows = [
      ['a', 'INT', 'FALSE', null, null, null],
      ['b', 'INT', 'TRUE', null, null, null],
      ['c', 'INT', 'true', null, null, null],
    ];
    expect(layoutOf(rows, text()).columns.map((c) => c.nullable)).toEqual([false, true, true]);
  });
});

describe('the options of a table with a comment', () => {
  it('are read after COMMENT, DISTRIBUTED and PARTITIONED BY', () => {
    const described = [
      ['a', 'INT', false, null, null, null],
      ['b', 'STRING', true, null, null, null],
    ];
    const created = "CREATE TABLE `kcat`.`main`.`t` (\n  `a` INT NOT NULL,\n  `b` VARCHAR(2147483647)\n)\nCOMMENT 'page views'\nDISTRIBUTED BY HASH(`a`) INTO 2 BUCKETS\nWITH (\n  'kafka.partitions' = '4',\n  'connector' = 'datagen'\n)\n";
    expect(layoutOf(described, created)).toMatchObject({ keys: ['a'], partitions: 4, options: { 'kafka.partitions': '4', connector: 'datagen' } });
  });

  it('reads a DISTRIBUTED BY column whose quoted name holds a parenthesis', () => {
    const described = [
      ['a)b', 'INT', false, null, null, null],
      ['c', 'STRING', true, null, null, null],
    ];
    expect(layoutOf(described, 'CREATE TABLE `t` (\n  `a)b` INT NOT NULL,\n  `c` STRING\n)\nDISTRIBUTED BY HASH(`a)b`) INTO 3 BUCKETS\n').keys).toEqual(['a)b']);
  });
});

describe("a table's kafka.* options as topic settings", () => {
  it('converts durations, sizes and policies to what Kafka takes', () => {
    expect(topicConfigs('t', { primaryKey: false, options: { 'kafka.retention.time': '7 d', 'kafka.retention.size': '100 mb', 'kafka.max-message-size': '2048', 'kafka.cleanup-policy': 'delete-compact' } })).toEqual({
      'cleanup.policy': 'compact,delete',
      'retention.ms': String(7 * 86_400_000),
      'retention.bytes': String(100 * 1024 * 1024),
      'max.message.bytes': '2048',
    });
    expect(topicConfigs('t', { primaryKey: true, options: {} })).toEqual({ 'cleanup.policy': 'compact' });
    expect(topicConfigs('t', { primaryKey: false, options: { 'kafka.retention.time': '12 h' } })).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': String(12 * 3_600_000) });
  });

  it('refuses what Kafka would not take', () => {
    expect(() => topicConfigs('t', { primaryKey: false, options: { 'kafka.retention.time': 'a week' } })).toThrow("'kafka.retention.time' of 't' must be a duration");
    expect(() => topicConfigs('t', { primaryKey: false, options: { 'kafka.cleanup-policy': 'forever' } })).toThrow("'kafka.cleanup-policy' of 't' must be delete, compact or delete-compact");
  });
});
