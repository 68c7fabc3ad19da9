import { createHash, randomUUID } from 'node:crypto';
import { APPLICATION_KIND, flinkApplicationSchema, type FlinkApplicationBody } from '../schemas/application.js';
import { API_VERSION, EVENTS_API_VERSION } from '../schemas/common.js';
import { compileValidator } from '../schemas/validate.js';
import type { Store } from '../store/index.js';
import type { Application, ApplicationEvent, ApplicationFields, ApplicationInstance, NewEvent } from '../store/applications.js';
import type { Environment } from '../store/environments.js';
import { requireEnvironment } from './environments.js';
import { metadataOut, withEnvelope } from './envelope.js';
import { Conflict, NotFound, Unprocessable } from './errors.js';
import { canonicalJson, deepMerge, isObject, type JsonObject } from './objects.js';
import { pageBody, type PageRequest } from './paging.js';
import { retryOnRace } from './retry.js';
import { now } from './time.js';

const validate = compileValidator<FlinkApplicationBody>(flinkApplicationSchema);

/** Event types recorded for applications. */
export const EVENT_TYPES = {
  cmf: 'CMF_STATUS',
  cluster: 'CLUSTER_STATUS',
  job: 'JOB_STATUS',
  exception: 'JOB_EXCEPTION',
} as const;

/**
 * The spec that runs: the environment's `flinkApplicationDefaults.spec` deep-merged into the
 * application's spec, the environment winning on a conflict (CMF gives environment settings
 * precedence). Without defaults it is the spec itself, not a copy: neither is changed afterwards.
 */
export function mergedSpec(env: Environment, spec: unknown): unknown {
  const defaults = isObject(env.flinkApplicationDefaults) ? env.flinkApplicationDefaults.spec : undefined;
  return isObject(defaults) ? deepMerge(spec, defaults) : spec;
}

function hash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** An application as the API returns it. */
export function applicationOut(app: Application): JsonObject {
  return {
    apiVersion: app.apiVersion,
    kind: app.kind,
    metadata: metadataOut(app),
    spec: app.spec,
    ...(app.status !== null ? { status: app.status } : {}),
  };
}

/** An application instance as the API returns it. */
export function instanceOut(instance: ApplicationInstance): JsonObject {
  return {
    apiVersion: API_VERSION,
    kind: 'FlinkApplicationInstance',
    metadata: {
      name: instance.id,
      uid: instance.id,
      creationTimestamp: instance.createdAt.toISOString(),
      updateTimestamp: instance.updatedAt.toISOString(),
    },
    status: {
      spec: instance.spec,
      ...(instance.jobStatus !== null ? { jobStatus: instance.jobStatus } : {}),
    },
  };
}

/** An application event as the API returns it. */
export function eventOut(event: ApplicationEvent): JsonObject {
  return {
    apiVersion: EVENTS_API_VERSION,
    kind: 'FlinkApplicationEvent',
    metadata: {
      name: event.id,
      uid: event.id,
      creationTimestamp: event.createdAt.toISOString(),
      ...(event.instanceName !== null ? { flinkApplicationInstance: event.instanceName } : {}),
    },
    status: {
      message: event.message,
      type: event.type,
      ...(event.data !== null ? { data: event.data } : {}),
    },
  };
}

function cmfEvent(message: string, instanceName: string | null): NewEvent {
  return { id: randomUUID(), instanceName, type: EVENT_TYPES.cmf, message, data: null };
}

/** The name a posted body gives, if it gives one, to read the application while the body is validated. */
function postedName(body: JsonObject): string | undefined {
  return isObject(body.metadata) && typeof body.metadata.name === 'string' ? body.metadata.name : undefined;
}

/** The spec an application's fields run with in an environment, and its hash. */
interface Merged {
  merged: unknown;
  specHash: string;
}

function merge(env: Environment, fields: { spec: unknown }): Merged {
  const merged = mergedSpec(env, fields.spec);
  return { merged, specHash: hash(merged) };
}

/** How many environments a process remembers for creates (the least recently read go first). */
const REMEMBERED_ENVIRONMENTS = 1_024;

/** Application use cases. */
export function applications(store: Store) {
  /**
   * Environments as this process last read them, by name: a POST of an application is made with
   * the one remembered and written in one round trip that checks it is still current. With each,
   * whether the last such POST created: the next is then written with the statement that only
   * creates, which costs PostgreSQL less (an update it meets costs one more round trip).
   */
  const environments = new Map<string, { env: Environment; creating: boolean }>();
  function remember(env: Environment, creating = false): void {
    environments.delete(env.name);
    environments.set(env.name, { env, creating });
    if (environments.size > REMEMBERED_ENVIRONMENTS) environments.delete(environments.keys().next().value as string);
  }

  /** Throws the NotFound of an application that was not found: its environment's if that is missing too. */
  async function missing(envName: string, name: string): Promise<never> {
    await requireEnvironment(store, envName);
    throw new NotFound(`Application '${name}' not found in environment '${envName}'`);
  }

  /** The application, in one query when it exists. */
  async function findApplication(envName: string, name: string): Promise<Application> {
    return (await store.applications.getByNames(envName, name)) ?? missing(envName, name);
  }

  /** The application with its environment, in one query. */
  async function requireApplication(envName: string, name: string): Promise<{ env: Environment; app: Application }> {
    const found = await store.applications.withEnvironment(envName, name);
    if (!found) throw new NotFound(`Environment '${envName}' not found`);
    if (!found.app) throw new NotFound(`Application '${name}' not found in environment '${envName}'`);
    return { env: found.env, app: found.app };
  }

  /**
   * Writes the application's API fields. An unchanged repost writes nothing; a change records a
   * CMF_STATUS event, and a change of the merged spec records a new instance as well. `read` is
   * the application as just read (null: absent), used by the first attempt; a retry reads afresh.
   */
  async function write(
    env: Environment,
    name: string,
    fields: Omit<ApplicationFields, 'specHash'>,
    read?: Application | null,
    made: Merged = merge(env, fields),
  ): Promise<Application> {
    let known = read;
    const { merged } = made;
    const next: ApplicationFields = { ...fields, specHash: made.specHash };
    return retryOnRace(async () => {
      const at = now();
      const current = known !== undefined ? known : await store.applications.get(env.id, name);
      known = undefined;
      if (current?.deletionRequestedAt) throw new Conflict(`Application '${name}' is being deleted`);
      if (!current) {
        const instance = { id: randomUUID(), spec: merged };
        return store.applications.create(
          { id: randomUUID(), environmentId: env.id, name, at, ...next },
          instance,
          cmfEvent(`${APPLICATION_KIND} created`, instance.id),
        );
      }
      const unchanged =
        current.specHash === next.specHash &&
        canonicalJson([current.apiVersion, current.kind, current.labels, current.annotations, current.spec]) ===
          canonicalJson([next.apiVersion, next.kind, next.labels ?? null, next.annotations ?? null, next.spec]);
      if (unchanged) return current;
      const instance = current.specHash === next.specHash ? undefined : { id: randomUUID(), spec: merged };
      // the store names the new instance in the event, or else the current one
      const event = { id: randomUUID(), type: EVENT_TYPES.cmf, message: `${APPLICATION_KIND} updated`, data: null };
      return store.applications.update(current, next, at, instance, event);
    });
  }

  /** Sets `spec.job.state`, a spec change like any other. */
  async function setJobState(envName: string, name: string, state: 'running' | 'suspended'): Promise<JsonObject> {
    const { env, app } = await requireApplication(envName, name);
    const spec = app.spec as JsonObject;
    if (!isObject(spec.job)) {
      throw new Unprocessable(`Application '${name}' has no spec.job to ${state === 'running' ? 'start' : 'suspend'}`);
    }
    const updated = await write(
      env,
      name,
      { apiVersion: app.apiVersion, kind: app.kind, labels: app.labels, annotations: app.annotations, spec: { ...spec, job: { ...spec.job, state } } },
      app,
    );
    return applicationOut(updated);
  }

  /** A posted body's name and API fields, valid in `env` (else Unprocessable). */
  function posted(env: Environment, body: JsonObject): { name: string; fields: Omit<ApplicationFields, 'specHash'> } {
    const post = validate(withEnvelope(body, APPLICATION_KIND));
    const namespace = (post.metadata as JsonObject).namespace;
    if (namespace !== undefined && namespace !== env.kubernetesNamespace) {
      throw new Unprocessable(`metadata.namespace '${String(namespace)}' differs from environment '${env.name}''s namespace '${env.kubernetesNamespace}'`);
    }
    const fields = {
      apiVersion: post.apiVersion,
      kind: post.kind,
      labels: post.metadata.labels ?? null,
      annotations: post.metadata.annotations ?? null,
      spec: post.spec,
    };
    return { name: post.metadata.name, fields };
  }

  /**
   * A POST in one round trip when the environment is remembered: the application is created, or
   * updated if it changed, when the environment is unchanged. An application that round trip
   * did not write (unchanged, being deleted, or written by another request meanwhile) is then
   * settled as `write` does, with the row it read; a changed environment is tried once more as
   * it now is. Undefined when this cannot settle the POST (a body that is not valid in the
   * environment, a missing environment, a create that raced it): the caller then reads afresh,
   * and judges the body against what it read.
   */
  async function postRemembered(envName: string, body: JsonObject): Promise<Application | undefined> {
    const remembered = environments.get(envName);
    let env = remembered?.env;
    for (let attempt = 0; env && attempt < 2; attempt++) {
      let name: string, fields: Omit<ApplicationFields, 'specHash'>;
      try {
        ({ name, fields } = posted(env, body));
      } catch {
        return undefined;
      }
      const made = merge(env, fields);
      const instance = { id: randomUUID(), spec: made.merged };
      const event = { id: randomUUID(), type: EVENT_TYPES.cmf, messages: { created: `${APPLICATION_KIND} created`, updated: `${APPLICATION_KIND} updated` }, data: null };
      const app = { id: randomUUID(), name, at: now(), ...fields, specHash: made.specHash };
      const result = await store.applications.upsert(env, app, instance, event, !remembered?.creating);
      if (!result) {
        environments.delete(envName);
        return undefined;
      }
      if ('written' in result) {
        remember(env, result.written.id === app.id);
        return result.written;
      }
      remember(result.env);
      const unchanged = result.env.id === env.id && result.env.version === env.version;
      if (result.existing) {
        if (unchanged) return write(env, name, fields, result.existing, made);
        try {
          ({ name, fields } = posted(result.env, body));
        } catch {
          return undefined;
        }
        return write(result.env, name, fields, result.existing);
      }
      if (unchanged) return undefined;
      env = result.env;
    }
    return undefined;
  }

  return {
    async createOrUpdate(envName: string, body: JsonObject): Promise<JsonObject> {
      const remembered = await postRemembered(envName, body);
      if (remembered) return applicationOut(remembered);
      // one query reads the environment (a missing one is a 404 before the body is judged) and
      // the application the body names, which write() then need not read again
      const named = postedName(body);
      const found = named === undefined ? undefined : await store.applications.withEnvironment(envName, named);
      const env = found === undefined ? await store.environments.get(envName) : found?.env;
      if (!env) throw new NotFound(`Environment '${envName}' not found`);
      remember(env);
      const read = found?.app;
      const { name, fields } = posted(env, body);
      const app = await write(env, name, fields, name === named ? read : undefined);
      return applicationOut(app);
    },

    async get(envName: string, name: string): Promise<JsonObject> {
      return applicationOut(await findApplication(envName, name));
    },

    /** Where an application's FlinkDeployment lives: what the web UI proxy needs to find its JobManager. */
    async deploymentOf(envName: string, name: string): Promise<{ namespace: string; name: string }> {
      const { env, app } = await requireApplication(envName, name);
      return { namespace: env.kubernetesNamespace, name: app.name };
    },

    async list(envName: string, page: PageRequest): Promise<JsonObject> {
      const env = await requireEnvironment(store, envName);
      const result = await store.applications.list(env.id, page);
      return pageBody(page, { items: result.items.map(applicationOut), total: result.total });
    },

    /** Asks for the application to go: its FlinkDeployment is deleted first, then the application. Repeating it is harmless. */
    async delete(envName: string, name: string): Promise<void> {
      await retryOnRace(async () => {
        const app = await findApplication(envName, name);
        if (!app.deletionRequestedAt) await store.applications.requestDeletion(app, now());
      });
    },

    start: (envName: string, name: string) => setJobState(envName, name, 'running'),
    suspend: (envName: string, name: string) => setJobState(envName, name, 'suspended'),

    async listInstances(envName: string, name: string, page: PageRequest): Promise<JsonObject> {
      const app = await findApplication(envName, name);
      const result = await store.applications.listInstances(app.id, page);
      return pageBody(page, { items: result.items.map(instanceOut), total: result.total });
    },

    async getInstance(envName: string, name: string, instanceName: string): Promise<JsonObject> {
      const app = await findApplication(envName, name);
      const instance = await store.applications.getInstance(app.id, instanceName);
      if (!instance) throw new NotFound(`Instance '${instanceName}' of application '${name}' not found`);
      return instanceOut(instance);
    },

    async listEvents(envName: string, name: string, page: PageRequest): Promise<JsonObject> {
      const app = await findApplication(envName, name);
      const result = await store.applications.listEvents(app.id, page);
      return pageBody(page, { items: result.items.map(eventOut), total: result.total });
    },
  };
}
