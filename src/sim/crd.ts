import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import AdmZip from 'adm-zip';
import yaml from 'js-yaml';
import type { Logger } from '../log.js';

/**
 * The newest Flink Kubernetes Operator API artifact on Maven Central (later releases are not
 * published there); its jar carries the FlinkDeployment CRD the operator's build generates.
 */
export const OPERATOR_API_JAR = {
  url: 'https://repo1.maven.org/maven2/org/apache/flink/flink-kubernetes-operator-api/1.10.0/flink-kubernetes-operator-api-1.10.0.jar',
  entry: 'META-INF/fabric8/flinkdeployments.flink.apache.org-v1.yml',
  version: '1.10.0',
};

/** Options for finding the FlinkDeployment CRD. */
export interface CrdOptions {
  /** A CRD file to use instead (for example the one in the operator's Helm chart of a newer release). */
  file?: string;
  /** Where the fetched CRD is kept, so only the first start downloads it. */
  cacheDir: string;
  log: Logger;
  fetchTimeoutMs?: number;
}

/** The CRD the simulated cluster serves, and where it came from. */
export interface LoadedCrd {
  crd: unknown;
  source: string;
}

function parse(text: string, source: string): LoadedCrd {
  const crd = yaml.load(text) as { kind?: string; spec?: { names?: { kind?: string } } };
  if (crd?.kind !== 'CustomResourceDefinition' || crd.spec?.names?.kind !== 'FlinkDeployment') {
    throw new Error(`${source} is not the FlinkDeployment CustomResourceDefinition`);
  }
  return { crd, source };
}

/** The Flink 2 versions operator 1.13 and later accept in `spec.flinkVersion`. */
const FLINK_TWO_VERSIONS = ['v2_0', 'v2_1', 'v2_2'];

/**
 * The operator CRD on Maven Central (1.10.0) predates Flink 2, so its `flinkVersion` enum stops at
 * v1_20. drey's local Flink is 2.x, so the values newer operator CRDs list are added to it; nothing
 * else of the schema changes.
 */
export function withFlinkTwoVersions(loaded: LoadedCrd): LoadedCrd {
  type Versions = { spec?: { versions?: { schema?: { openAPIV3Schema?: { properties?: { spec?: { properties?: { flinkVersion?: { enum?: string[] } } } } } } }[] } };
  let added = false;
  for (const version of (loaded.crd as Versions).spec?.versions ?? []) {
    const flinkVersion = version.schema?.openAPIV3Schema?.properties?.spec?.properties?.flinkVersion;
    if (!flinkVersion?.enum) continue;
    for (const v of FLINK_TWO_VERSIONS) {
      if (!flinkVersion.enum.includes(v)) {
        flinkVersion.enum.push(v);
        added = true;
      }
    }
  }
  return added ? { crd: loaded.crd, source: `${loaded.source} (with flinkVersion ${FLINK_TWO_VERSIONS.join(', ')} of newer operators)` } : loaded;
}

/**
 * The FlinkDeployment CRD: from `file` when given, else from the cache, else fetched once from
 * Maven Central. Undefined when none can be had (offline on a first start): the caller says so.
 */
export async function loadFlinkDeploymentCrd({ file, cacheDir, log, fetchTimeoutMs = 30_000 }: CrdOptions): Promise<LoadedCrd | undefined> {
  if (file) return parse(await readFile(file, 'utf8'), file);
  const cached = path.join(cacheDir, `flinkdeployments.flink.apache.org-v1-${OPERATOR_API_JAR.version}.yml`);
  try {
    return withFlinkTwoVersions(parse(await readFile(cached, 'utf8'), cached));
  } catch {
    // not cached yet
  }
  try {
    log.info('fetching the FlinkDeployment CRD from Maven Central (once)', { url: OPERATOR_API_JAR.url });
    const response = await fetch(OPERATOR_API_JAR.url, { signal: AbortSignal.timeout(fetchTimeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const jar = new AdmZip(Buffer.from(await response.arrayBuffer()));
    const text = jar.readAsText(OPERATOR_API_JAR.entry);
    if (!text) throw new Error(`${OPERATOR_API_JAR.entry} missing from the jar`);
    const loaded = parse(text, OPERATOR_API_JAR.url);
    await mkdir(cacheDir, { recursive: true });
    await writeFile(`${cached}.tmp`, text);
    await rename(`${cached}.tmp`, cached);
    return withFlinkTwoVersions({ crd: loaded.crd, source: cached });
  } catch (err) {
    log.warn('the FlinkDeployment CRD could not be fetched; the simulated cluster will accept FlinkDeployments without checking them against it', {
      error: (err as Error).message,
    });
    return undefined;
  }
}

/**
 * A FlinkDeployment CRD that serves the kind without a schema (every field kept), used only
 * when the real CRD cannot be had; drey logs that it is in use.
 */
export function permissiveFlinkDeploymentCrd(): unknown {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'flinkdeployments.flink.apache.org' },
    spec: {
      group: 'flink.apache.org',
      names: { kind: 'FlinkDeployment', listKind: 'FlinkDeploymentList', plural: 'flinkdeployments', singular: 'flinkdeployment', shortNames: ['flinkdep'] },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1beta1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}
