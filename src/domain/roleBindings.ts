import { randomUUID } from 'node:crypto';
import type { Authorizer } from '../security/authorizer.js';
import type { Principal, Subject } from '../security/principal.js';
import { isEnvironmentKind } from '../security/resources.js';
import { isClusterRole, type RoleBinding, type Scope } from '../security/roles.js';
import { roleBindingSchema, type RoleBindingBody } from '../schemas/roleBinding.js';
import { compileValidator } from '../schemas/validate.js';
import type { Store } from '../store/index.js';
import { describeBinding, type StoredRoleBinding } from '../store/roleBindings.js';
import { Forbidden, NotFound, Unprocessable } from './errors.js';
import type { JsonObject } from './objects.js';
import { now } from './time.js';

const validate = compileValidator<RoleBindingBody>(roleBindingSchema);

/** A role binding as the API shows it: the body it was made from, its id, who made it and when. */
export function roleBindingOut(b: StoredRoleBinding): JsonObject {
  return {
    id: b.id,
    principal: b.subject,
    role: b.role,
    ...(b.scope === 'cmf' ? {} : { environment: b.scope.slice(4) }),
    ...(b.resource ? { resource: { resourceType: b.resource.kind, name: b.resource.name, patternType: b.resource.pattern } } : {}),
    createdBy: b.createdBy,
    createdAt: b.createdAt.toISOString(),
  };
}

/** The binding a body describes, refused (422) where CMF's roles do not fit its scope. */
function bindingOf(body: RoleBindingBody): RoleBinding {
  const scope: Scope = body.environment === undefined ? 'cmf' : `env:${body.environment}`;
  const binding: RoleBinding = { subject: body.principal as Subject, role: body.role, scope };
  if (isClusterRole(body.role)) {
    if (body.resource) throw new Unprocessable(`${body.role} is bound to a whole scope, not to a resource: leave out resource`);
    return binding;
  }
  if (!body.resource) throw new Unprocessable(`${body.role} is bound to resources: resource is required`);
  const kind = body.resource.resourceType;
  if (isEnvironmentKind(kind) !== (scope !== 'cmf')) {
    throw new Unprocessable(
      isEnvironmentKind(kind) ? `${kind} resources live in an environment: environment is required` : `${kind} resources are not in an environment: leave out environment`,
    );
  }
  return { ...binding, resource: { kind, pattern: body.resource.patternType ?? 'LITERAL', name: body.resource.name } };
}

/**
 * Role binding use cases. Who may see and change a binding is decided here, with the principal:
 * only someone who could make a binding sees or deletes it, and no one grants more than they hold.
 */
export function roleBindings(store: Store, authorizer: Authorizer) {
  const refresh = () => authorizer.refresh();
  const mayBindSomewhere = (p: Principal) => {
    if (!authorizer.maySomeBind(p)) throw new Forbidden(`User:${p.user} may not manage role bindings`);
  };

  return {
    async create(p: Principal, body: JsonObject): Promise<JsonObject> {
      const binding = bindingOf(validate(body));
      if (!authorizer.mayGrant(p, binding)) throw new Forbidden(`User:${p.user} may not bind ${describeBinding(binding)}: it needs bind there and every right the role grants`);
      const stored = await store.roleBindings.create({ ...binding, id: randomUUID(), createdBy: `User:${p.user}`, createdAt: now() });
      await refresh();
      return roleBindingOut(stored);
    },

    /** The bindings `p` could make, optionally of one principal or environment. */
    async list(p: Principal, filter: { principal?: string; environment?: string }): Promise<JsonObject> {
      mayBindSomewhere(p);
      const items = (await store.roleBindings.all())
        .filter((b) => (filter.principal === undefined || b.subject === filter.principal) && (filter.environment === undefined || b.scope === `env:${filter.environment}`))
        .filter((b) => authorizer.mayGrant(p, b))
        .map(roleBindingOut);
      return { items, metadata: { size: items.length } };
    },

    async delete(p: Principal, id: string): Promise<void> {
      mayBindSomewhere(p);
      const binding = await store.roleBindings.get(id);
      if (!binding) throw new NotFound(`Role binding '${id}' not found`);
      if (!authorizer.mayGrant(p, binding)) throw new Forbidden(`User:${p.user} may not unbind ${describeBinding(binding)}`);
      await store.roleBindings.delete(id);
      await refresh();
    },
  };
}
