import { API_VERSION, kafkaCatalog } from '../support/fixtures.js';
import { startApi, type TestApi } from '../support/api.js';

const CATALOGS = '/cmf/api/v1/catalogs/kafka';
const databases = (cat: string) => `${CATALOGS}/${cat}/databases`;
let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => api.close());

/** A 2.0 catalog listing the given databases (each a Kafka cluster named after it). */
function catalog20(name: string, dbs: string[], srUrl = 'http://schemaregistry:8081') {
  return {
    apiVersion: API_VERSION,
    kind: 'KafkaCatalog',
    metadata: { name },
    spec: {
      srInstance: { connectionConfig: { 'schema.registry.url': srUrl } },
      kafkaClusters: dbs.map((db) => ({ databaseName: db, connectionConfig: { 'bootstrap.servers': `${db}:9092` } as Record<string, string> })),
    },
  };
}

/** Every catalog and database row, to prove a refused request wrote nothing. */
async function rows(): Promise<string> {
  const [catalogs, dbs] = await Promise.all([
    api.prisma.kafkaCatalog.findMany({ orderBy: { id: 'asc' } }),
    api.prisma.kafkaDatabase.findMany({ orderBy: { id: 'asc' } }),
  ]);
  return JSON.stringify({ catalogs, dbs });
}

const names = async (cat: string): Promise<string[]> => (await api.get(`${CATALOGS}/${cat}`)).body.spec.kafkaClusters.map((k: any) => k.databaseName);

describe('kafka catalogs', () => {
  it('creates a catalog with 200 and reads it back', async () => {
    const res = await api.post(CATALOGS, kafkaCatalog('kafka-cat'), { yaml: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'KafkaCatalog', metadata: { name: 'kafka-cat' }, spec: kafkaCatalog().spec });
    const got = await api.get(`${CATALOGS}/kafka-cat`);
    expect(got.body).toEqual(res.body);
    expect((await api.get(CATALOGS)).body.items).toHaveLength(1);
  });

  it('answers 409 for a duplicate, 404 for a missing catalog', async () => {
    expect((await api.post(CATALOGS, kafkaCatalog('kafka-cat'))).status).toBe(409);
    expect((await api.get(`${CATALOGS}/missing-cat`)).status).toBe(404);
    expect((await api.delete(`${CATALOGS}/missing-cat`)).status).toBe(404);
  });

  it('answers 422 for a database listed twice, storing nothing', async () => {
    const cat = kafkaCatalog('twice-cat');
    cat.spec.kafkaClusters.push({ ...cat.spec.kafkaClusters[0]! });
    const res = await api.post(CATALOGS, cat);
    expect(res.status).toBe(422);
    expect(res.body.errors[0].message).toMatch(/kafka-1/);
    expect((await api.get(`${CATALOGS}/twice-cat`)).status).toBe(404);
  });

  it('answers 400 naming a missing required field', async () => {
    const cat = kafkaCatalog('no-sr-cat') as any;
    delete cat.spec.srInstance;
    const res = await api.post(CATALOGS, cat);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toBe('spec.srInstance is required');
  });

  it('deletes a catalog with 204', async () => {
    expect((await api.delete(`${CATALOGS}/kafka-cat`)).status).toBe(204);
    expect((await api.get(`${CATALOGS}/kafka-cat`)).status).toBe(404);
  });
});

describe('the CMF 2.0 flow over databases', () => {
  it("a 2.0 catalog's kafkaClusters become its databases, and read back as posted", async () => {
    const posted = catalog20('cat-twenty', ['main-kafka', 'aux-kafka']);
    posted.spec.kafkaClusters[0]!.connectionConfig = { 'security.protocol': 'SSL', 'bootstrap.servers': 'main:9093' };
    (posted.spec.kafkaClusters[0] as any).connectionSecretId = 'main-conn';
    const res = await api.post(CATALOGS, posted);
    expect(res.status).toBe(200);
    // by database name, each entry as written (connectionConfig keys in their order)
    expect(res.body.spec).toEqual({ srInstance: posted.spec.srInstance, kafkaClusters: [posted.spec.kafkaClusters[1], posted.spec.kafkaClusters[0]] });
    expect(JSON.stringify(res.body.spec.kafkaClusters[1].connectionConfig)).toBe('{"security.protocol":"SSL","bootstrap.servers":"main:9093"}');
    expect((await api.get(`${CATALOGS}/cat-twenty`)).body).toEqual(res.body);
    const dbs = await api.get(databases('cat-twenty'));
    expect(dbs.body.items.map((d: any) => [d.metadata.name, d.spec])).toEqual([
      ['aux-kafka', { kafkaCluster: { connectionConfig: { 'bootstrap.servers': 'aux-kafka:9092' } } }],
      ['main-kafka', { kafkaCluster: { connectionConfig: posted.spec.kafkaClusters[0]!.connectionConfig, connectionSecretId: 'main-conn' } }],
    ]);
    const stored = await api.prisma.kafkaCatalog.findUniqueOrThrow({ where: { name: 'cat-twenty' } });
    expect(stored.spec).toEqual({ srInstance: posted.spec.srInstance });
  });

  it('DELETE of a 2.0 catalog is 204 and takes its databases with it', async () => {
    const uid = (await api.get(`${CATALOGS}/cat-twenty`)).body.metadata.uid;
    expect((await api.delete(`${CATALOGS}/cat-twenty`)).status).toBe(204);
    expect((await api.get(`${CATALOGS}/cat-twenty`)).status).toBe(404);
    expect((await api.get(databases('cat-twenty'))).status).toBe(404);
    expect(await api.prisma.kafkaDatabase.count({ where: { catalogId: uid } })).toBe(0);
  });

  it('an empty kafkaClusters makes no databases and reads back empty', async () => {
    const res = await api.post(CATALOGS, catalog20('cat-empty', []));
    expect(res.status).toBe(200);
    expect(res.body.spec.kafkaClusters).toEqual([]);
    expect((await api.delete(`${CATALOGS}/cat-empty`)).status).toBe(204);
  });

  it('a 2.0 catalog that gained a database through /databases cannot be deleted until that database goes', async () => {
    await api.post(CATALOGS, catalog20('cat-mixed', ['from-catalog']));
    const db = { apiVersion: API_VERSION, kind: 'KafkaDatabase', metadata: { name: 'from-api' }, spec: { kafkaCluster: { connectionConfig: { 'bootstrap.servers': 'api:9092' } } } };
    expect((await api.post(databases('cat-mixed'), db)).status).toBe(200);
    expect(await names('cat-mixed')).toEqual(['from-api', 'from-catalog']);
    const refused = await api.delete(`${CATALOGS}/cat-mixed`);
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0].message).toBe("Kafka catalog 'cat-mixed' contains databases and cannot be deleted: from-api");
    expect(await names('cat-mixed')).toEqual(['from-api', 'from-catalog']);
    expect((await api.delete(`${databases('cat-mixed')}/from-api`)).status).toBe(204);
    expect((await api.delete(`${CATALOGS}/cat-mixed`)).status).toBe(204);
  });
});

describe('updating a catalog (CMF 2.1 PUT)', () => {
  beforeAll(async () => {
    await api.post(CATALOGS, catalog20('cat-put', ['kafka-one', 'kafka-two']));
    const db = { apiVersion: API_VERSION, kind: 'KafkaDatabase', metadata: { name: 'api-db' }, spec: { kafkaCluster: { connectionConfig: { 'bootstrap.servers': 'api:9092' } } } };
    await api.post(databases('cat-put'), db);
  });

  it('PUT answers 200 with no body (as the contract defines) and changes srInstance, labels and kafkaClusters', async () => {
    // a database of the catalog's list given ddlEnvironments through /databases keeps them
    const one = (await api.get(`${databases('cat-put')}/kafka-one`)).body;
    expect((await api.put(`${databases('cat-put')}/kafka-one`, { ...one, spec: { ...one.spec, ddlEnvironments: ['env-ddl'] } })).status).toBe(200);
    const body = catalog20('cat-put', ['kafka-one', 'kafka-three'], 'http://new-registry:8081');
    body.spec.kafkaClusters[0]!.connectionConfig = { 'bootstrap.servers': 'moved:9092' };
    (body.metadata as any).labels = { tier: 'gold' };
    const res = await api.put(`${CATALOGS}/cat-put`, body, { yaml: true });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const got = (await api.get(`${CATALOGS}/cat-put`)).body;
    expect(got.metadata.labels).toEqual({ tier: 'gold' });
    expect(got.spec).toEqual({
      srInstance: { connectionConfig: { 'schema.registry.url': 'http://new-registry:8081' } },
      kafkaClusters: [
        { databaseName: 'api-db', connectionConfig: { 'bootstrap.servers': 'api:9092' } },
        { databaseName: 'kafka-one', connectionConfig: { 'bootstrap.servers': 'moved:9092' } },
        { databaseName: 'kafka-three', connectionConfig: { 'bootstrap.servers': 'kafka-three:9092' } },
      ],
    });
    expect((await api.get(`${databases('cat-put')}/kafka-two`)).status).toBe(404);
    const moved = (await api.get(`${databases('cat-put')}/kafka-one`)).body;
    expect(moved.metadata.uid).toBe(one.metadata.uid);
    expect(moved.spec).toEqual({ kafkaCluster: { connectionConfig: { 'bootstrap.servers': 'moved:9092' } }, ddlEnvironments: ['env-ddl'] });
  });

  it('repeating a PUT changes no database', async () => {
    const before = (await api.get(databases('cat-put'))).body.items;
    const body = catalog20('cat-put', ['kafka-one', 'kafka-three'], 'http://new-registry:8081');
    body.spec.kafkaClusters[0]!.connectionConfig = { 'bootstrap.servers': 'moved:9092' };
    expect((await api.put(`${CATALOGS}/cat-put`, body)).status).toBe(200);
    expect((await api.get(databases('cat-put'))).body.items).toEqual(before);
  });

  it('a PUT without kafkaClusters leaves the databases alone', async () => {
    const before = (await api.get(databases('cat-put'))).body.items;
    const body: any = catalog20('cat-put', [], 'http://third-registry:8081');
    delete body.spec.kafkaClusters;
    expect((await api.put(`${CATALOGS}/cat-put`, body)).status).toBe(200);
    const got = (await api.get(`${CATALOGS}/cat-put`)).body;
    expect(got.spec.srInstance.connectionConfig['schema.registry.url']).toBe('http://third-registry:8081');
    expect(got.spec.kafkaClusters.map((k: any) => k.databaseName)).toEqual(['api-db', 'kafka-one', 'kafka-three']);
    expect((await api.get(databases('cat-put'))).body.items).toEqual(before);
  });

  it('an empty kafkaClusters removes the databases of the list and keeps those made through /databases', async () => {
    expect((await api.put(`${CATALOGS}/cat-put`, catalog20('cat-put', []))).status).toBe(200);
    expect(await names('cat-put')).toEqual(['api-db']);
  });

  it('a kafkaClusters entry naming a database made through /databases is 409 and changes nothing', async () => {
    const before = await rows();
    const res = await api.put(`${CATALOGS}/cat-put`, catalog20('cat-put', ['kafka-four', 'api-db']));
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toMatch(/^Kafka database 'api-db' of catalog 'cat-put' was created through its databases API; spec\.kafkaClusters cannot replace it/);
    expect(await rows()).toBe(before);
  });

  it('a catalog read with GET and PUT back unchanged is 200 and changes nothing, databases made through /databases included', async () => {
    const got = (await api.get(`${CATALOGS}/cat-put`)).body;
    expect(got.spec.kafkaClusters.map((k: any) => k.databaseName)).toContain('api-db');
    const before = await rows();
    expect((await api.put(`${CATALOGS}/cat-put`, { apiVersion: got.apiVersion, kind: got.kind, metadata: { name: got.metadata.name }, spec: got.spec })).status).toBe(200);
    expect(await rows()).toBe(before);
  });

  it('PUT whose metadata.name disagrees with the path is 422, and of a missing catalog 404; neither changes anything', async () => {
    const before = await rows();
    const mismatch = await api.put(`${CATALOGS}/cat-put`, catalog20('other-cat', ['kafka-five']));
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.errors[0].message).toBe("metadata.name 'other-cat' does not match the catalog 'cat-put' in the path");
    const missing = await api.put(`${CATALOGS}/missing-cat`, catalog20('missing-cat', ['kafka-five']));
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0].message).toBe("Kafka catalog 'missing-cat' not found");
    expect((await api.get(`${CATALOGS}/missing-cat`)).status).toBe(404);
    expect(await rows()).toBe(before);
  });

  it.each<[string, (body: any) => void, number, string]>([
    ['no srInstance', (b) => delete b.spec.srInstance, 400, 'spec.srInstance is required'],
    ['kafkaClusters an object', (b) => (b.spec.kafkaClusters = { databaseName: 'x' }), 400, 'spec.kafkaClusters must be array'],
    ['an entry without databaseName', (b) => delete b.spec.kafkaClusters[0].databaseName, 400, 'spec.kafkaClusters.0.databaseName is required'],
    ['kind KafkaDatabase', (b) => (b.kind = 'KafkaDatabase'), 400, "kind must be 'KafkaCatalog'"],
    ['a database listed twice', (b) => b.spec.kafkaClusters.push(b.spec.kafkaClusters[0]), 422, "spec.kafkaClusters lists database 'kafka-six' more than once"],
  ])('PUT with %s is %i and changes nothing', async (_what, spoil, status, message) => {
    const body = catalog20('cat-put', ['kafka-six']);
    spoil(body);
    const before = await rows();
    const res = await api.put(`${CATALOGS}/cat-put`, body);
    expect(res.status).toBe(status);
    expect(res.body.errors[0].message).toBe(message);
    expect(await rows()).toBe(before);
  });
});
