import { describe, expect, it } from '@jest/globals';
import { ddlTarget, hintOptionKeys, likeSources, mentionedNames, refusalFor } from '../../src/catalogs/guard.js';

/**
 * What drey reads of a statement before it runs where Kafka catalogs are visible, from its tokens:
 * comments, literals and hints cannot hide DDL, and cannot pass for names.
 */

const KCAT = ['kcat'];
const HOME = 'default_catalog';

describe('the object DDL targets', () => {
  it.each([
    ['CREATE TABLE t (a INT)', { verb: 'CREATE', kind: 'TABLE', temporary: false, lenient: false, name: ['t'] }],
    ['-- a comment first\nDROP TABLE IF EXISTS kcat.db.`or``ders`', { verb: 'DROP', kind: 'TABLE', temporary: false, lenient: true, name: ['kcat', 'db', 'or`ders'] }],
    ['/* note */ ALTER TABLE db.t SET (\'a\' = \'b\')', { verb: 'ALTER', kind: 'TABLE', temporary: false, lenient: false, name: ['db', 't'] }],
    ['CREATE OR REPLACE TEMPORARY VIEW v AS SELECT 1', { verb: 'CREATE', kind: 'VIEW', temporary: true, lenient: false, name: ['v'] }],
    ['CREATE TEMPORARY SYSTEM FUNCTION f AS \'x.Y\'', { verb: 'CREATE', kind: 'FUNCTION', temporary: true, lenient: false, name: ['f'] }],
    ['DROP DATABASE kcat.db CASCADE', { verb: 'DROP', kind: 'DATABASE', temporary: false, lenient: false, name: ['kcat', 'db'] }],
    ['DROP CATALOG IF EXISTS kcat', { verb: 'DROP', kind: 'CATALOG', temporary: false, lenient: true, name: ['kcat'] }],
    ['CREATE MATERIALIZED TABLE m AS SELECT 1', { verb: 'CREATE', kind: 'MATERIALIZED TABLE', temporary: false, lenient: false, name: ['m'] }],
  ])('%j', (sql, target) => {
    expect(ddlTarget(sql)).toEqual(target);
  });

  it('is none for other statements', () => {
    expect(ddlTarget('SELECT * FROM t')).toBeUndefined();
    expect(ddlTarget("INSERT INTO t VALUES ('CREATE TABLE x')")).toBeUndefined();
    expect(ddlTarget('SHOW CREATE TABLE t')).toBeUndefined();
  });
});

describe('what a statement copies, sets and names', () => {
  it('finds LIKE sources that bring their options along', () => {
    expect(likeSources('CREATE TABLE t (x INT) WITH (\'connector\' = \'datagen\') LIKE kcat.db.orders')).toEqual([['kcat', 'db', 'orders']]);
    expect(likeSources('CREATE TABLE t LIKE kcat.db.orders (INCLUDING ALL)')).toEqual([['kcat', 'db', 'orders']]);
    expect(likeSources('CREATE TABLE t LIKE kcat.db.orders (EXCLUDING OPTIONS)')).toEqual([]);
    expect(likeSources('CREATE TABLE t LIKE kcat.db.orders (EXCLUDING ALL)')).toEqual([]);
    expect(likeSources("CREATE VIEW v AS SELECT * FROM t WHERE name LIKE 'a%'")).toEqual([]);
  });

  it("reads OPTIONS hints' keys", () => {
    expect(hintOptionKeys("SELECT * FROM t /*+ OPTIONS('scan.bounded.mode'='latest-offset', 'properties.bootstrap.servers' = 'evil:9092') */")).toEqual([
      'scan.bounded.mode',
      'properties.bootstrap.servers',
    ]);
    expect(hintOptionKeys("SELECT '/*+ OPTIONS(''a''=''b'') */' FROM t -- /*+ OPTIONS('c'='d') */")).toEqual([]);
  });

  it('names identifiers, not literals or comments', () => {
    expect([...mentionedNames(["SELECT `Or``ders`.id FROM kcat.db.`Or``ders` WHERE c = 'kafka' -- status"])].sort()).toEqual(['db', 'from', 'id', 'kcat', 'or`ders', 'select', 'where', 'c'].sort());
  });
});

describe('what drey refuses where Kafka catalogs are visible', () => {
  it('lets through what neither changes a Kafka catalog nor reaches its credentials', () => {
    for (const sql of [
      "SELECT * FROM kcat.db.orders /*+ OPTIONS('scan.bounded.mode'='latest-offset') */",
      'CREATE TABLE kcat.db.t (a INT)',
      'DROP TABLE IF EXISTS kcat.db.t',
      "CREATE TABLE t (a INT) WITH ('connector' = 'datagen')",
      'CREATE VIEW v AS SELECT * FROM kcat.db.orders',
      'CREATE TABLE t LIKE kcat.db.orders (EXCLUDING OPTIONS)',
    ]) {
      expect(refusalFor(sql, KCAT, {}, HOME)).toBeUndefined();
    }
    // without Kafka catalogs, nothing is refused
    expect(refusalFor("SELECT * FROM t /*+ OPTIONS('properties.x'='y') */", [], {}, HOME)).toBeUndefined();
  });

  it.each([
    ["SELECT * FROM kcat.db.orders /*+ OPTIONS('properties.bootstrap.servers'='evil:9092') */", {}, /OPTIONS hints may set only scan\.\* and sink\.\* options, not 'properties\.bootstrap\.servers'/],
    ["INSERT INTO t SELECT * FROM o /*+ OPTIONS('value.avro-confluent.url'='http://evil') */", {}, /not 'value\.avro-confluent\.url'/],
    ['-- hidden\nALTER TABLE kcat.db.orders SET (\'properties.bootstrap.servers\'=\'evil:9092\')', {}, /In Kafka catalog 'kcat' drey runs only CREATE TABLE and DROP TABLE .* not ALTER TABLE/],
    ['ALTER TABLE orders RENAME TO o2', { catalog: 'kcat' }, /not ALTER TABLE/],
    ['DROP CATALOG kcat', {}, /not DROP CATALOG/],
    ['DROP DATABASE kcat.db CASCADE', {}, /not DROP DATABASE/],
    ['CREATE DATABASE x', { catalog: 'kcat' }, /not CREATE DATABASE/],
    ['CREATE TEMPORARY TABLE kcat.db.orders (a INT)', {}, /not CREATE TEMPORARY TABLE/],
    ['CREATE VIEW kcat.db.v AS SELECT 1', {}, /not CREATE VIEW/],
    ["CREATE TABLE t WITH ('properties.bootstrap.servers' = 'evil:9092') LIKE kcat.db.orders", {}, /LIKE kcat\.db\.orders would copy .* add \(EXCLUDING OPTIONS\)/],
    ['CREATE TABLE default_catalog.default_database.t LIKE orders', { catalog: 'kcat' }, /LIKE orders would copy/],
  ])('%j in %j', (sql, current, why) => {
    expect(refusalFor(sql, KCAT, current, HOME)).toMatch(why);
  });
});
