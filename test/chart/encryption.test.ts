import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { encryptionSettings } from '../../src/security/keyring.js';
import { CHART, helm, ofKind, render, type K8sObject } from './helm.js';
import { validate } from './models.js';

const KUBE = '1.30.0';

/** drey's pod spec and its container. */
function dreyPod(objects: K8sObject[]): { spec: any; container: any } {
  const deployment = ofKind(objects, 'Deployment').find((d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === 'controller')!;
  const spec = deployment.spec.template.spec;
  return { spec, container: spec.containers.find((c: any) => c.name === 'drey') };
}

/** CMF_ENCRYPTION_KEYS as the chart sets it. */
function keyList(objects: K8sObject[]): string {
  return dreyPod(objects).container.env.find((e: any) => e.name === 'CMF_ENCRYPTION_KEYS').value;
}

/**
 * Where each key of CMF_ENCRYPTION_KEYS comes from, in order: the file it names, followed through the
 * container's read-only mount to the Secret and the key in it. Throws when a file is not mounted.
 */
function keySources(objects: K8sObject[]): { id: string; secret: string; key: string }[] {
  const { spec, container } = dreyPod(objects);
  return keyList(objects)
    .split(',')
    .map((entry) => {
      const [, id, file] = /^([^=]+)=file:(.+)$/.exec(entry)!;
      const mount = container.volumeMounts.find((m: any) => m.mountPath === path.dirname(file!));
      if (mount === undefined || mount.readOnly !== true) throw new Error(`${file} is not on a read-only mount`);
      const secret = spec.volumes.find((v: any) => v.name === mount.name).secret;
      const item = secret.items.find((i: any) => i.path === path.basename(file!));
      return { id: id!, secret: secret.secretName, key: item.key };
    });
}

/** `helm template` with the defaults and `args`: its exit code and what it printed. */
const template = (args: string[]) => helm(['template', 'drey', CHART, '--namespace', 'drey', '--kube-version', KUBE, ...args]);

describe('encryption keys', () => {
  test('by default drey has one key, primary, from the Secret drey-encryption', async () => {
    const { objects } = await render('default-values.yaml', KUBE);
    expect(keyList(objects)).toBe('primary=file:/etc/drey/encryption/encryption-key');
    expect(keySources(objects)).toEqual([{ id: 'primary', secret: 'drey-encryption', key: 'encryption-key' }]);
  });

  test('during a rotation the current key comes first and the previous key after it, each mounted from its own Secret', async () => {
    const { objects } = await render('key-rotation-values.yaml', KUBE);
    expect(keyList(objects)).toBe('2026-06=file:/etc/drey/encryption/encryption-key,primary=file:/etc/drey/encryption-previous/primary/encryption-key');
    expect(keySources(objects)).toEqual([
      { id: '2026-06', secret: 'drey-encryption-2026-06', key: 'encryption-key' },
      { id: 'primary', secret: 'drey-encryption', key: 'encryption-key' },
    ]);
    // drey reads the list the chart writes: the first key seals, the second only opens
    expect(encryptionSettings({ CMF_ENCRYPTION_KEYS: keyList(objects) }, '/tmp/drey')).toEqual({
      mode: 'keys',
      keys: [
        { id: '2026-06', file: '/etc/drey/encryption/encryption-key' },
        { id: 'primary', file: '/etc/drey/encryption-previous/primary/encryption-key' },
      ],
    });
  });

  test('several previous keys keep their order, and two may come from one Secret', async () => {
    const previous = [
      { id: 'b', existingSecret: { name: 'old-keys', key: 'b' } },
      { id: 'a.1', existingSecret: { name: 'old-keys', key: 'a' } },
    ];
    const { objects } = await render('default-values.yaml', KUBE, ['--set', 'encryption.keyId=c', '--set-json', `encryption.previousKeys=${JSON.stringify(previous)}`]);
    expect(keyList(objects)).toBe('c=file:/etc/drey/encryption/encryption-key,b=file:/etc/drey/encryption-previous/b/b,a.1=file:/etc/drey/encryption-previous/a.1/a');
    expect(keySources(objects).map((s) => [s.id, s.secret, s.key])).toEqual([
      ['c', 'drey-encryption', 'encryption-key'],
      ['b', 'old-keys', 'b'],
      ['a.1', 'old-keys', 'a'],
    ]);
    for (const o of objects) expect(() => validate(o)).not.toThrow();
  });

  const old = (id: string, name = 'drey-encryption-old') => ({ id, existingSecret: { name, key: 'encryption-key' } });
  test.each([
    ['a previous key with the current id', [old('primary')], "encryption.previousKeys: the id 'primary' is used twice"],
    ['two previous keys with one id', [old('a'), old('a', 'other')], "encryption.previousKeys: the id 'a' is used twice"],
    ['a previous key without a Secret name', [{ id: 'a', existingSecret: { key: 'encryption-key' } }], 'encryption.previousKeys.0.existingSecret: name is required'],
    ['a previous key without a Secret', [{ id: 'a' }], 'encryption.previousKeys.0: existingSecret is required'],
    ['a previous key without an id', [{ existingSecret: { name: 'x', key: 'k' } }], 'encryption.previousKeys.0: id is required'],
    ['an unknown field', [{ ...old('a'), key: 'x' }], 'encryption.previousKeys.0: Additional property key is not allowed'],
    ['an id drey refuses', [old('a b')], 'encryption.previousKeys.0.id: Does not match pattern'],
    ['an id that names a parent directory', [old('..')], 'encryption.previousKeys.0.id: Must not validate the schema (not)'],
  ])('%s is refused', async (_what, previous, message) => {
    const r = await template(['--set-json', `encryption.previousKeys=${JSON.stringify(previous)}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  test('a current key id drey refuses is refused', async () => {
    const r = await template(['--set', 'encryption.keyId=a:b']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("encryption.keyId: Does not match pattern '^[A-Za-z0-9._-]{1,64}$'");
  });
});
