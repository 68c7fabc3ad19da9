import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/log.js';
import { loadFlinkDeploymentCrd } from '../../src/sim/crd.js';

type Crd = { spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: { flinkVersion: { enum: string[] } } } } } } }[] } };

describe('the FlinkDeployment CRD from Maven Central', () => {
  it('accepts the Flink 2 versions newer operators list, besides its own, and says it added them', async () => {
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'drey-crd-'));
    const loaded = await loadFlinkDeploymentCrd({ cacheDir, log: createLogger('warn') });
    if (!loaded) throw new Error('the CRD could not be fetched from Maven Central');
    const versions = (loaded.crd as Crd).spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.flinkVersion.enum;
    expect(versions).toEqual(expect.arrayContaining(['v1_18', 'v1_19', 'v1_20', 'v2_0', 'v2_1', 'v2_2']));
    expect(loaded.source).toContain('with flinkVersion v2_0, v2_1, v2_2');
    // from the cache the second time, with the same additions
    const again = await loadFlinkDeploymentCrd({ cacheDir, log: createLogger('warn'), fetchTimeoutMs: 1 });
    expect((again!.crd as Crd).spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.flinkVersion.enum).toContain('v2_2');
  }, 60_000);
});
