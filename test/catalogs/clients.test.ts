import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { kafkaClientConfig, KafkaClusterError } from '../../src/catalogs/kafka.js';
import { RegistryError, registryConnection, SchemaRegistryClient } from '../../src/catalogs/registry.js';

/**
 * The clients of a Kafka catalog's outside world, configured from Kafka and Confluent client
 * properties: kafkajs settings (no broker here; the integration tests use a real one), and the
 * registry client against a small in-process registry that answers as the Confluent Schema Registry
 * API reference documents (bodies, error codes, soft then permanent deletes).
 */

const JAAS = (module: string) => `${module} required username="alice" password="Alice-Passw0rd";`;
const PLAIN = 'org.apache.kafka.common.security.plain.PlainLoginModule';
const SCRAM = 'org.apache.kafka.common.security.scram.ScramLoginModule';

describe('kafkajs settings from Kafka client properties', () => {
  it('connects in plain text to every bootstrap server by default', () => {
    const config = kafkaClientConfig({ 'bootstrap.servers': ' a:9092, b:9093 ,,' });
    expect(config).toMatchObject({ clientId: 'drey', brokers: ['a:9092', 'b:9093'], ssl: false });
    expect(config.sasl).toBeUndefined();
  });

  it.each([
    ['PLAINTEXT', false],
    ['SSL', true],
    ['ssl', true],
  ])('uses TLS for security.protocol %s: %s', (protocol, ssl) => {
    const config = kafkaClientConfig({ 'bootstrap.servers': 'a:9092', 'security.protocol': protocol });
    expect(config.ssl).toBe(ssl);
    expect(config.sasl).toBeUndefined();
  });

  it.each([
    ['SASL_PLAINTEXT', 'PLAIN', 'the login module', JAAS(PLAIN), false, 'plain'],
    ['SASL_SSL', 'PLAIN', 'the login module', JAAS(PLAIN), true, 'plain'],
    ['SASL_SSL', 'SCRAM-SHA-256', 'the login module', JAAS(SCRAM), true, 'scram-sha-256'],
    ['sasl_plaintext', 'scram-sha-512', 'the login module', JAAS(SCRAM), false, 'scram-sha-512'],
    ['SASL_SSL', 'PLAIN', "the Kafka connector's shaded login module", JAAS(`org.apache.flink.kafka.shaded.${PLAIN}`), true, 'plain'],
  ])('authenticates over %s with %s and the credentials of a JAAS config naming %s', (protocol, mechanism, _module, jaas, ssl, kafkajsMechanism) => {
    const config = kafkaClientConfig({ 'bootstrap.servers': 'a:9092', 'security.protocol': protocol, 'sasl.mechanism': mechanism, 'sasl.jaas.config': jaas });
    expect(config.ssl).toBe(ssl);
    expect(config.sasl).toEqual({ mechanism: kafkajsMechanism, username: 'alice', password: 'Alice-Passw0rd' });
  });

  it('waits at most five seconds to connect, and the given time for a request', () => {
    expect(kafkaClientConfig({ 'bootstrap.servers': 'a:9092' }, 20_000)).toMatchObject({ connectionTimeout: 5_000, requestTimeout: 20_000 });
    expect(kafkaClientConfig({ 'bootstrap.servers': 'a:9092' }, 1_000)).toMatchObject({ connectionTimeout: 1_000, requestTimeout: 1_000 });
  });

  it.each([
    ['no bootstrap.servers', {}, 'its connectionConfig has no bootstrap.servers'],
    ['empty bootstrap.servers', { 'bootstrap.servers': ' , ' }, 'its connectionConfig has no bootstrap.servers'],
    ['an unknown security.protocol', { 'bootstrap.servers': 'a:9092', 'security.protocol': 'TLS' }, "security.protocol 'TLS' is not a Kafka security protocol"],
    ['SASL without a mechanism (GSSAPI)', { 'bootstrap.servers': 'a:9092', 'security.protocol': 'SASL_SSL', 'sasl.jaas.config': JAAS(PLAIN) }, 'drey lists topics with SASL PLAIN or SCRAM only, not sasl.mechanism GSSAPI'],
    ['Kerberos', { 'bootstrap.servers': 'a:9092', 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'GSSAPI', 'sasl.jaas.config': 'com.sun.security.auth.module.Krb5LoginModule required;' }, 'not sasl.mechanism GSSAPI'],
    ['OAUTHBEARER', { 'bootstrap.servers': 'a:9092', 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'OAUTHBEARER', 'sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;' }, 'not sasl.mechanism OAUTHBEARER'],
    ['SASL without a JAAS config', { 'bootstrap.servers': 'a:9092', 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN' }, 'its sasl.jaas.config names no username and password'],
    ['a JAAS config without a password', { 'bootstrap.servers': 'a:9092', 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': `${PLAIN} required username="alice";` }, 'its sasl.jaas.config names no username and password'],
  ])('refuses %s', (_what, config: Record<string, string>, why) => {
    expect(() => kafkaClientConfig(config)).toThrow(KafkaClusterError);
    expect(() => kafkaClientConfig(config)).toThrow(why);
  });
});

describe('a registry connection from Confluent client properties', () => {
  it.each([
    ['http://sr:8081', 'http://sr:8081'],
    [' http://sr:8081/ ', 'http://sr:8081'],
    ['http://apicurio:8080/apis/ccompat/v7//', 'http://apicurio:8080/apis/ccompat/v7'],
    ['http://a:8081/, http://b:8081', 'http://a:8081'],
  ])('takes %j as %j', (url, expected) => {
    expect(registryConnection({ 'schema.registry.url': url })).toEqual({ url: expected, headers: {} });
  });

  it.each([
    [{ 'basic.auth.credentials.source': 'USER_INFO', 'basic.auth.user.info': 'srkey:srsecret' }, `Basic ${Buffer.from('srkey:srsecret').toString('base64')}`],
    [{ 'schema.registry.basic.auth.user.info': 'u:p:with:colons' }, `Basic ${Buffer.from('u:p:with:colons').toString('base64')}`],
    [{ 'bearer.auth.credentials.source': 'STATIC_TOKEN', 'bearer.auth.token': 'tok-123' }, 'Bearer tok-123'],
  ])('authenticates with %j as %j', (credentials, authorization) => {
    expect(registryConnection({ 'schema.registry.url': 'http://sr:8081', ...credentials }).headers).toEqual({ authorization });
  });

  it.each([[{}], [{ 'schema.registry.url': '' }], [{ 'schema.registry.url': '  ' }], [{ 'basic.auth.user.info': 'u:p' }]])('refuses %j, which names no registry', (config: Record<string, string>) => {
    expect(() => registryConnection(config)).toThrow(RegistryError);
    expect(() => registryConnection(config)).toThrow('its connectionConfig has no schema.registry.url');
  });
});

interface Version {
  id: number;
  version: number;
  schema: string;
  schemaType: string;
}

/**
 * The Confluent Schema Registry API calls a catalog makes, answered as the API reference documents
 * them: `schemaType` left out for Avro, 40401 for an unknown subject, a soft delete before a
 * permanent one (40404, 40405), 42201 for an invalid schema, 401 without the credentials.
 */
class FakeRegistry {
  readonly subjects = new Map<string, { versions: Version[]; deleted: boolean }>();
  private nextId = 1;
  private readonly server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => this.answer(req, body, res));
  });

  constructor(private readonly authorization?: string) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      res.end(JSON.stringify(json));
    };
    const error = (status: number, code: number, message: string) => send(status, { error_code: code, message });
    if (this.authorization !== undefined && req.headers.authorization !== this.authorization) return error(401, 401, 'Unauthorized');
    const url = new URL(req.url ?? '/', 'http://registry');
    const m = /^\/subjects(?:\/([^/]+)(\/versions(?:\/latest)?)?)?$/.exec(url.pathname);
    if (!m) return error(404, 404, 'HTTP 404 Not Found');
    const name = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    const subject = name === undefined ? undefined : this.subjects.get(name);
    const notFound = () => error(404, 40401, `Subject '${name}' not found.`);
    if (req.method === 'GET' && name === undefined) return send(200, [...this.subjects].filter(([, s]) => !s.deleted).map(([n]) => n));
    if (req.method === 'GET' && m[2] === '/versions/latest') {
      const latest = subject && !subject.deleted ? subject.versions.at(-1) : undefined;
      if (!latest) return notFound();
      return send(200, { subject: name, version: latest.version, id: latest.id, ...(latest.schemaType === 'AVRO' ? {} : { schemaType: latest.schemaType }), schema: latest.schema });
    }
    if (req.method === 'POST' && m[2] === '/versions' && name !== undefined) {
      const { schema, schemaType = 'AVRO' } = JSON.parse(body) as { schema: string; schemaType?: string };
      try {
        if (schemaType === 'AVRO') JSON.parse(schema);
      } catch {
        return error(422, 42201, 'Invalid schema');
      }
      const entry = subject ?? { versions: [], deleted: false };
      this.subjects.set(name, entry);
      entry.deleted = false;
      const same = entry.versions.find((v) => v.schema === schema && v.schemaType === schemaType);
      if (same) return send(200, { id: same.id });
      const id = [...this.subjects.values()].flatMap((s) => s.versions).find((v) => v.schema === schema && v.schemaType === schemaType)?.id ?? this.nextId++;
      entry.versions.push({ id, version: (entry.versions.at(-1)?.version ?? 0) + 1, schema, schemaType });
      return send(200, { id });
    }
    if (req.method === 'DELETE' && name !== undefined && m[2] === undefined) {
      if (!subject) return notFound();
      const versions = subject.versions.map((v) => v.version);
      if (url.searchParams.get('permanent') === 'true') {
        if (!subject.deleted) return error(404, 40405, `Subject '${name}' was not deleted first before being permanently deleted`);
        this.subjects.delete(name);
        return send(200, versions);
      }
      if (subject.deleted) return error(404, 40404, `Subject '${name}' was soft deleted.Set permanent=true to delete permanently`);
      subject.deleted = true;
      return send(200, versions);
    }
    return error(405, 405, 'HTTP 405 Method Not Allowed');
  }
}

const ORDER = JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }] });
const ORDER_V2 = JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }, { name: 'note', type: ['null', 'string'], default: null }] });

describe('the schema registry client', () => {
  const registry = new FakeRegistry();
  let client: SchemaRegistryClient;
  let url: string;

  beforeAll(async () => {
    url = await registry.start();
    client = new SchemaRegistryClient(registryConnection({ 'schema.registry.url': `${url}/` }));
  });
  afterEach(() => registry.subjects.clear());
  afterAll(() => registry.stop());

  it('registers schemas as versions of a subject and reads the latest back', async () => {
    const first = await client.register('orders-value', ORDER);
    expect(await client.register('orders-value', ORDER)).toBe(first);
    const second = await client.register('orders-value', ORDER_V2);
    expect(second).not.toBe(first);
    expect(await client.latest('orders-value')).toEqual({ subject: 'orders-value', id: second, version: 2, schemaType: 'AVRO', schema: ORDER_V2, references: [] });
    expect(await client.subjects()).toEqual(['orders-value']);
  });

  it('keeps the schema type of a subject that is not Avro', async () => {
    const schema = JSON.stringify({ type: 'object', properties: { id: { type: 'integer' } } });
    await client.register('json-value', schema, 'JSON');
    expect(await client.latest('json-value')).toMatchObject({ schemaType: 'JSON', schema, version: 1 });
  });

  it('reads no latest version of a subject the registry does not have', async () => {
    expect(await client.latest('nowhere-value')).toBeNull();
  });

  it('names subjects with characters a path would otherwise split', async () => {
    await client.register('a/b c?-value', ORDER);
    expect(await client.subjects()).toEqual(['a/b c?-value']);
    expect((await client.latest('a/b c?-value'))?.schema).toBe(ORDER);
  });

  it('deletes a subject for good, soft first and then permanently', async () => {
    await client.register('orders-key', ORDER);
    await client.register('orders-value', ORDER);
    await client.deleteSubject('orders-key');
    expect([...registry.subjects.keys()]).toEqual(['orders-value']);
    expect(await client.latest('orders-key')).toBeNull();
  });

  it('takes a subject that does not exist, or is soft-deleted only, as deleted already', async () => {
    await expect(client.deleteSubject('nowhere-value')).resolves.toBeUndefined();
    await client.register('half-value', ORDER);
    registry.subjects.get('half-value')!.deleted = true;
    await client.deleteSubject('half-value');
    expect(registry.subjects.size).toBe(0);
  });

  it('says what the registry said when it refuses a schema', async () => {
    const refused = client.register('bad-value', '{not json');
    await expect(refused).rejects.toBeInstanceOf(RegistryError);
    await expect(refused).rejects.toMatchObject({
      status: 422,
      message: `the schema registry at ${url} answered POST /subjects/bad-value/versions with HTTP 422: Invalid schema`,
    });
    expect(registry.subjects.get('bad-value')).toBeUndefined();
  });
});

describe('the schema registry client with credentials', () => {
  const userInfo = 'srkey:srsecret';
  const registry = new FakeRegistry(`Basic ${Buffer.from(userInfo).toString('base64')}`);
  let url: string;

  beforeAll(async () => {
    url = await registry.start();
  });
  afterAll(() => registry.stop());

  it('is let in with basic auth user info', async () => {
    const client = new SchemaRegistryClient(registryConnection({ 'schema.registry.url': url, 'basic.auth.credentials.source': 'USER_INFO', 'basic.auth.user.info': userInfo }));
    await client.register('orders-value', ORDER);
    expect(await client.subjects()).toEqual(['orders-value']);
  });

  it.each([
    ['no credentials', {}],
    ['the wrong password', { 'basic.auth.user.info': 'srkey:wrong' }],
  ])('is refused with %s, and says so', async (_what, credentials) => {
    const client = new SchemaRegistryClient(registryConnection({ 'schema.registry.url': url, ...credentials }));
    await expect(client.subjects()).rejects.toMatchObject({ status: 401, message: `the schema registry at ${url} refused the credentials (HTTP 401: Unauthorized)` });
    await expect(client.latest('orders-value')).rejects.toThrow(RegistryError);
  });
});

describe('a schema registry that does not answer', () => {
  it('cannot be reached on a closed port', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise((resolve) => server.close(resolve));
    const client = new SchemaRegistryClient(registryConnection({ 'schema.registry.url': url }));
    await expect(client.subjects()).rejects.toMatchObject({ status: 0, message: `the schema registry at ${url} cannot be reached (ECONNREFUSED)` });
  });

  it('gives up after its timeout', async () => {
    const server = http.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new SchemaRegistryClient(registryConnection({ 'schema.registry.url': url }), 200);
      await expect(client.latest('orders-value')).rejects.toMatchObject({ status: 0, message: `the schema registry at ${url} cannot be reached (no answer within 200 ms)` });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a schema registry URL with credentials, and a server that is no registry', () => {
  it('sends the URL\'s user info as basic auth and never shows it', async () => {
    const seen: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const connection = registryConnection({ 'schema.registry.url': `http://sr-user:S3cret%40Pass@127.0.0.1:${port}/` });
      expect(connection.url).toBe(`http://127.0.0.1:${port}`);
      expect(connection.headers.authorization).toBe(`Basic ${Buffer.from('sr-user:S3cret@Pass').toString('base64')}`);
      // a login page answering 200 is a clear RegistryError, not a crash
      const failure = await new SchemaRegistryClient(connection).subjects().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(RegistryError);
      expect((failure as Error).message).toBe(`the schema registry at http://127.0.0.1:${port} answered GET /subjects with a body that is not JSON: is http://127.0.0.1:${port} its Confluent-compatible API?`);
      expect((failure as Error).message).not.toContain('S3cret');
      expect(seen[0]).toBe(connection.headers.authorization);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses JSON of the wrong shape', async () => {
    const server = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/subjects' ? '{}' : '{"id":1}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new SchemaRegistryClient(registryConnection({ 'schema.registry.url': url }));
      await expect(client.subjects()).rejects.toThrow('answered GET /subjects with a body of the wrong shape');
      await expect(client.latest('orders-value')).rejects.toThrow('answered GET /subjects/orders-value/versions/latest with a body of the wrong shape');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a PEM trust store in a Kafka connection config', () => {
  it('is the CA of the TLS connection; without one, the system CAs are', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    expect(kafkaClientConfig({ 'bootstrap.servers': 'a:9093', 'security.protocol': 'SSL', 'ssl.truststore.type': 'PEM', 'ssl.truststore.certificates': pem }).ssl).toEqual({ ca: [pem] });
    expect(kafkaClientConfig({ 'bootstrap.servers': 'a:9093', 'security.protocol': 'SSL' }).ssl).toBe(true);
    expect(kafkaClientConfig({ 'bootstrap.servers': 'a:9092', 'ssl.truststore.type': 'PEM', 'ssl.truststore.certificates': pem }).ssl).toBe(false);
  });
});
