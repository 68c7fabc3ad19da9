import { apiTokenSettings, type ApiTokenSettings } from '../security/apiTokens.js';
import { Authorizer } from '../security/authorizer.js';
import { NamespaceScope } from '../kube/scope.js';
import type { StatementEngine } from '../statements/engine.js';
import type { Store } from '../store/index.js';
import { apiTokens } from './apiTokens.js';
import { applications } from './applications.js';
import { catalogs } from './catalogs.js';
import { computePools } from './computePools.js';
import { environments } from './environments.js';
import { roleBindings } from './roleBindings.js';
import { secretMappings } from './secretMappings.js';
import { secrets } from './secrets.js';
import { statements } from './statements.js';

/**
 * Every use case of the API, one group per resource. `authorizer` decides who may do what from the
 * role bindings it reads from the store; by default only super users may do anything. `scope` is
 * the namespaces environments may name.
 */
export function createDomain(
  store: Store,
  engine?: StatementEngine,
  authorizer = new Authorizer({ load: () => store.roleBindings.all() }),
  tokens: ApiTokenSettings = apiTokenSettings({}),
  scope: NamespaceScope = NamespaceScope.ALL,
) {
  return {
    authorizer,
    roleBindings: roleBindings(store, authorizer),
    environments: environments(store, scope),
    applications: applications(store),
    secrets: secrets(store),
    secretMappings: secretMappings(store),
    computePools: computePools(store),
    statements: statements(store, engine),
    catalogs: catalogs(store),
    apiTokens: apiTokens(store, tokens),
  };
}

/** The use cases the API calls. */
export type Domain = ReturnType<typeof createDomain>;
