/**
 * Every replica decides from role bindings held in memory: a binding made or deleted through one
 * replica holds there at once, and on the others as soon as the database's notification arrives.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createLogger } from '../../src/log.js';
import { Authorizer } from '../../src/security/authorizer.js';
import { RoleBindingSnapshot } from '../../src/security/bindings.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/client.js';
import { createStore, type Store } from '../../src/store/index.js';
import { freshDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';

const alice = { user: 'alice', groups: [] };
const app = { kind: 'FlinkApplication', environment: 'prod', name: 'orders' } as const;

interface Replica {
  prisma: PrismaClient;
  store: Store;
  authorizer: Authorizer;
  snapshot: RoleBindingSnapshot;
}
const replicas: Replica[] = [];

beforeAll(async () => {
  const url = await freshDatabase();
  for (let i = 0; i < 2; i++) {
    const prisma = createPrismaClient(url);
    const store = createStore(prisma);
    const authorizer = new Authorizer({ load: () => store.roleBindings.all() });
    const snapshot = new RoleBindingSnapshot({ authorizer, log: createLogger('error') });
    await snapshot.start(url);
    replicas.push({ prisma, store, authorizer, snapshot });
  }
});
afterAll(async () => {
  for (const r of replicas) {
    await r.snapshot.stop();
    await r.prisma.$disconnect();
  }
});

it('a binding written through one replica holds there at once and on the other after its notification', async () => {
  const [one, two] = replicas as [Replica, Replica];
  expect([one.authorizer.can(alice, 'view', app), two.authorizer.can(alice, 'view', app)]).toEqual([false, false]);
  const id = randomUUID();
  await one.store.roleBindings.create({ id, subject: 'User:alice', role: 'DeveloperRead', scope: 'env:prod', resource: { kind: 'FlinkApplication', pattern: 'LITERAL', name: 'orders' }, createdBy: 'User:test', createdAt: new Date() });
  await one.authorizer.refresh();
  expect(one.authorizer.can(alice, 'view', app)).toBe(true);
  await eventually('the other replica to hear of the binding', () => two.authorizer.can(alice, 'view', app));

  await two.store.roleBindings.delete(id);
  await two.authorizer.refresh();
  expect(two.authorizer.can(alice, 'view', app)).toBe(false);
  await eventually('the first replica to hear of the deletion', () => !one.authorizer.can(alice, 'view', app));
});

it('reads that overlap end with the newest bindings: a refresh asked for during a read gets a read of its own', async () => {
  const [one] = replicas as [Replica];
  const reads = [one.authorizer.refresh()];
  const id = randomUUID();
  await one.store.roleBindings.create({ id, subject: 'User:alice', role: 'ClusterAdmin', scope: 'env:prod', createdBy: 'User:test', createdAt: new Date() });
  reads.push(one.authorizer.refresh());
  await Promise.all(reads);
  expect(one.authorizer.can(alice, 'delete', app)).toBe(true);
  await one.store.roleBindings.delete(id);
});
