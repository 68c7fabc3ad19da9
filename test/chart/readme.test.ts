import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { CHART } from './helm.js';

/** Every documented key of values.yaml (`# --` comment above it), as a dotted path. */
function documentedKeys(valuesYaml: string): string[] {
  const stack: string[] = [];
  const keys: string[] = [];
  let documented = false;
  for (const line of valuesYaml.split('\n')) {
    if (/^\s*# -- /.test(line)) {
      documented = true;
      continue;
    }
    const m = /^(\s*)([A-Za-z0-9_]+):/.exec(line);
    if (m === null) continue;
    stack.splice(m[1]!.length / 2, Infinity, m[2]!);
    if (documented) keys.push(stack.join('.'));
    documented = false;
  }
  return keys;
}

test('every value is commented in values.yaml and listed in the README', async () => {
  const values = await readFile(path.join(CHART, 'values.yaml'), 'utf8');
  const readme = await readFile(path.join(CHART, 'README.md'), 'utf8');
  const schema = JSON.parse(await readFile(path.join(CHART, 'values.schema.json'), 'utf8'));
  const keys = documentedKeys(values);
  expect(keys.length).toBeGreaterThan(90);
  expect(keys.filter((k) => !readme.includes(`| \`${k}\` |`))).toEqual([]);
  // every schema leaf is a documented key (free-form objects such as labels, and resources, are leaves)
  const leaves = (node: any, prefix: string): string[] =>
    node.type === 'object' && node.properties && !prefix.endsWith('resources') ? Object.entries(node.properties).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k)) : [prefix];
  expect(leaves(schema, '').filter((k) => !keys.includes(k))).toEqual([]);
});
