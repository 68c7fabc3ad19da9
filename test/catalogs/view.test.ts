import { describe, expect, it } from '@jest/globals';
import { namesIn, Redactor, SessionCatalogs, type CatalogProblem } from '../../src/catalogs/view.js';

/**
 * What a session's catalogs say about their problems: which problem a statement runs into, and that
 * no secret value an environment's mappings hold is in what it says.
 */

const PASSWORD = 'Sup3r-Secret-Passw0rd';
const JAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice-user" password="${PASSWORD}";`;
const SHADED_JAAS = `org.apache.flink.kafka.shaded.${JAAS}`;
const USER_INFO = 'srkey:srsecret-value';

describe('masking secret values', () => {
  it('masks the longest value first, so that no part of a longer one is left', () => {
    const redactor = new Redactor(['secret', 'secret-and-more']);
    expect(redactor.redact('a secret-and-more and a secret')).toBe('a **** and a ****');
  });

  it('masks every occurrence', () => {
    expect(new Redactor(['hunter22']).redact('hunter22/hunter22')).toBe('****/****');
  });

  it('leaves values shorter than four characters unmasked', () => {
    const redactor = new Redactor(['abc', 'xy', '']);
    expect(redactor.redact('abc xy abcd')).toBe('abc xy abcd');
    expect(redactor.empty).toBe(true);
    expect(new Redactor(['abcd']).redact('abc abcd')).toBe('abc ****');
  });

  it("masks a secret's JAAS config, as written and shaded, and its username and password alone", () => {
    const redactor = Redactor.of({ 'kafka-creds': { 'sasl.jaas.config': JAAS } });
    expect(redactor.redact(`sasl.jaas.config=${JAAS}`)).toBe('sasl.jaas.config=****');
    expect(redactor.redact(`'properties.sasl.jaas.config' = '${SHADED_JAAS}'`)).toBe("'properties.sasl.jaas.config' = '****'");
    expect(redactor.redact(`Authentication failed for alice-user with password ${PASSWORD}`)).toBe('Authentication failed for **** with password ****');
  });

  it("masks basic auth user info, its password alone and its HTTP header's encoding", () => {
    const redactor = Redactor.of({ 'sr-creds': { 'basic.auth.user.info': USER_INFO } });
    const header = Buffer.from(USER_INFO).toString('base64');
    expect(redactor.redact(`user info ${USER_INFO}; password srsecret-value; Authorization: Basic ${header}`)).toBe('user info ****; password ****; Authorization: Basic ****');
  });

  it('masks the values of every mapped secret, and only string values', () => {
    const redactor = Redactor.of({ one: { a: 'first-secret' }, two: { b: 'second-secret', n: 12345678 as unknown as string } });
    expect(redactor.redact('first-secret second-secret 12345678')).toBe('**** **** 12345678');
  });

  it('has nothing to mask without secrets', () => {
    expect(Redactor.of({}).empty).toBe(true);
    expect(Redactor.of({}).redact(JAAS)).toBe(JAAS);
  });
});

describe('the names a statement names', () => {
  it('are its words and back-quoted names, lower-cased and unescaped', () => {
    expect(namesIn(['SELECT * FROM `K``cat`.Secure.`t.x` WHERE $rowtime > 1', 'SHOW TABLES IN db_2'])).toEqual(
      new Set(['select', 'from', 'k`cat', 'secure', 't.x', 'where', '$rowtime', 'show', 'tables', 'in', 'db_2']),
    );
  });
});

const CATALOG: CatalogProblem = { catalog: 'kcat', message: "Kafka catalog 'kcat': the schema registry at http://sr:8081 cannot be reached" };
const DATABASE: CatalogProblem = { catalog: 'kcat', database: 'secure', message: "Kafka catalog 'kcat' database 'secure': it refused the credentials" };
const TABLE: CatalogProblem = { catalog: 'kcat', database: 'secure', table: 'orders', message: "Kafka catalog 'kcat' table 'secure.orders': a union of int, string has no Flink SQL type" };

const catalogs = (...problems: CatalogProblem[]) => new SessionCatalogs([], problems, new Redactor([]));

describe('the problem a statement runs into', () => {
  it('is none without problems', () => {
    expect(SessionCatalogs.none.problemFor(['SELECT * FROM kcat.secure.orders'], { catalog: 'kcat', database: 'secure' })).toBeUndefined();
  });

  it.each([
    ['SELECT * FROM kcat.secure.orders', {}],
    ['SELECT * FROM `kcat`.`secure`.`orders`', {}],
    ['SELECT * FROM secure.orders', { catalog: 'kcat' }],
    ['SELECT * FROM orders', { catalog: 'kcat', database: 'secure' }],
    ['INSERT INTO sink SELECT * FROM kcat.secure.orders', { catalog: 'other', database: 'x' }],
  ])("is a table's when %j in %j names the table in its database", (sql, current) => {
    expect(catalogs(TABLE).problemFor([sql], current)).toBe(TABLE.message);
  });

  it.each([
    ['a table the statement does not name', 'SELECT * FROM kcat.secure.customers', {}],
    ['the table named in a catalog neither named nor current', 'SELECT * FROM orders', {}],
    ['the table named in another catalog', 'SELECT * FROM other.secure.orders', {}],
    ['the table named in a database neither named nor current', 'SELECT * FROM kcat.main.orders', {}],
    ['the table named in another current database', 'SELECT * FROM orders', { catalog: 'kcat', database: 'main' }],
    ['nothing at all', 'SELECT 1', { catalog: 'kcat', database: 'secure' }],
  ])("is not a table's for %s", (_what, sql, current) => {
    expect(catalogs(TABLE).problemFor([sql], current)).toBeUndefined();
  });

  it.each([
    ['SHOW TABLES', { catalog: 'kcat', database: 'secure' }],
    ['SHOW TABLES IN secure', { catalog: 'kcat' }],
    ['SELECT * FROM kcat.secure.anything', {}],
  ])("is a database's when %j in %j names the database or it is current", (sql, current) => {
    expect(catalogs(DATABASE).problemFor([sql], current)).toBe(DATABASE.message);
  });

  it.each([
    ['another database', 'SELECT * FROM kcat.main.t', {}],
    ['another current database', 'SHOW TABLES', { catalog: 'kcat', database: 'main' }],
    ['the database named in a catalog neither named nor current', 'SHOW TABLES IN secure', {}],
  ])("is not a database's for %s", (_what, sql, current) => {
    expect(catalogs(DATABASE).problemFor([sql], current)).toBeUndefined();
  });

  it.each([
    ['SHOW DATABASES', { catalog: 'kcat' }],
    ['SHOW DATABASES IN kcat', {}],
    ['SELECT * FROM kcat.main.t', {}],
  ])("is a catalog's when %j in %j names the catalog or it is current", (sql, current) => {
    expect(catalogs(CATALOG).problemFor([sql], current)).toBe(CATALOG.message);
  });

  it("is not a catalog's when another catalog is current and the statement does not name it", () => {
    expect(catalogs(CATALOG).problemFor(['SHOW DATABASES'], { catalog: 'other' })).toBeUndefined();
    expect(catalogs(CATALOG).problemFor(['SELECT 1'], {})).toBeUndefined();
  });

  it('counts the names of every text the session runs, such as environment catalog entries', () => {
    expect(catalogs(TABLE).problemFor(['SELECT * FROM v', 'CREATE VIEW v AS SELECT * FROM kcat.secure.orders'], {})).toBe(TABLE.message);
  });

  it('says every problem that applies, in order, and only those', () => {
    const other: CatalogProblem = { catalog: 'other', message: "Kafka catalog 'other': down" };
    expect(catalogs(CATALOG, other, DATABASE, TABLE).problemFor(['SELECT * FROM kcat.secure.orders'], {})).toBe(`${CATALOG.message}; ${DATABASE.message}; ${TABLE.message}`);
  });

  it('masks secret values in what it says', () => {
    const problem: CatalogProblem = { catalog: 'kcat', database: 'secure', message: `Kafka catalog 'kcat' database 'secure': bad config ${JAAS}, user alice-user` };
    const redactor = Redactor.of({ 'kafka-creds': { 'sasl.jaas.config': JAAS } });
    const said = new SessionCatalogs([], [problem], redactor).problemFor(['SHOW TABLES'], { catalog: 'kcat', database: 'secure' });
    expect(said).toBe("Kafka catalog 'kcat' database 'secure': bad config ****, user ****");
  });
});

describe('the problem a statement runs into in a Kafka catalog made current without a database', () => {
  const visible = (database: string) => ({ catalog: 'kcat', database, kafka: {}, registry: {}, ddlEnvironments: [] });
  // kcat's databases as the environment sees them: `main` first, so Flink's default there
  const inMain = (...problems: CatalogProblem[]) => new SessionCatalogs([], problems, new Redactor([]), [visible('main'), visible('secure')]);
  const orders: CatalogProblem = { catalog: 'kcat', database: 'main', table: 'orders', message: 'orders cannot be shown' };
  const main: CatalogProblem = { catalog: 'kcat', database: 'main', message: 'main cannot be listed' };

  it("is the default database's: the session is in it", () => {
    expect(inMain(orders).problemFor(['SELECT * FROM orders'], { catalog: 'kcat' })).toBe('orders cannot be shown');
    expect(inMain(main).problemFor(['SHOW TABLES'], { catalog: 'kcat' })).toBe('main cannot be listed');
  });

  it('is not the other databases', () => {
    const secure: CatalogProblem = { catalog: 'kcat', database: 'secure', message: 'secure cannot be listed' };
    expect(inMain(secure).problemFor(['SHOW TABLES'], { catalog: 'kcat' })).toBeUndefined();
  });
});

describe('masking values with a colon', () => {
  it('masks only the whole value where it is not basic auth user info', () => {
    const redactor = Redactor.of({ kafka: { 'bootstrap.servers': 'broker.internal:9092' } });
    expect(redactor.redact('broker.internal:9092 and port 9092')).toBe('**** and port 9092');
  });
});

describe('masking secret values as Flink and clients write them', () => {
  it("masks a value with its single quotes doubled, as Flink's SHOW CREATE TABLE writes it", () => {
    const jaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="pa'ss-w0rd";`;
    const redactor = Redactor.of({ creds: { 'sasl.jaas.config': jaas } });
    const shown = `'properties.sasl.jaas.config' = '${jaas.replace('org.apache.kafka', 'org.apache.flink.kafka.shaded.org.apache.kafka').replace(/'/g, "''")}'`;
    expect(redactor.redact(shown)).toBe("'properties.sasl.jaas.config' = '****'");
    expect(redactor.redact("password pa''ss-w0rd and pa'ss-w0rd")).toBe('password **** and ****');
  });

  it("masks a URL's user info and the URL as clients print it", () => {
    const redactor = Redactor.of({ sr: { 'schema.registry.url': 'https://sr-user:S3cretPass@host:8081/' } });
    expect(redactor.redact('at https://sr-user:S3cretPass@host:8081 (x); S3cretPass')).toBe('at **** (x); ****');
  });

  it('masks setting words only where they stand alone, so that other words stay readable', () => {
    const redactor = Redactor.of({ kafka: { 'sasl.mechanism': 'PLAIN', 'security.protocol': 'SASL_SSL' } });
    expect(redactor.redact('EXPLAIN uses PLAIN over SASL_SSL, not SASL_PLAINTEXT')).toBe('EXPLAIN uses **** over ****, not SASL_PLAINTEXT');
  });
});
