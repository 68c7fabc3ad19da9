import type { StatementEngine } from '../statements/engine.js';
import type { Store } from '../store/index.js';
import { applications } from './applications.js';
import { catalogs } from './catalogs.js';
import { computePools } from './computePools.js';
import { environments } from './environments.js';
import { secretMappings } from './secretMappings.js';
import { secrets } from './secrets.js';
import { statements } from './statements.js';

/** Every use case of the API, one group per resource. */
export function createDomain(store: Store, engine?: StatementEngine) {
  return {
    environments: environments(store),
    applications: applications(store),
    secrets: secrets(store),
    secretMappings: secretMappings(store),
    computePools: computePools(store),
    statements: statements(store, engine),
    catalogs: catalogs(store),
  };
}

/** The use cases the API calls. */
export type Domain = ReturnType<typeof createDomain>;
