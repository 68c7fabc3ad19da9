import fc from 'fast-check';
import { sqlShape, type SqlClass } from '../../src/domain/sql.js';

const SEED = Number(process.env.DREY_FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.DREY_FUZZ_RUNS ?? 1000);

type Mode = 'interactive' | 'detached';
/** sql, sqlKind, sqlClass, returnsRows, mode, changesCatalog, and what the refusal says (absent: drey runs it). */
type Row = [string, string, SqlClass, boolean, Mode, boolean, RegExp?];

const I: Mode = 'interactive';
const D: Mode = 'detached';

const FORMS: Row[] = [
  // Queries: a job whose rows /results pages through.
  ['SELECT 1', 'SELECT', 'query', true, I, false],
  ['select * from orders;', 'SELECT', 'query', true, I, false],
  ['WITH a AS (SELECT 1 AS x) SELECT x FROM a', 'SELECT', 'query', true, I, false],
  ['VALUES (1), (2)', 'SELECT', 'query', true, I, false],
  ['TABLE orders', 'SELECT', 'query', true, I, false],
  ['(SELECT 1) UNION ALL (SELECT 2)', 'SELECT', 'query', true, I, false],
  ['/* x */ -- y\n SELECT 1', 'SELECT', 'query', true, I, false],
  ['EXECUTE SELECT 1', 'SELECT', 'query', true, I, false],
  // Inserts: a detached job.
  ['INSERT INTO sink SELECT * FROM src', 'INSERT_INTO', 'insert', false, D, false],
  ['insert overwrite sink select 1', 'INSERT_OVERWRITE', 'insert', false, D, false],
  ["INSERT INTO sink /*+ OPTIONS('sink.parallelism'='2') */ SELECT 1", 'INSERT_INTO', 'insert', false, D, false],
  ['EXECUTE INSERT INTO sink VALUES (1)', 'INSERT_INTO', 'insert', false, D, false],
  ['UPSERT INTO sink VALUES (1)', 'UPSERT_INTO', 'insert', false, D, false],
  ['BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 2;\nEND;', 'STATEMENT_SET', 'insert', false, D, false],
  ['EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END', 'STATEMENT_SET', 'insert', false, D, false],
  // Metadata: answered inline.
  ['SHOW CATALOGS', 'SHOW_CATALOGS', 'metadata', true, D, false],
  ['SHOW CURRENT CATALOG', 'SHOW_CURRENT_CATALOG', 'metadata', true, D, false],
  ['show current database', 'SHOW_CURRENT_DATABASE', 'metadata', true, D, false],
  ['SHOW DATABASES', 'SHOW_DATABASES', 'metadata', true, D, false],
  ["SHOW TABLES FROM db NOT LIKE 'tmp%'", 'SHOW_TABLES', 'metadata', true, D, false],
  ['SHOW VIEWS', 'SHOW_VIEWS', 'metadata', true, D, false],
  ['SHOW MATERIALIZED TABLES', 'SHOW_MATERIALIZED_TABLES', 'metadata', true, D, false],
  ['SHOW COLUMNS FROM orders', 'SHOW_COLUMNS', 'metadata', true, D, false],
  ['SHOW USER FUNCTIONS', 'SHOW_FUNCTIONS', 'metadata', true, D, false],
  ['SHOW FULL MODULES', 'SHOW_MODULES', 'metadata', true, D, false],
  ['SHOW JARS', 'SHOW_JARS', 'metadata', true, D, false],
  ['SHOW JOBS', 'SHOW_JOBS', 'metadata', true, D, false],
  ["SHOW PARTITIONS orders PARTITION (dt = '2026-01-01')", 'SHOW_PARTITIONS', 'metadata', true, D, false],
  ['SHOW PROCEDURES', 'SHOW_PROCEDURES', 'metadata', true, D, false],
  ['SHOW MODELS', 'SHOW_MODELS', 'metadata', true, D, false],
  ['SHOW CREATE TABLE orders', 'SHOW_CREATE_TABLE', 'metadata', true, D, false],
  ['SHOW CREATE VIEW v', 'SHOW_CREATE_VIEW', 'metadata', true, D, false],
  ['SHOW CREATE CATALOG c', 'SHOW_CREATE_CATALOG', 'metadata', true, D, false],
  ['SHOW CREATE MATERIALIZED TABLE m', 'SHOW_CREATE_MATERIALIZED_TABLE', 'metadata', true, D, false],
  ['DESCRIBE orders', 'DESCRIBE', 'metadata', true, D, false],
  ['DESC EXTENDED orders', 'DESCRIBE', 'metadata', true, D, false],
  ['DESCRIBE FUNCTION EXTENDED f', 'DESCRIBE_FUNCTION', 'metadata', true, D, false],
  ['DESCRIBE CATALOG c', 'DESCRIBE_CATALOG', 'metadata', true, D, false],
  ['DESC DATABASE EXTENDED db', 'DESCRIBE_DATABASE', 'metadata', true, D, false],
  ["DESCRIBE JOB '228d70913eab60dda85c5e7f78b5782c'", 'DESCRIBE_JOB', 'metadata', true, D, false],
  ['DESCRIBE catalog', 'DESCRIBE', 'metadata', true, D, false],
  ['EXPLAIN PLAN FOR SELECT 1', 'EXPLAIN', 'metadata', true, D, false],
  ['EXPLAIN CHANGELOG_MODE, ESTIMATED_COST INSERT INTO t SELECT 1', 'EXPLAIN', 'metadata', true, D, false],
  ['EXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END;', 'EXPLAIN', 'metadata', true, D, false],
  ['USE db', 'USE', 'metadata', false, D, false],
  ['USE CATALOG c', 'USE_CATALOG', 'metadata', false, D, false],
  ['USE MODULES hive, core', 'USE_MODULES', 'metadata', false, D, false],
  ['SET', 'SET', 'metadata', true, D, false],
  ["SET 'table.local-time-zone' = 'UTC'", 'SET', 'metadata', false, D, false],
  ["RESET 'table.local-time-zone'", 'RESET', 'metadata', false, D, false],
  ["LOAD MODULE hive WITH ('hive-version' = '3.1.3')", 'LOAD_MODULE', 'metadata', false, D, false],
  ['UNLOAD MODULE hive', 'UNLOAD_MODULE', 'metadata', false, D, false],
  ["ADD JAR '/opt/udfs.jar'", 'ADD_JAR', 'metadata', false, D, false],
  ["REMOVE JAR '/opt/udfs.jar'", 'REMOVE_JAR', 'metadata', false, D, false],
  ['HELP', 'HELP', 'metadata', false, D, false],
  // DDL: answered inline; CREATE/ALTER/DROP of a catalog object is replayed in later sessions.
  ["CREATE TABLE t (a INT, b AS a + 1, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen')", 'CREATE_TABLE', 'ddl', false, D, true],
  ["CREATE TEMPORARY TABLE IF NOT EXISTS t (a INT) WITH ('connector' = 'datagen')", 'CREATE_TABLE', 'ddl', false, D, true],
  ["CREATE TABLE t2 WITH ('connector' = 'print') LIKE t (EXCLUDING ALL)", 'CREATE_TABLE', 'ddl', false, D, true],
  ['CREATE TABLE t (a INT) DISTRIBUTED BY HASH(a) INTO 4 BUCKETS', 'CREATE_TABLE', 'ddl', false, D, true],
  ['CREATE TEMPORARY VIEW v AS SELECT 1', 'CREATE_VIEW', 'ddl', false, D, true],
  ['CREATE VIEW IF NOT EXISTS v AS SELECT 1', 'CREATE_VIEW', 'ddl', false, D, true],
  ["CREATE FUNCTION f AS 'com.example.F' LANGUAGE JAVA USING JAR '/opt/f.jar'", 'CREATE_FUNCTION', 'ddl', false, D, true],
  ["CREATE TEMPORARY SYSTEM FUNCTION f AS 'com.example.F'", 'CREATE_FUNCTION', 'ddl', false, D, true],
  ["CREATE OR REPLACE FUNCTION f AS 'com.example.F'", 'CREATE_FUNCTION', 'ddl', false, D, true],
  ['CREATE DATABASE IF NOT EXISTS db', 'CREATE_DATABASE', 'ddl', false, D, true],
  ["CREATE CATALOG c WITH ('type' = 'generic_in_memory')", 'CREATE_CATALOG', 'ddl', false, D, true],
  ["CREATE MODEL m INPUT (x STRING) OUTPUT (y STRING) WITH ('provider' = 'openai')", 'CREATE_MODEL', 'ddl', false, D, true],
  ["ALTER TABLE t SET ('k' = 'v')", 'ALTER_TABLE', 'ddl', false, D, true],
  ['ALTER TABLE t RENAME TO t2', 'ALTER_TABLE', 'ddl', false, D, true],
  ['ALTER VIEW v AS SELECT 2', 'ALTER_VIEW', 'ddl', false, D, true],
  ["ALTER TEMPORARY SYSTEM FUNCTION f AS 'com.example.G'", 'ALTER_FUNCTION', 'ddl', false, D, true],
  ["ALTER DATABASE db SET ('k' = 'v')", 'ALTER_DATABASE', 'ddl', false, D, true],
  ["ALTER CATALOG c SET ('k' = 'v')", 'ALTER_CATALOG', 'ddl', false, D, true],
  ['DROP TABLE IF EXISTS t', 'DROP_TABLE', 'ddl', false, D, true],
  ['DROP TEMPORARY VIEW v', 'DROP_VIEW', 'ddl', false, D, true],
  ['DROP TEMPORARY SYSTEM FUNCTION IF EXISTS f', 'DROP_FUNCTION', 'ddl', false, D, true],
  ['DROP DATABASE db CASCADE', 'DROP_DATABASE', 'ddl', false, D, true],
  ['DROP CATALOG IF EXISTS c', 'DROP_CATALOG', 'ddl', false, D, true],
  ['DROP MODEL m', 'DROP_MODEL', 'ddl', false, D, true],
  ['TRUNCATE TABLE t', 'TRUNCATE_TABLE', 'ddl', false, D, false],
  // Refused before Flink sees them.
  ["CREATE TABLE t WITH ('connector' = 'print') AS SELECT * FROM s", 'CREATE_TABLE_AS', 'insert', false, D, false, /CREATE TABLE \.\.\. AS SELECT is not supported/],
  ['CREATE TEMPORARY TABLE t (a INT) AS SELECT 1', 'CREATE_TABLE_AS', 'insert', false, D, false, /CREATE TABLE \.\.\. AS SELECT is not supported/],
  ['CREATE OR REPLACE TABLE t AS SELECT 1', 'REPLACE_TABLE_AS', 'insert', false, D, false, /REPLACE TABLE \.\.\. AS SELECT are not supported/],
  ['REPLACE TABLE t AS SELECT 1', 'REPLACE_TABLE_AS', 'insert', false, D, false, /REPLACE TABLE \.\.\. AS SELECT are not supported/],
  ["CREATE MATERIALIZED TABLE m FRESHNESS = INTERVAL '1' MINUTE AS SELECT 1", 'CREATE_MATERIALIZED_TABLE', 'ddl', false, D, false, /workflow scheduler/],
  ['CREATE OR ALTER MATERIALIZED TABLE m AS SELECT 1', 'CREATE_MATERIALIZED_TABLE', 'ddl', false, D, false, /workflow scheduler/],
  ['ALTER MATERIALIZED TABLE m SUSPEND', 'ALTER_MATERIALIZED_TABLE', 'ddl', false, D, false, /workflow scheduler/],
  ['DROP MATERIALIZED TABLE IF EXISTS m', 'DROP_MATERIALIZED_TABLE', 'ddl', false, D, false, /workflow scheduler/],
  ["STOP JOB '228d70913eab60dda85c5e7f78b5782c' WITH SAVEPOINT", 'STOP_JOB', 'metadata', false, D, false, /spec\.stopped/],
  ["CALL cat.sys.compact('db.t')", 'CALL', 'metadata', false, D, false, /stored procedure/],
  ['ANALYZE TABLE t COMPUTE STATISTICS FOR ALL COLUMNS', 'ANALYZE_TABLE', 'ddl', false, D, false, /batch job/],
  ['DELETE FROM t WHERE a = 1', 'DELETE_FROM', 'insert', false, D, false, /row-level/],
  ['UPDATE t SET a = 1 WHERE a = 2', 'UPDATE', 'insert', false, D, false, /row-level/],
  ["COMPILE PLAN '/tmp/plan.json' FOR INSERT INTO t SELECT 1", 'COMPILE_PLAN', 'metadata', false, D, false, /plan files/],
  ["COMPILE AND EXECUTE PLAN '/tmp/plan.json' FOR INSERT INTO t SELECT 1", 'COMPILE_AND_EXECUTE_PLAN', 'insert', false, D, false, /plan files/],
  ["EXECUTE PLAN '/tmp/plan.json'", 'EXECUTE_PLAN', 'insert', false, D, false, /plan files/],
  ['SELECT 1; SELECT 2', 'SELECT', 'query', true, I, false, /^Only one SQL statement is allowed per statement; found 2: submit each as its own statement$/],
  ["CREATE TABLE t (a INT) WITH ('connector' = 'datagen'); INSERT INTO s SELECT * FROM t", 'CREATE_TABLE', 'ddl', false, D, false, /found 2/],
  ['', '', 'metadata', false, D, false, /empty/],
  ['  -- only a comment;\n /* and another; */ ;;', '', 'metadata', false, D, false, /empty/],
  ['END', 'END', 'metadata', false, D, false, /no BEGIN STATEMENT SET/],
  ['EXECUTE STATEMENT SET BEGIN INSERT INTO a VALUES (1) END', 'STATEMENT_SET', 'insert', false, D, false, /not closed/],
  ['BEGIN STATEMENT SET; INSERT INTO a VALUES (1);', 'STATEMENT_SET', 'insert', false, D, false, /not closed/],
  ['BEGIN STATEMENT SET; SELECT 1; END;', 'STATEMENT_SET', 'insert', false, D, false, /only INSERT statements; found SELECT/],
  ['BEGIN STATEMENT SET; END;', 'STATEMENT_SET', 'insert', false, D, false, /holds no INSERT/],
  ["SELECT 'not closed", 'SELECT', 'query', true, I, false, /unterminated string literal/],
];

describe('sqlShape classifies every statement form Flink 2.3 parses', () => {
  // Objects, not rows: jest would pass its done callback in place of a missing last column.
  const cases = FORMS.map(([sql, sqlKind, sqlClass, returnsRows, mode, changesCatalog, refused]) => ({ sql, sqlKind, sqlClass, returnsRows, mode, changesCatalog, refused }));
  it.each(cases)('$sql is $sqlKind', ({ sql, sqlKind, sqlClass, returnsRows, mode, changesCatalog, refused }) => {
    const shape = sqlShape(sql);
    expect({ sqlKind: shape.sqlKind, sqlClass: shape.sqlClass, returnsRows: shape.returnsRows, mode: shape.mode, changesCatalog: shape.changesCatalog }).toEqual({
      sqlKind,
      sqlClass,
      returnsRows,
      mode,
      changesCatalog,
    });
    if (refused === undefined) expect(shape.refused).toBeUndefined();
    else expect(shape.refused).toMatch(refused);
  });

  it('names the leading keyword, past comments and parentheses', () => {
    expect(sqlShape('-- q\n((select 1))').keyword).toBe('SELECT');
    expect(sqlShape('/*+ x */ insert into t values (1)').keyword).toBe('INSERT');
    expect(sqlShape("'SELECT'").keyword).toBe('');
  });
});

describe('the lexer never splits a statement at a semicolon inside a literal, identifier, comment or hint', () => {
  it.each([
    ['a string literal', "SELECT 'a;b' FROM t;", "SELECT 'a;b' FROM t"],
    ['a doubled quote inside a literal', "SELECT 'it''s; fine';", "SELECT 'it''s; fine'"],
    ['a backslash-escaped quote in E-literal', "SELECT E'it\\'s; fine';", "SELECT E'it\\'s; fine'"],
    ['an escaped backslash closing a lower-case e-literal', "select e'a\\\\';", "select e'a\\\\'"],
    ['an E-literal right after a number', "SELECT 1E'x;y'", "SELECT 1E'x;y'"],
    ['prefixed literals', "SELECT X'0a', N'b;c', U&'d;e', _utf8'f;g';", "SELECT X'0a', N'b;c', U&'d;e', _utf8'f;g'"],
    ['back-quoted identifiers with doubled back-quotes', 'SELECT `a;b` FROM `t``;x`;', 'SELECT `a;b` FROM `t``;x`'],
    ['double-quoted text', 'SELECT "a;b";', 'SELECT "a;b"'],
    ['a -- line comment', 'SELECT 1 -- a; b\n FROM t;', 'SELECT 1 -- a; b\n FROM t'],
    ['a // line comment, which Flink reads as a comment too', 'SELECT 1 // a; b\r\nFROM t', 'SELECT 1 // a; b\r\nFROM t'],
    ['a block comment', 'SELECT /* a; b */ 1;', 'SELECT /* a; b */ 1'],
    ['a hint, whose literals may hold */ and ;', "SELECT /*+ OPTIONS('path'='/tmp/*/;x') */ 1 FROM t;", "SELECT /*+ OPTIONS('path'='/tmp/*/;x') */ 1 FROM t"],
    ['a semicolon in a hint', 'SELECT /*+ a; b */ 1', 'SELECT /*+ a; b */ 1'],
  ])('%s', (_what, sql, text) => {
    const shape = sqlShape(sql);
    expect(shape.refused).toBeUndefined();
    expect(shape.text).toBe(text);
  });

  it('a backslash does not escape a quote in an ordinary literal', () => {
    expect(sqlShape("SELECT '\\'; SELECT 2").refused).toMatch(/found 2/);
  });

  it('an E that ends a longer word is no literal prefix', () => {
    expect(sqlShape("SELECT name'\\'; SELECT 2").refused).toMatch(/found 2/);
  });
});

describe('the text sent to Flink', () => {
  it.each([
    ['drops trailing semicolons, whitespace and comments', 'SELECT 1 ;;\n ; \t-- done; really\n/* ; */', 'SELECT 1'],
    ['keeps leading comments', '-- name: q\nSELECT 1;', '-- name: q\nSELECT 1'],
    ['starts after leading semicolons', ';; SELECT 1', ' SELECT 1'],
    ['keeps an EXECUTE STATEMENT SET whole, CASE ... END included', 'EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT CASE WHEN x THEN 1 ELSE 2 END FROM t;\nEND;', 'EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT CASE WHEN x THEN 1 ELSE 2 END FROM t;\nEND'],
    ['turns BEGIN STATEMENT SET into one EXECUTE STATEMENT SET', '-- job\nBEGIN STATEMENT SET;\nINSERT INTO a SELECT 1; -- first\nINSERT INTO b SELECT 2;\nEND;\n', '-- job\nEXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1; -- first\nINSERT INTO b SELECT 2;\nEND'],
  ])('%s', (_what, sql, text) => {
    expect(sqlShape(sql).text).toBe(text);
  });

  it('counts a statement set as one statement among others', () => {
    expect(sqlShape('BEGIN STATEMENT SET; INSERT INTO a VALUES (1); END; SELECT 1; SELECT 2').refused).toMatch(/found 3/);
  });
});

describe('text that runs off its end is refused with where it started', () => {
  it.each([
    ["SELECT 'abc", 'string literal', 'line 1, column 8'],
    ["SELECT\n  E'abc\\'", 'string literal', 'line 2, column 3'],
    ["SELECT 'a''", 'string literal', 'line 1, column 11'],
    ['SELECT `abc', 'quoted identifier', 'line 1, column 8'],
    ['SELECT "abc', 'double-quoted text', 'line 1, column 8'],
    ['SELECT 1 /* abc;', 'comment', 'line 1, column 10'],
    ['SELECT /*+ OPTIONS(a) 1;', 'hint', 'line 1, column 8'],
  ])('%j', (sql, what, where) => {
    const shape = sqlShape(sql);
    expect(shape.refused).toBe(`The SQL text has an unterminated ${what} starting at ${where}`);
    expect(shape.changesCatalog).toBe(false);
  });

  it('never replays a refused text, even when it would create a catalog object', () => {
    expect(sqlShape("CREATE TABLE t (a INT) WITH ('c' = 'd'); DROP TABLE u").changesCatalog).toBe(false);
    expect(sqlShape("CREATE TABLE t (a INT) WITH ('c' = 'd)").changesCatalog).toBe(false);
  });
});

/** Texts built from the pieces that matter to the lexer, so that generated cases hit its edges. */
const sqlish = fc
  .array(
    fc.constantFrom(
      'SELECT', 'INSERT INTO t VALUES (1)', 'CREATE TABLE t', 'AS', 'BEGIN STATEMENT SET', 'EXECUTE STATEMENT SET BEGIN', 'END',
      'STOP JOB', 'SET', 'x', '1', 'E', "E'", "'", "''", '`', '"', '\\', ';', '--', '//', '/*', '*/', '/*+', '(', ')',
      ' ', '\n', '\r', '\t', '\f', '\u00a0', '\u{1F600}',
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), sqlish);
const OPTIONS = { seed: SEED, numRuns: RUNS };

describe(`sqlShape on any text (fast-check seed ${SEED}, ${RUNS} runs)`, () => {
  it('never throws, and its text never ends with a semicolon or whitespace', () => {
    fc.assert(
      fc.property(anyText, (sql) => {
        const { text } = sqlShape(sql);
        expect(text).not.toMatch(/[;\t\n\r\f ]$/);
      }),
      OPTIONS,
    );
  });

  it('reads a text the same with more semicolons and whitespace after it', () => {
    fc.assert(
      fc.property(anyText, fc.constantFrom(';', ';;', ' ;\n', '\n;\t;'), (sql, tail) => {
        expect(sqlShape(sql + tail)).toEqual(sqlShape(sql));
      }),
      OPTIONS,
    );
  });

  it('keeps any string literal, quoted identifier or comment whole', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (content) => {
        const literal = `'${content.replaceAll("'", "''")}'`;
        const identifier = `\`${content.replaceAll('`', '``')}\``;
        const comment = `/*${content.replaceAll('*/', '* /')}*/`;
        const sql = `SELECT ${literal} AS ${identifier} ${comment} FROM t`;
        const shape = sqlShape(`${sql};`);
        expect(shape.refused).toBeUndefined();
        expect(shape.text).toBe(sql);
      }),
      OPTIONS,
    );
  });
});
