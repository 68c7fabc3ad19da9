import { beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { CLUSTER_RULES, NAMESPACED_RULES } from '../../src/kube/rbac.js';
import { KUBE_VERSIONS, VALUES_FILES, ofKind, render, type K8sObject, type Render } from './helm.js';
import { validate } from './models.js';

const matrix = VALUES_FILES.flatMap((file) => KUBE_VERSIONS.map((kube) => [file, kube] as const));
const renders = new Map<string, Render>();
const key = (file: string, kube: string) => `${file}@${kube}`;

beforeAll(async () => {
  for (const [file, kube] of matrix) renders.set(key(file, kube), await render(file, kube));
}, 120_000);

/** Every pod spec rendered, with where it came from. */
function podSpecs(objects: K8sObject[]): { name: string; spec: any; labels: Record<string, string> }[] {
  return objects.flatMap((o) => {
    if (o.kind === 'Pod') return [{ name: `Pod/${o.metadata.name}`, spec: o.spec, labels: o.metadata.labels ?? {} }];
    if (o.kind === 'Deployment') return [{ name: `Deployment/${o.metadata.name}`, spec: o.spec.template.spec, labels: o.spec.template.metadata.labels ?? {} }];
    return [];
  });
}

const containersOf = (spec: any): any[] => [...(spec.initContainers ?? []), ...spec.containers];
const gateway = (objects: K8sObject[]) => ofKind(objects, 'Deployment').find((d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === 'sql-gateway');
const drey = (objects: K8sObject[]) => ofKind(objects, 'Deployment').find((d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === 'controller')!;
const dreyContainer = (objects: K8sObject[]) => drey(objects).spec.template.spec.containers.find((c: any) => c.name === 'drey');
const env = (container: any): Record<string, any> => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The keys a hardened container's securityContext may have: a typo (readOnlyRootFileSystem) is caught here, not by the schemas. */
const CONTAINER_SECURITY_KEYS = ['allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'privileged', 'capabilities'];
const POD_SECURITY_KEYS = ['runAsNonRoot', 'runAsUser', 'runAsGroup', 'seccompProfile'];

describe.each(matrix)('ci/%s on Kubernetes %s', (file, kube) => {
  const objects = () => renders.get(key(file, kube))!.objects;

  test('every object passes the Kubernetes and Prometheus operator schemas', () => {
    expect(objects().length).toBeGreaterThan(5);
    for (const o of objects()) expect(() => validate(o)).not.toThrow();
  });

  test('every pod and container is hardened', () => {
    for (const { name, spec } of podSpecs(objects())) {
      expect(Object.keys(spec.securityContext).every((k) => POD_SECURITY_KEYS.includes(k))).toBe(true);
      expect([name, spec.securityContext.runAsNonRoot, spec.securityContext.seccompProfile]).toEqual([name, true, { type: 'RuntimeDefault' }]);
      for (const c of containersOf(spec)) {
        expect([name, c.name, Object.keys(c.securityContext).sort()]).toEqual([name, c.name, [...CONTAINER_SECURITY_KEYS].sort()]);
        expect([name, c.name, c.securityContext]).toEqual([
          name,
          c.name,
          { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } },
        ]);
        expect(c.resources?.limits?.memory).toBeDefined();
      }
    }
  });

  test("drey's pod has no fixed uid, a writable /tmp, and runs its migrations first with the same image", () => {
    const spec = drey(objects()).spec.template.spec;
    expect(spec.securityContext.runAsUser).toBeUndefined();
    expect(spec.securityContext.fsGroup).toBeUndefined();
    const tmp = spec.volumes.find((v: any) => v.name === 'tmp');
    expect(tmp).toEqual({ name: 'tmp', emptyDir: {} });
    for (const c of containersOf(spec)) {
      expect(c.securityContext.runAsUser).toBeUndefined();
      expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    }
    // the image's entry point runs drey (its distroless base has no node on PATH), so the chart gives arguments only
    expect(readFileSync('Dockerfile', 'utf8')).toMatch(/^ENTRYPOINT \["\/nodejs\/bin\/node", "dist\/main.js"\]$/m);
    const migrate = spec.initContainers.find((c: any) => c.name === 'migrate');
    expect(migrate.command).toBeUndefined();
    expect(migrate.args).toEqual(['migrate']);
    expect(migrate.image).toBe(dreyContainer(objects()).image);
    expect(dreyContainer(objects()).command).toBeUndefined();
  });

  test('probes use the ops port: /livez for startup and liveness, /readyz for readiness', () => {
    const c = dreyContainer(objects());
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'ops', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect(c.startupProbe.httpGet).toEqual({ path: '/livez', port: 'ops' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'ops' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'ops' });
  });

  test('drey gets the settings of the runtime contract', () => {
    const e = env(dreyContainer(objects()));
    expect(e).toMatchObject({ HOST: '0.0.0.0', PORT: '8080', CMF_OPS_PORT: '8081', CMF_KUBE: 'in-cluster', CMF_DATA_DIR: '/tmp/drey' });
    expect(e.DATABASE_URL.secretKeyRef).toBeDefined();
    // the current key first, then any previous keys (test/chart/encryption.test.ts follows each to its Secret)
    expect(e.CMF_ENCRYPTION_KEYS).toMatch(/^[A-Za-z0-9._-]+=file:\/etc\/drey\/encryption\/[^/,]+(,[A-Za-z0-9._-]+=file:\/etc\/drey\/encryption-previous\/[^/,]+\/[^/,]+)*$/);
    expect(Number(e.CMF_SHUTDOWN_DELAY_MS) / 1000).toBeLessThan(drey(objects()).spec.template.spec.terminationGracePeriodSeconds);
    const gateway = ofKind(objects(), 'Service').find((s) => s.metadata.name.endsWith('-sql-gateway'));
    if (gateway) expect(e.CMF_SQL_GATEWAY_URL).toBe(`http://${gateway.metadata.name}.drey.svc:${gateway.spec.ports[0].port}`);
    if (e.CMF_TLS_CERT_FILE) expect(e).toMatchObject({ CMF_TLS_CERT_FILE: '/etc/drey/tls/tls.crt', CMF_TLS_KEY_FILE: '/etc/drey/tls/tls.key' });
    expect(e.CMF_UNAUTHENTICATED_ACCEPT_RISK).toBeUndefined();
  });

  test('selectors match the pods they are meant for', () => {
    const pods = podSpecs(objects());
    for (const d of ofKind(objects(), 'Deployment')) expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
    for (const s of ofKind(objects(), 'Service')) expect([s.metadata.name, pods.some((p) => matches(s.spec.selector, p.labels))]).toEqual([s.metadata.name, true]);
    for (const p of [...ofKind(objects(), 'PodDisruptionBudget'), ...ofKind(objects(), 'PodMonitor')]) {
      expect(matches(p.spec.selector.matchLabels, drey(objects()).spec.template.metadata.labels)).toBe(true);
    }
    for (const n of ofKind(objects(), 'NetworkPolicy')) expect(pods.some((p) => matches(n.spec.podSelector.matchLabels, p.labels))).toBe(true);
    for (const m of ofKind(objects(), 'ServiceMonitor')) {
      const service = ofKind(objects(), 'Service').find((s) => matches(m.spec.selector.matchLabels, s.metadata.labels ?? {}));
      expect(service?.spec.ports.map((p: any) => p.name)).toContain(m.spec.endpoints[0].port);
    }
  });

  test('no image is latest or untagged', () => {
    for (const { spec } of podSpecs(objects())) {
      for (const c of containersOf(spec)) expect(c.image).toMatch(/^[^:@]+(:[A-Za-z0-9_][A-Za-z0-9._-]*|@sha256:[a-f0-9]{64})$/);
      for (const c of containersOf(spec)) expect(c.image).not.toMatch(/:latest$/);
    }
  });

  test('RBAC grants what drey uses and nothing more, cluster-wide only without watchNamespaces', () => {
    const watched = env(dreyContainer(objects())).CMF_WATCH_NAMESPACES as string;
    const clusterWide = [...ofKind(objects(), 'ClusterRole'), ...ofKind(objects(), 'ClusterRoleBinding')];
    const roles = ofKind(objects(), 'Role');
    if (watched === '') {
      expect(clusterWide.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding']);
      expect(roles).toEqual([]);
    } else {
      expect(clusterWide).toEqual([]);
      expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(watched.split(',').sort());
      expect(ofKind(objects(), 'RoleBinding').map((r) => r.metadata.namespace).sort()).toEqual(watched.split(',').sort());
    }
    // exactly the rights drey runs with on the simulated cluster (src/kube/rbac.ts), so every test of drey checks them
    for (const role of roles) expect(role.rules).toEqual(NAMESPACED_RULES);
    for (const role of ofKind(objects(), 'ClusterRole')) expect(role.rules).toEqual(CLUSTER_RULES);
  });

  test('a PodDisruptionBudget exactly when there is more than one replica', () => {
    const replicas = drey(objects()).spec.replicas;
    const pdbs = ofKind(objects(), 'PodDisruptionBudget');
    expect(pdbs.length).toBe(replicas > 1 ? 1 : 0);
    for (const pdb of pdbs) expect(pdb.spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  test('a preStop sleep exactly on Kubernetes 1.30 and later', () => {
    const lifecycle = dreyContainer(objects()).lifecycle;
    if (kube === '1.27.0') expect(lifecycle).toBeUndefined();
    else expect(lifecycle.preStop.sleep.seconds).toBe(Number(env(dreyContainer(objects())).CMF_SHUTDOWN_DELAY_MS) / 1000);
  });

  test('rolling updates lose no capacity', () => {
    const d = drey(objects());
    expect(d.spec.strategy.type).toBe('RollingUpdate');
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(d.spec.template.spec.topologySpreadConstraints.length).toBeGreaterThan(0);
  });
});

describe('defaults', () => {
  test('two replicas spread by zone and node, ScheduleAnyway', () => {
    const d = drey(renders.get(key('default-values.yaml', '1.30.0'))!.objects);
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(d.spec.template.spec.topologySpreadConstraints.map((t: any) => [t.topologyKey, t.whenUnsatisfiable, t.maxSkew])).toEqual([
      ['topology.kubernetes.io/zone', 'ScheduleAnyway', 1],
      ['kubernetes.io/hostname', 'ScheduleAnyway', 1],
    ]);
  });

  test('the image tag is the appVersion, and a digest wins over a tag', async () => {
    const d = drey(renders.get(key('default-values.yaml', '1.30.0'))!.objects);
    expect(d.spec.template.spec.containers[0].image).toBe('ghcr.io/drey-dev/drey:0.1.0');
    const digest = `sha256:${'a'.repeat(64)}`;
    const pinned = await render('default-values.yaml', '1.30.0', ['--set', 'image.tag=0.2.0', '--set', `image.digest=${digest}`]);
    expect(dreyContainer(pinned.objects).image).toBe(`ghcr.io/drey-dev/drey@${digest}`);
  });

  test('the helm test pod checks /readyz on the ops port and the API', () => {
    const pod = ofKind(renders.get(key('default-values.yaml', '1.30.0'))!.objects, 'Pod')[0]!;
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const script = pod.spec.containers[0].command.join(' ');
    expect(script).toContain('http://drey.drey.svc:8081/readyz');
    expect(script).toContain('http://drey.drey.svc:8080/cmf/api/v1/environments');
  });

  test('the SQL Gateway gets the Kafka connector and the Avro registry format on its classpath', () => {
    const gw = ofKind(renders.get(key('default-values.yaml', '1.30.0'))!.objects, 'Deployment').find((d) => d.metadata.name === 'drey-sql-gateway')!;
    const spec = gw.spec.template.spec;
    const fetch = spec.initContainers[0].command.join('\n');
    expect(fetch).toContain('flink-sql-connector-kafka-');
    expect(fetch).toContain('flink-sql-avro-confluent-registry-');
    expect(spec.containers[0].command.slice(0, 2)).toEqual(['/opt/flink/bin/sql-gateway.sh', 'start-foreground']);
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'flink-lib', mountPath: '/opt/flink/lib', readOnly: true });
  });
});

describe('optional objects', () => {
  test('cmf-service serves the API on port 80 for clients configured for CMF', () => {
    const svc = ofKind(renders.get(key('tls-ingress-values.yaml', '1.30.0'))!.objects, 'Service').find((s) => s.metadata.name === 'cmf-service')!;
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('monitoring renders a ServiceMonitor, a PodMonitor, the alerts and the dashboard', () => {
    const objects = renders.get(key('monitoring-values.yaml', '1.30.0'))!.objects;
    expect(ofKind(objects, 'ServiceMonitor')[0]!.spec.endpoints[0]).toMatchObject({ port: 'ops', path: '/metrics' });
    expect(ofKind(objects, 'PodMonitor')[0]!.spec.podMetricsEndpoints[0]).toMatchObject({ port: 'ops', path: '/metrics' });
    const alerts = ofKind(objects, 'PrometheusRule')[0]!.spec.groups[0].rules.map((r: any) => r.alert);
    expect(alerts).toEqual(['DreyDown', 'DreyNoLeader', 'DreyMultipleLeaders', 'DreyReconcileErrors', 'DreyWorkqueueStuck', 'DreyHttp5xxRatio', 'DreyHttpLatencyHigh', 'DreyFlinkOperatorMissing']);
    const dashboard = ofKind(objects, 'ConfigMap')[0]!;
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
    expect(JSON.parse(dashboard.data['drey.json']).uid).toBe('drey-overview');
  });

  test('production mode: TLS, OIDC, an administrator, and the encryption key from its Secret', () => {
    const objects = renders.get(key('production-values.yaml', '1.30.0'))!.objects;
    const e = env(dreyContainer(objects));
    expect(e).toMatchObject({ CMF_MODE: 'production', CMF_TLS_CLIENT_AUTH: 'want', CMF_TLS_CLIENT_CA_FILE: '/etc/drey/tls/ca.crt', CMF_SUPER_USERS: 'Group:platform-admins' });
    expect(e.CMF_OIDC_ISSUER).toBe('https://login.example.com/realms/flink');
    const volumes = drey(objects).spec.template.spec.volumes;
    expect(volumes.find((v: any) => v.name === 'encryption').secret).toMatchObject({ secretName: 'drey-encryption-prod', items: [{ key: 'primary', path: 'primary' }] });
  });
});

describe("the SQL Gateway fits Flink 2.3's image", () => {
  // Checked against apache/flink-docker (docker-entrypoint.sh, Dockerfile-ubuntu.template) and Flink's
  // bin/sql-gateway.sh, config.sh and config-parser-utils.sh; see the chart README.
  const spec = () => gateway(renders.get(key('default-values.yaml', '1.30.0'))!.objects)!.spec.template.spec;
  const container = () => spec().containers.find((c: any) => c.name === 'sql-gateway');

  test("runs sql-gateway.sh in the foreground instead of the image's entry point, which rewrites conf/", () => {
    expect(container().command.slice(0, 2)).toEqual(['/opt/flink/bin/sql-gateway.sh', 'start-foreground']);
    expect(container().args).toBeUndefined();
    expect(env(container()).FLINK_PROPERTIES).toBeUndefined();
  });

  test('binds every interface, on the port its Service and probes use, and names the Service as its address', () => {
    const svc = ofKind(renders.get(key('default-values.yaml', '1.30.0'))!.objects, 'Service').find((s) => s.metadata.name === 'drey-sql-gateway')!;
    const port = svc.spec.ports[0].port;
    expect(container().command.slice(2)).toEqual([
      '-Dsql-gateway.endpoint.rest.address=drey-sql-gateway.drey.svc',
      '-Dsql-gateway.endpoint.rest.bind-address=0.0.0.0',
      `-Dsql-gateway.endpoint.rest.port=${port}`,
      `-Dsql-gateway.endpoint.rest.bind-port=${port}`,
    ]);
    expect(container().ports).toEqual([{ name: 'rest', containerPort: port, protocol: 'TCP' }]);
    expect(container().readinessProbe.httpGet).toEqual({ path: '/api_versions', port: 'rest' });
  });

  test("runs as the image's flink user (uid and gid 9999), since the image itself starts as root", () => {
    expect(spec().securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 9999, runAsGroup: 9999 });
  });

  test('writes only to emptyDirs: the log dir, /tmp (pid file, JVM temp) and the lib dir the init container fills', () => {
    expect(env(container())).toMatchObject({ FLINK_LOG_DIR: '/opt/flink/log', JVM_ARGS: '-Xmx768m' });
    const emptyDirs = spec().volumes.filter((v: any) => v.emptyDir).map((v: any) => v.name);
    const mounts = container().volumeMounts;
    expect(mounts.filter((m: any) => !m.readOnly).map((m: any) => [m.mountPath, emptyDirs.includes(m.name)])).toEqual([
      ['/opt/flink/log', true],
      ['/tmp', true],
    ]);
    expect(mounts).toContainEqual({ name: 'flink-lib', mountPath: '/opt/flink/lib', readOnly: true });
    expect(mounts.some((m: any) => m.mountPath.startsWith('/opt/flink/conf'))).toBe(false);
  });

  test('the init container copies the image lib/ into the volume mounted over it', () => {
    const init = spec().initContainers.find((c: any) => c.name === 'fetch-jars');
    const target = init.volumeMounts.find((m: any) => m.name === 'flink-lib').mountPath;
    expect(env(init)).toEqual({ FLINK_IMAGE_LIB: '/opt/flink/lib', GATEWAY_LIB: target });
    expect(init.image).toBe(container().image);
  });

  test.each(matrix)('ci/%s on Kubernetes %s: every fetched jar is checked against its sha256', (file, kube) => {
    const gw = gateway(renders.get(key(file, kube))!.objects);
    if (gw === undefined) return;
    const script: string = gw.spec.template.spec.initContainers[0].command[2];
    const fetched = [...script.matchAll(/^fetch '[^']+' "\$GATEWAY_LIB"\/'([^']+)'$/gm)].map((m) => m[1]);
    const checked = [...script.matchAll(/^\(cd "\$GATEWAY_LIB" && echo '[a-f0-9]{64} {2}([^']+)' \| sha256sum -c -\)$/gm)].map((m) => m[1]);
    expect(fetched.length).toBeGreaterThan(0);
    expect(checked).toEqual(fetched);
  });

  test('extra volumes reach the gateway pod and container', () => {
    const gw = gateway(renders.get(key('oidc-values.yaml', '1.30.0'))!.objects)!.spec.template.spec;
    expect(gw.volumes).toContainEqual({ name: 'hadoop-conf', configMap: { name: 'hadoop-conf' } });
    expect(gw.containers[0].volumeMounts).toContainEqual({ name: 'hadoop-conf', mountPath: '/etc/hadoop/conf', readOnly: true });
  });
});

describe('OIDC files and extra volumes', () => {
  const objects = () => renders.get(key('oidc-values.yaml', '1.30.0'))!.objects;

  test('the CA bundle and the issuers list are mounted read-only from their Secrets and named in the settings', () => {
    const e = env(dreyContainer(objects()));
    expect(e).toMatchObject({
      CMF_OIDC_ISSUER: 'https://login.example.com/realms/flink',
      CMF_OIDC_ALGORITHMS: 'RS256,ES256',
      CMF_OIDC_USERNAME_PREFIX: 'oidc:',
      CMF_OIDC_GROUPS_PREFIX: 'oidc:',
      CMF_OIDC_CA_FILE: '/etc/drey/oidc-ca/ca.crt',
      CMF_OIDC_ISSUERS_FILE: '/etc/drey/oidc-issuers/issuers.yaml',
    });
    const spec = drey(objects()).spec.template.spec;
    const secret = (name: string) => spec.volumes.find((v: any) => v.name === name)?.secret;
    expect(secret('oidc-ca')).toMatchObject({ secretName: 'corp-root-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] });
    // mounted whole, so an entry's relative caFile can name another key of the Secret
    expect(secret('oidc-issuers')).toMatchObject({ secretName: 'drey-oidc-issuers' });
    expect(secret('oidc-issuers').items).toBeUndefined();
    const mounts = dreyContainer(objects()).volumeMounts;
    expect(mounts).toContainEqual({ name: 'oidc-ca', mountPath: '/etc/drey/oidc-ca', readOnly: true });
    expect(mounts).toContainEqual({ name: 'oidc-issuers', mountPath: '/etc/drey/oidc-issuers', readOnly: true });
  });

  test('without an issuer the CA is still mounted (for the issuers file) but CMF_OIDC_CA_FILE, which needs one, is not set', async () => {
    const r = await render('default-values.yaml', '1.30.0', ['--set', 'auth.oidc.caFile.existingSecret.name=corp-root-ca', '--set', 'auth.oidc.issuersFile.existingSecret.name=issuers']);
    const e = env(dreyContainer(r.objects));
    expect(Object.keys(e).filter((k) => k.startsWith('CMF_OIDC_'))).toEqual(['CMF_OIDC_ISSUERS_FILE']);
    expect(dreyContainer(r.objects).volumeMounts.map((m: any) => m.name)).toEqual(expect.arrayContaining(['oidc-ca', 'oidc-issuers']));
  });

  test('no OIDC file is mounted by default', () => {
    const spec = drey(renders.get(key('default-values.yaml', '1.30.0'))!.objects).spec.template.spec;
    expect(spec.volumes.map((v: any) => v.name)).toEqual(['tmp', 'encryption', 'bootstrap']);
  });

  test("extra volumes reach drey's pod, and their mounts both drey and its migrate initContainer", () => {
    const spec = drey(objects()).spec.template.spec;
    expect(spec.volumes).toContainEqual({ name: 'postgres-ca', configMap: { name: 'postgres-ca' } });
    for (const c of containersOf(spec)) expect(c.volumeMounts).toContainEqual({ name: 'postgres-ca', mountPath: '/etc/drey/postgres-ca', readOnly: true });
  });

  test('extraEnv reaches drey and its migrate initContainer, which connect to the same database', () => {
    const spec = drey(objects()).spec.template.spec;
    for (const c of containersOf(spec)) expect(c.env).toContainEqual({ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/drey/postgres-ca/ca.crt' });
  });
});
