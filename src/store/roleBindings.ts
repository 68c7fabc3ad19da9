import type { PrismaClient, RoleBinding as RoleBindingRow } from '../generated/prisma/client.js';
import type { Kind } from '../security/resources.js';
import type { PatternType, Role, RoleBinding, Scope } from '../security/roles.js';
import type { Subject } from '../security/principal.js';
import { translate } from './errors.js';

/** A stored role binding: the binding itself and who made it when. */
export interface StoredRoleBinding extends RoleBinding {
  id: string;
  createdBy: string;
  createdAt: Date;
}

function fromRow(row: RoleBindingRow): StoredRoleBinding {
  return {
    id: row.id,
    subject: row.subject as Subject,
    role: row.role as Role,
    scope: row.scope as Scope,
    ...(row.resourceKind ? { resource: { kind: row.resourceKind as Kind, pattern: row.patternType as PatternType, name: row.resourceName } } : {}),
    createdBy: row.createdBy,
    createdAt: row.createdAt,
  };
}

/** What a binding is called in messages: `User:alice as DeveloperRead on FlinkApplication:app- (PREFIXED) in env:prod`. */
export function describeBinding(b: RoleBinding): string {
  const on = b.resource ? ` on ${b.resource.kind}:${b.resource.name}${b.resource.pattern === 'PREFIXED' ? ' (PREFIXED)' : ''}` : '';
  return `${b.subject} as ${b.role}${on} in ${b.scope}`;
}

/** Store operations on role bindings. There are few: every replica reads them all. */
export function roleBindingStore(db: PrismaClient) {
  return {
    async all(): Promise<StoredRoleBinding[]> {
      return (await db.roleBinding.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })).map(fromRow);
    },

    /** Whether any binding names `subject`. */
    async boundSubject(subject: string): Promise<boolean> {
      return (await db.roleBinding.count({ where: { subject }, take: 1 })) > 0;
    },

    async get(id: string): Promise<StoredRoleBinding | null> {
      const row = await db.roleBinding.findUnique({ where: { id } });
      return row && fromRow(row);
    },

    async create(b: StoredRoleBinding): Promise<StoredRoleBinding> {
      const row = await translate(`Role binding of ${describeBinding(b)}`, () =>
        db.roleBinding.create({
          data: {
            id: b.id,
            subject: b.subject,
            role: b.role,
            scope: b.scope,
            resourceKind: b.resource?.kind ?? '',
            patternType: b.resource?.pattern ?? '',
            resourceName: b.resource?.name ?? '',
            createdBy: b.createdBy,
            createdAt: b.createdAt,
          },
        }),
      );
      return fromRow(row);
    },

    /** Deletes a binding; false when it was gone already. */
    async delete(id: string): Promise<boolean> {
      return (await db.roleBinding.deleteMany({ where: { id } })).count > 0;
    },
  };
}
