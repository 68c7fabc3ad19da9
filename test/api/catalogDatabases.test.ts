/**
 * CMF 2.1's Kafka databases (/catalogs/kafka/{catName}/databases) and how they show in the 2.0
 * catalog. Every response is checked against the contract: 2.0 for the catalog's 2.0 operations,
 * 2.3.1 for the operations 2.1 added (test/support/contract.ts, ADOPTED_OPERATIONS).
 */
import { readFileSync } from 'node:fs';
import { API_VERSION, environment, secret, secretMapping } from '../support/fixtures.js';
import { startApi, type TestApi } from '../support/api.js';

const CATALOGS = '/cmf/api/v1/catalogs/kafka';
const ENVS = '/cmf/api/v1/environments';
const databases = (cat: string) => `${CATALOGS}/${cat}/databases`;
let api: TestApi;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => api.close());

/** A 2.1 catalog: a Schema Registry and no kafkaClusters. */
function catalog21(name: string, srSecretId?: string) {
  return {
    apiVersion: API_VERSION,
    kind: 'KafkaCatalog',
    metadata: { name },
    spec: {
      srInstance: {
        connectionConfig: { 'schema.registry.url': 'http://schemaregistry:8081' },
        ...(srSecretId ? { connectionSecretId: srSecretId } : {}),
      },
    },
  };
}

/** A KafkaDatabase as the contract's example writes it. */
function database(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: API_VERSION,
    kind: 'KafkaDatabase',
    metadata: { name, labels: { team: 'data' } },
    spec: {
      kafkaCluster: { connectionConfig: { 'bootstrap.servers': `${name}.kafka:9092`, 'security.protocol': 'PLAINTEXT' }, connectionSecretId: 'kafka-conn' },
      ddlEnvironments: ['env-ddl'],
      ...spec,
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

async function post(path: string, body: unknown) {
  const res = await api.post(path, body);
  if (res.status !== 200) throw new Error(`POST ${path} answered ${res.status}: ${res.text}`);
  return res;
}

describe('the CMF 2.1 flow', () => {
  beforeAll(async () => {
    await post(CATALOGS, catalog21('cat-two-one'));
  });

  it('a catalog made without kafkaClusters shows an empty kafkaClusters and no databases', async () => {
    const got = await api.get(`${CATALOGS}/cat-two-one`);
    expect(got.status).toBe(200);
    expect(got.body.spec).toEqual({ srInstance: catalog21('x').spec.srInstance, kafkaClusters: [] });
    const list = await api.get(databases('cat-two-one'));
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ items: [], metadata: { size: 0 } });
  });

  it('POST of a database answers 200 with it, and GET, the list and the catalog show it', async () => {
    const res = await api.post(databases('cat-two-one'), database('orders'), { yaml: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      apiVersion: API_VERSION,
      kind: 'KafkaDatabase',
      metadata: { name: 'orders', labels: { team: 'data' }, uid: expect.any(String), creationTimestamp: expect.any(String) },
      spec: database('orders').spec,
      status: { environmentsWithAccess: [] },
    });
    expect((await api.get(`${databases('cat-two-one')}/orders`)).body).toEqual(res.body);
    expect((await api.get(databases('cat-two-one'))).body.items).toEqual([res.body]);
    const cat = await api.get(`${CATALOGS}/cat-two-one`);
    expect(cat.body.spec.kafkaClusters).toEqual([
      { databaseName: 'orders', connectionConfig: database('orders').spec.kafkaCluster.connectionConfig, connectionSecretId: 'kafka-conn' },
    ]);
    expect((await api.get(CATALOGS)).body.items.find((c: any) => c.metadata.name === 'cat-two-one')).toEqual(cat.body);
  });

  it('a database whose name is taken is 409 and keeps the first', async () => {
    const before = await rows();
    const res = await api.post(databases('cat-two-one'), database('orders', { ddlEnvironments: [] }));
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toBe("Kafka database 'orders' in catalog 'cat-two-one' already exists");
    expect(await rows()).toBe(before);
  });

  it('deleting a catalog is 409 naming its databases while it has any made through /databases', async () => {
    await post(databases('cat-two-one'), database('payments'));
    const res = await api.delete(`${CATALOGS}/cat-two-one`);
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toBe("Kafka catalog 'cat-two-one' contains databases and cannot be deleted: orders, payments");
    expect((await api.get(`${CATALOGS}/cat-two-one`)).status).toBe(200);
    expect((await api.get(databases('cat-two-one'))).body.metadata.size).toBe(2);
  });

  it('DELETE of a database is 204, then 404; once the catalog has none, its DELETE is 204', async () => {
    const uid = (await api.get(`${CATALOGS}/cat-two-one`)).body.metadata.uid;
    expect((await api.delete(`${databases('cat-two-one')}/payments`)).status).toBe(204);
    expect((await api.get(`${databases('cat-two-one')}/payments`)).status).toBe(404);
    expect((await api.delete(`${databases('cat-two-one')}/payments`)).status).toBe(404);
    expect((await api.delete(`${CATALOGS}/cat-two-one`)).status).toBe(409);
    expect((await api.delete(`${databases('cat-two-one')}/orders`)).status).toBe(204);
    expect((await api.delete(`${CATALOGS}/cat-two-one`)).status).toBe(204);
    expect((await api.get(`${CATALOGS}/cat-two-one`)).status).toBe(404);
    expect(await api.prisma.kafkaDatabase.count({ where: { catalogId: uid } })).toBe(0);
  });
});

describe('updating a database', () => {
  beforeAll(async () => {
    await post(CATALOGS, catalog21('cat-update'));
    await post(databases('cat-update'), database('events'));
  });

  it('PUT replaces its spec, labels and annotations and answers 200 with no body (as the contract defines)', async () => {
    const before = (await api.get(`${databases('cat-update')}/events`)).body;
    const changed = {
      ...database('events', { kafkaCluster: { connectionConfig: { 'bootstrap.servers': 'other:9092' } }, ddlEnvironments: ['env-one', 'env-two'] }),
      metadata: { name: 'events', annotations: { owner: 'me' } },
    };
    const res = await api.put(`${databases('cat-update')}/events`, changed);
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const after = (await api.get(`${databases('cat-update')}/events`)).body;
    expect(after.spec).toEqual(changed.spec);
    expect(after.metadata).toEqual({ ...before.metadata, labels: undefined, annotations: { owner: 'me' }, updateTimestamp: expect.any(String) });
    expect(after.metadata.uid).toBe(before.metadata.uid);
  });

  it('a PUT may echo what a GET returned, status included', async () => {
    const got = (await api.get(`${databases('cat-update')}/events`)).body;
    const before = await rows();
    expect((await api.put(`${databases('cat-update')}/events`, got)).status).toBe(200);
    expect((await api.get(`${databases('cat-update')}/events`)).body.spec).toEqual(got.spec);
    // what is stored, PUT again (a GitOps re-apply), writes nothing
    expect(await rows()).toBe(before);
  });

  it('PUT of a missing database or of a database of a missing catalog is 404', async () => {
    const before = await rows();
    const res = await api.put(`${databases('cat-update')}/missing-db`, database('missing-db'));
    expect(res.status).toBe(404);
    expect(res.body.errors[0].message).toBe("Kafka database 'missing-db' not found in catalog 'cat-update'");
    expect((await api.put(`${databases('missing-cat')}/events`, database('events'))).status).toBe(404);
    expect(await rows()).toBe(before);
  });

  it('a database a 2.0 catalog named outside the rules for names can be read, changed and deleted through /databases', async () => {
    const cat = { ...catalog21('cat-odd-names'), spec: { ...catalog21('x').spec, kafkaClusters: [{ databaseName: 'DB_1', connectionConfig: {} }] } };
    await post(CATALOGS, cat);
    const got = await api.get(`${databases('cat-odd-names')}/DB_1`);
    expect(got.status).toBe(200);
    expect((await api.put(`${databases('cat-odd-names')}/DB_1`, { ...got.body, spec: { ...got.body.spec, ddlEnvironments: ['env-one'] } })).status).toBe(200);
    expect((await api.get(`${databases('cat-odd-names')}/DB_1`)).body.spec.ddlEnvironments).toEqual(['env-one']);
    expect((await api.post(databases('cat-odd-names'), database('DB_2'))).status).toBe(400);
    expect((await api.delete(`${databases('cat-odd-names')}/DB_1`)).status).toBe(204);
    expect((await api.delete(`${CATALOGS}/cat-odd-names`)).status).toBe(204);
  });

  it('PUT whose metadata.name disagrees with the path is 422 and changes nothing', async () => {
    const before = await rows();
    const res = await api.put(`${databases('cat-update')}/events`, database('renamed'));
    expect(res.status).toBe(422);
    expect(res.body.errors[0].message).toBe("metadata.name 'renamed' does not match the database 'events' in the path");
    expect((await api.put(`${databases('cat-update')}/events`, database('Not_A_Name'))).status).toBe(422);
    expect(await rows()).toBe(before);
  });
});

describe('bad database bodies', () => {
  beforeAll(async () => {
    await post(CATALOGS, catalog21('cat-bad'));
    await post(databases('cat-bad'), database('kept'));
  });

  const bad: [string, (body: any) => void, number, string][] = [
    ['no spec', (b) => delete b.spec, 400, 'spec is required'],
    ['no kafkaCluster', (b) => delete b.spec.kafkaCluster, 400, 'spec.kafkaCluster is required'],
    ['no connectionConfig', (b) => delete b.spec.kafkaCluster.connectionConfig, 400, 'spec.kafkaCluster.connectionConfig is required'],
    ['a connectionConfig value that is a number', (b) => (b.spec.kafkaCluster.connectionConfig['linger.ms'] = 5), 400, "spec.kafkaCluster.connectionConfig.linger.ms must be string"],
    ['a connectionSecretId that is a number', (b) => (b.spec.kafkaCluster.connectionSecretId = 7), 400, 'spec.kafkaCluster.connectionSecretId must be string'],
    ['ddlEnvironments a string', (b) => (b.spec.ddlEnvironments = 'env-one'), 400, 'spec.ddlEnvironments must be array'],
    ['an environment name that is not a name', (b) => (b.spec.ddlEnvironments = ['Not A Name']), 400, 'spec.ddlEnvironments.0 must match'],
    ['kind KafkaCatalog', (b) => (b.kind = 'KafkaCatalog'), 400, "kind must be 'KafkaDatabase'"],
    ['a name that is not a name', (b) => (b.metadata.name = 'UPPER_case'), 400, 'metadata.name must match'],
    ['an environment listed twice', (b) => (b.spec.ddlEnvironments = ['env-one', 'env-one']), 422, "spec.ddlEnvironments lists environment 'env-one' more than once"],
  ];

  it.each(bad)('POST with %s is %i and stores nothing', async (_what, spoil, status, message) => {
    const body: any = database('kept');
    body.metadata.name = 'fresh-db';
    spoil(body);
    const before = await rows();
    const res = await api.post(databases('cat-bad'), body);
    expect(res.status).toBe(status);
    expect(res.body.errors[0].message).toContain(message);
    expect(await rows()).toBe(before);
  });

  it.each(bad.filter(([what]) => what !== 'a name that is not a name'))('PUT with %s is %i and changes nothing', async (_what, spoil, status, message) => {
    const body: any = database('kept');
    spoil(body);
    const before = await rows();
    const res = await api.put(`${databases('cat-bad')}/kept`, body);
    expect(res.status).toBe(status);
    expect(res.body.errors[0].message).toContain(message);
    expect(await rows()).toBe(before);
  });

  it('a missing catalog is 404 for every database operation, and nothing is stored', async () => {
    const before = await rows();
    const db = `${databases('missing-cat')}/kept`;
    for (const res of [
      await api.get(databases('missing-cat')),
      await api.post(databases('missing-cat'), database('kept')),
      await api.get(db),
      await api.put(db, database('kept')),
      await api.delete(db),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.errors[0].message).toBe("Kafka catalog 'missing-cat' not found");
    }
    expect(await rows()).toBe(before);
  });
});

describe('listing databases', () => {
  beforeAll(async () => {
    await post(CATALOGS, catalog21('cat-pages'));
    for (const name of ['db-bbbb', 'db-aaaa', 'db-cccc']) await post(databases('cat-pages'), database(name));
  });

  it('pages in creation order by default, and sorts by name on request', async () => {
    const first = await api.get(`${databases('cat-pages')}?size=2`);
    expect(first.body.items.map((d: any) => d.metadata.name)).toEqual(['db-bbbb', 'db-aaaa']);
    expect(first.body.metadata.size).toBe(3);
    const second = await api.get(`${databases('cat-pages')}?size=2&page=1`);
    expect(second.body.items.map((d: any) => d.metadata.name)).toEqual(['db-cccc']);
    const sorted = await api.get(`${databases('cat-pages')}?sort=name,desc`);
    expect(sorted.body.items.map((d: any) => d.metadata.name)).toEqual(['db-cccc', 'db-bbbb', 'db-aaaa']);
  });

  it('the catalog derives kafkaClusters from its databases by name', async () => {
    const cat = await api.get(`${CATALOGS}/cat-pages`);
    expect(cat.body.spec.kafkaClusters.map((k: any) => k.databaseName)).toEqual(['db-aaaa', 'db-bbbb', 'db-cccc']);
  });

  it('a bad page, size or sort is 400', async () => {
    for (const query of ['size=0', 'page=-1', 'sort=nope']) {
      expect((await api.get(`${databases('cat-pages')}?${query}`)).status).toBe(400);
    }
  });
});

describe('status.environmentsWithAccess', () => {
  const SR = 'sr-conn';
  const KAFKA = 'kafka-conn';
  const envsOf = async (path: string): Promise<string[]> => (await api.get(path)).body.status.environmentsWithAccess;

  beforeAll(async () => {
    await post('/cmf/api/v1/secrets', secret('conn-creds'));
    for (const env of ['env-none', 'env-sr', 'env-both']) {
      const res = await api.post(ENVS, environment(env, `ns-${env}`));
      if (res.status !== 201) throw new Error(`POST ${env}: ${res.status} ${res.text}`);
    }
    await post(`${ENVS}/env-sr/secret-mappings`, secretMapping(SR, 'conn-creds'));
    await post(`${ENVS}/env-both/secret-mappings`, secretMapping(SR, 'conn-creds'));
    await post(`${ENVS}/env-both/secret-mappings`, secretMapping(KAFKA, 'conn-creds'));
    await post(CATALOGS, catalog21('cat-secured', SR));
    await post(databases('cat-secured'), database('db-secured'));
    await post(databases('cat-secured'), database('db-open', { kafkaCluster: { connectionConfig: { 'bootstrap.servers': 'open:9092' } } }));
    await post(CATALOGS, catalog21('cat-open'));
    await post(databases('cat-open'), database('db-secured'));
  });

  it('a catalog is accessible where its srInstance secret id is mapped, or everywhere without one', async () => {
    expect(await envsOf(`${CATALOGS}/cat-secured`)).toEqual(['env-both', 'env-sr']);
    expect(await envsOf(`${CATALOGS}/cat-open`)).toEqual(['env-both', 'env-none', 'env-sr']);
    const list = await api.get(CATALOGS);
    expect(list.body.items.find((c: any) => c.metadata.name === 'cat-secured').status.environmentsWithAccess).toEqual(['env-both', 'env-sr']);
  });

  it('a database is accessible where its catalog is and its kafkaCluster secret id is mapped', async () => {
    expect(await envsOf(`${databases('cat-secured')}/db-secured`)).toEqual(['env-both']);
    expect(await envsOf(`${databases('cat-secured')}/db-open`)).toEqual(['env-both', 'env-sr']);
    expect(await envsOf(`${databases('cat-open')}/db-secured`)).toEqual(['env-both']);
    const list = await api.get(databases('cat-secured'));
    expect(list.body.items.map((d: any) => d.status.environmentsWithAccess)).toEqual([['env-both'], ['env-both', 'env-sr']]);
  });

  it('follows secret mappings as they are added and deleted', async () => {
    await post(`${ENVS}/env-sr/secret-mappings`, secretMapping(KAFKA, 'conn-creds'));
    expect(await envsOf(`${databases('cat-secured')}/db-secured`)).toEqual(['env-both', 'env-sr']);
    expect(await envsOf(`${databases('cat-open')}/db-secured`)).toEqual(['env-both', 'env-sr']);
    expect((await api.delete(`${ENVS}/env-both/secret-mappings/${SR}`)).status).toBe(204);
    expect(await envsOf(`${CATALOGS}/cat-secured`)).toEqual(['env-sr']);
    expect(await envsOf(`${databases('cat-secured')}/db-secured`)).toEqual(['env-sr']);
    expect(await envsOf(`${databases('cat-open')}/db-secured`)).toEqual(['env-both', 'env-sr']);
  });
});

describe('the examples', () => {
  const example = (file: string) => readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8');

  it('examples/kafka-catalog.yaml (2.0) and examples/kafka-database.yaml (2.1) post as their curl lines do', async () => {
    const headers = { 'content-type': 'application/yaml' };
    const cat = await api.request('POST', CATALOGS, example('kafka-catalog.yaml'), { headers });
    expect(cat.status).toBe(200);
    const db = await api.request('POST', databases('kafka-cat'), example('kafka-database.yaml'), { headers });
    expect(db.status).toBe(200);
    expect(db.body).toMatchObject({ kind: 'KafkaDatabase', metadata: { name: 'audit-kafka' }, spec: { ddlEnvironments: ['test'] } });
    expect((await api.get(`${CATALOGS}/kafka-cat`)).body.spec.kafkaClusters.map((k: any) => k.databaseName)).toEqual(['audit-kafka', 'main-kafka']);
  });
});
