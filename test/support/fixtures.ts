/** Valid bodies for every kind, as a user would post them. */

export const API_VERSION = 'cmf.confluent.io/v1';

export function environment(name = 'env-one', namespace = 'flink-one', extra: Record<string, unknown> = {}) {
  return { name, kubernetesNamespace: namespace, ...extra };
}

/** The contract's own curl example (flink-application.yaml). */
export function application(name = 'curl-example', spec: Record<string, unknown> = {}) {
  return {
    apiVersion: API_VERSION,
    kind: 'FlinkApplication',
    metadata: { name },
    spec: {
      image: 'confluentinc/cp-flink:1.19.1-cp2',
      flinkVersion: 'v1_19',
      flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '1' },
      serviceAccount: 'flink',
      jobManager: { resource: { memory: '1024m', cpu: 1 } },
      taskManager: { resource: { memory: '1024m', cpu: 1 } },
      job: {
        jarURI: 'local:///opt/flink/examples/streaming/StateMachineExample.jar',
        state: 'running',
        parallelism: 3,
        upgradeMode: 'stateless',
      },
      ...spec,
    },
  };
}

export function secret(name = 'kafka-creds', data: Record<string, string> = { 'sasl.jaas.config': 'TOP-SECRET-VALUE-1' }) {
  return { apiVersion: API_VERSION, kind: 'Secret', metadata: { name }, spec: { data } };
}

export function secretMapping(name = 'kafka-conn', secretName = 'kafka-creds') {
  return { apiVersion: API_VERSION, kind: 'EnvironmentSecretMapping', metadata: { name }, spec: { secretName } };
}

export function computePool(name = 'pool-one', clusterSpec: Record<string, unknown> = {}) {
  return {
    apiVersion: API_VERSION,
    kind: 'ComputePool',
    metadata: { name },
    spec: {
      type: 'DEDICATED',
      clusterSpec: {
        flinkVersion: 'v1_19',
        image: 'confluentinc/cp-flink-sql:1.19-cp1',
        flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '2' },
        jobManager: { resource: { cpu: 1, memory: '1024m' } },
        taskManager: { resource: { cpu: 1, memory: '1024m' } },
        ...clusterSpec,
      },
    },
  };
}

/** A pool for statements on local Flink: its clusters pass the 1.15 CRD and the operator's validator. */
export function sqlComputePool(name: string, type: 'DEDICATED' | 'SHARED' = 'DEDICATED') {
  const body = computePool(name, {
    flinkVersion: 'v2_2',
    image: 'flink:2.2',
    flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '4' },
    jobManager: { resource: { cpu: 1, memory: '1024m' } },
    taskManager: { resource: { cpu: 1, memory: '1536m' } },
  }) as { spec: Record<string, unknown> };
  body.spec.type = type;
  return body;
}

export function statement(name = 'stmt-one', sql = 'SELECT 1', computePoolName = 'pool-one', spec: Record<string, unknown> = {}) {
  return {
    apiVersion: API_VERSION,
    kind: 'Statement',
    metadata: { name },
    spec: { statement: sql, properties: {}, flinkConfiguration: {}, computePoolName, parallelism: 1, stopped: false, ...spec },
  };
}

export function kafkaCatalog(name = 'kafka-cat') {
  return {
    apiVersion: API_VERSION,
    kind: 'KafkaCatalog',
    metadata: { name },
    spec: {
      srInstance: { connectionConfig: { 'schema.registry.url': 'http://schemaregistry:8081' }, connectionSecretId: 'sr-conn' },
      kafkaClusters: [
        { databaseName: 'kafka-1', connectionConfig: { 'bootstrap.servers': 'kafka:9092' }, connectionSecretId: 'kafka-conn' },
      ],
    },
  };
}
